"""``perspose-rt calibrate`` end to end: photos, video, quick profiles, printable patterns, and every
bad input ending in one clear line, a non-zero exit and nothing (half-)written in calib/."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from perspose_rt.calib.patterns import PatternSpec
from perspose_rt.calib.synthetic import SyntheticCamera, demo_poses
from perspose_rt.camera import load_profile
from perspose_rt.cli import main

K_TRUE = np.array([[640.0, 0.0, 321.0], [0.0, 640.0, 238.5], [0.0, 0.0, 1.0]])
DIST_TRUE = np.array([-0.12, 0.03, 0.0, 0.0, 0.0])
SPEC = PatternSpec.default("chessboard")


@pytest.fixture(scope="module")
def renders() -> list[np.ndarray]:
    cam = SyntheticCamera(K_TRUE, DIST_TRUE, (640, 480))
    board = SPEC.render(4.0, SPEC.square_mm / 2)
    rng = np.random.default_rng(0)
    return [cam.render(board, r, t, noise_sigma=1.5, blur_sigma=0.5, rng=rng)
            for r, t in demo_poses(SPEC, 9, K_TRUE, (640, 480), seed=21)]


def _folder(root: Path, images, name="shots") -> Path:
    folder = root / name
    folder.mkdir()
    for i, img in enumerate(images):
        cv2.imwrite(str(folder / f"img{i:02d}.png"), img)
    return folder


def _calib(tmp_path: Path, *argv: str) -> tuple[int, Path]:
    calib = tmp_path / "calib"
    return main(["calibrate", "--calib-dir", str(calib), *argv]), calib


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_images_to_profile(tmp_path, renders, capsys):
    shots = _folder(tmp_path, renders)
    rc, calib = _calib(tmp_path, "--images", str(shots))
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "pattern found in 9 of 9 images" in out and "RMS reprojection error" in out
    assert _files(calib) == ["shots.yaml"]  # the name defaults to the folder's
    cam = load_profile(calib / "shots.yaml")
    assert cam.fx == pytest.approx(640.0, rel=0.005) and cam.resolution == (640, 480)
    assert cam.metadata["pattern"]["type"] == "chessboard" and cam.metadata["n_views"] == 9
    assert not cam.approximate


def test_existing_profile_needs_force(tmp_path, renders, capsys):
    shots = _folder(tmp_path, renders[:6])
    assert _calib(tmp_path, "--images", str(shots), "--name", "cam")[0] == 0
    before = (tmp_path / "calib" / "cam.yaml").read_bytes()
    rc, calib = _calib(tmp_path, "--images", str(shots), "--name", "cam")
    assert rc == 2 and "already exists: pass --force" in capsys.readouterr().err
    assert (calib / "cam.yaml").read_bytes() == before
    assert _calib(tmp_path, "--images", str(shots), "--name", "cam", "--force")[0] == 0


@pytest.mark.parametrize(
    "make, argv, needle",
    [
        (lambda r: r[:3], [], r"found in only 3 of 3 images \(at least 5 needed\)"),
        (lambda r: r[:4], ["--pattern", "acircles"], "asymmetric circles grid.*not found in any of the 4 images"),
        (lambda r: r[:4] + [cv2.resize(r[4], (320, 240))], [], "different sizes: img04.png is 320x240"),
        (lambda r: [], [], "no images in"),
    ],
    ids=["too-few-views", "pattern-not-found", "mixed-sizes", "empty-folder"],
)
def test_bad_image_sets_fail_cleanly(tmp_path, renders, capsys, make, argv, needle):
    shots = _folder(tmp_path, make(renders))
    rc, calib = _calib(tmp_path, "--images", str(shots), *argv)
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("perspose-rt: error: ") and err.count("\n") == 1
    assert __import__("re").search(needle, err), err
    assert _files(calib) == []


@pytest.mark.parametrize("headless", [True, False])
def test_camera_that_cannot_be_opened(tmp_path, capsys, monkeypatch, headless):
    monkeypatch.setenv("DISPLAY", ":99")  # the window is never opened: the camera fails first
    rc, calib = _calib(tmp_path, "--camera", "57", *(["--headless"] if headless else []))
    err = capsys.readouterr().err
    assert rc == 2 and "perspose-rt: error: camera 57 cannot be opened" in err
    assert _files(calib) == []


def test_wizard_without_a_display_says_so_before_opening_the_camera(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    rc, calib = _calib(tmp_path, "--camera", "57")
    err = capsys.readouterr().err
    assert rc == 2 and "no display" in err and "--headless" in err
    assert _files(calib) == []


def test_charuco_marker_defaults_to_three_quarters_of_a_custom_square(tmp_path, capsys):
    rc, _ = _calib(tmp_path, "--pattern", "charuco", "--square-mm", "16", "--write-pattern", str(tmp_path / "b.png"))
    assert rc == 0 and "12 mm DICT_5X5_100 markers" in capsys.readouterr().out


def test_interrupted_write_leaves_nothing(tmp_path, renders, monkeypatch):
    from perspose_rt.io import atomic

    def boom(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "replace", boom)
    shots = _folder(tmp_path, renders[:6])
    rc, calib = _calib(tmp_path, "--images", str(shots))
    assert rc == 130
    assert _files(calib) == []  # neither the profile nor a temporary file


def test_video_is_calibrated_by_the_wizard_logic(tmp_path, renders, capsys):
    path = tmp_path / "board.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (640, 480))
    for img in renders[:7]:
        bgr = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        for shift in (-10, -5):  # moving in
            writer.write(np.roll(bgr, shift, axis=1))
        for _ in range(5):  # held still
            writer.write(bgr)
    writer.release()
    rc, calib = _calib(tmp_path, "--video", str(path), "--name", "vid")
    out = capsys.readouterr().out
    assert rc == 0, out
    assert out.count("captured frame") >= 5
    cam = load_profile(calib / "vid.yaml")
    assert cam.fx == pytest.approx(640.0, rel=0.01)


def test_quick_profiles_are_marked_approximate(tmp_path, capsys):
    rc, calib = _calib(tmp_path, "--fov", "70", "--resolution", "1280x720")
    assert rc == 0
    cam = load_profile(calib / "fov70h_1280x720.yaml")
    assert cam.approximate and "source: fov:70h" in (calib / "fov70h_1280x720.yaml").read_text()
    assert cam.fx == pytest.approx(640 / np.tan(np.radians(35)))
    assert "approximate" in capsys.readouterr().out
    rc, calib = _calib(tmp_path, "--f35", "26", "--resolution", "4032x3024", "--name", "phone")
    cam = load_profile(calib / "phone.yaml")
    assert rc == 0 and cam.approximate and cam.fx == pytest.approx(26 * 5040 / 43.2666, rel=1e-4)
    rc, _ = _calib(tmp_path, "--fov", "70")
    assert rc == 2 and "need --resolution" in capsys.readouterr().err


def test_write_pattern_alone_and_no_source(tmp_path, capsys):
    rc, calib = _calib(tmp_path, "--pattern", "charuco", "--write-pattern", str(tmp_path / "board.pdf"))
    assert rc == 0 and (tmp_path / "board.pdf").read_bytes().startswith(b"%PDF")
    assert "ChArUco board of 7×5 squares" in capsys.readouterr().out
    assert _files(calib) == []
    rc, _ = _calib(tmp_path)
    assert rc == 2 and "choose what to calibrate from" in capsys.readouterr().err
    rc, _ = _calib(tmp_path, "--fov", "60", "--resolution", "640x480", "--name", "../evil")
    assert rc == 2 and "cannot be a file name" in capsys.readouterr().err


class FakeCapture:
    """cv2.VideoCapture stand-in: plays a list of frames, reports the size it delivers."""

    def __init__(self, frames, opened=True):
        self.frames, self.opened, self.i = list(frames), opened, 0

    def isOpened(self):
        return self.opened

    def set(self, prop, value):
        return True

    def read(self):
        if self.i >= len(self.frames):
            return False, None
        self.i += 1
        return True, self.frames[self.i - 1]

    def release(self):
        pass


def _held(renders, n_poses=8):
    frames = []
    for img in renders[:n_poses]:
        bgr = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        frames += [np.roll(bgr, -6, axis=1), np.roll(bgr, -3, axis=1)] + [bgr] * 5
    return frames


def test_headless_camera_stops_when_complete_and_names_the_device(tmp_path, renders, monkeypatch, capsys):
    from perspose_rt.calib import sources

    frames = _held(renders, 9) * 2  # plenty: the wizard must stop by itself
    monkeypatch.setattr(sources.cv2, "VideoCapture", lambda index: FakeCapture(frames))
    monkeypatch.setattr(sources, "_v4l2_name", lambda index: "Test Cam HD")
    rc, calib = _calib(tmp_path, "--camera", "3", "--headless", "--target-views", "6", "--min-views", "5")
    out = capsys.readouterr().out
    assert rc == 0, out
    cam = load_profile(calib / "camera3.yaml")
    assert cam.metadata["camera"] == "camera 3 (Test Cam HD)"
    assert cam.fx == pytest.approx(640.0, rel=0.01)


@pytest.mark.parametrize(
    "capture, argv, needle",
    [
        (lambda f: FakeCapture([]), [], "camera 3 opened but delivers no frames"),
        (lambda f: FakeCapture(f), ["--resolution", "1280x720"], "delivers 640x480, not the requested 1280x720"),
        (lambda f: FakeCapture(f[:14]), [], "camera 3 stopped delivering frames"),
    ],
    ids=["no-frames", "wrong-size", "unplugged"],
)
def test_camera_failures(tmp_path, renders, monkeypatch, capsys, capture, argv, needle):
    from perspose_rt.calib import sources

    frames = _held(renders)
    monkeypatch.setattr(sources.cv2, "VideoCapture", lambda index: capture(frames))
    rc, calib = _calib(tmp_path, "--camera", "3", "--headless", *argv)
    assert rc == 2 and needle in capsys.readouterr().err
    assert _files(calib) == []
