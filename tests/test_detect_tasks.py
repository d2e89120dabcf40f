"""MediaPipe Tasks PoseLandmarker from the wheel's models: normalisation read from the legacy graph,
the cached bundle (built once, rebuilt when damaged), agreement with the legacy solution, two
people in one real image end to end, and --max-people bounds."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from perspose_rt.cli import main
from perspose_rt.detect import BlazePoseDetector
from perspose_rt.detect.tasks_bundle import DETECTOR, LANDMARKER, ensure_bundle, legacy_normalisation
from perspose_rt.io.results import load_result


def _no_network(*args, **kwargs):
    raise AssertionError("network access attempted")


@pytest.fixture()
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every road to the internet raises (urllib and raw sockets): the bundle is never downloaded."""
    import socket
    import urllib.request

    monkeypatch.setattr(urllib.request, "urlopen", _no_network)
    monkeypatch.setattr(socket.socket, "connect", _no_network)
    monkeypatch.setattr(socket, "create_connection", _no_network)


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One bundle cache for the module's tests (never the user's own cache)."""
    d = tmp_path_factory.getbasetemp() / "perspose-cache"
    monkeypatch.setenv("PERSPOSE_CACHE_DIR", str(d))
    return d


def _jpgs(photos_dir: Path) -> list[Path]:
    return sorted(photos_dir.glob("IMG-without-exif-*_f35.jpg"))


def test_normalisation_is_what_the_legacy_graph_feeds_each_model() -> None:
    """The legacy graph maps pixels to [-1, 1] for the detector and [0, 1] for the landmark model."""
    norm = legacy_normalisation()
    assert norm[DETECTOR] == (127.5, 127.5)
    assert norm[LANDMARKER] == (0.0, 255.0)


def test_bundle_is_cached_and_rebuilt_when_damaged(tmp_path: Path, monkeypatch, capsys, offline) -> None:
    import zipfile

    monkeypatch.setenv("PERSPOSE_CACHE_DIR", str(tmp_path / "cache"))
    path = ensure_bundle()
    assert path.parent == tmp_path / "cache" and path.suffix == ".task"
    assert sorted(zipfile.ZipFile(path).namelist()) == ["pose_detector.tflite", "pose_landmarks_detector.tflite"]
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []  # no temporary left
    stamp = path.stat().st_mtime_ns
    assert ensure_bundle() == path and path.stat().st_mtime_ns == stamp  # reused, not rebuilt
    assert capsys.readouterr().err == ""
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # an interrupted copy
    assert ensure_bundle() == path
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "damaged; rebuilding" in err[0]
    assert path.read_bytes() == good  # the build is deterministic


def test_landmarks_equal_the_legacy_solution_on_single_person_photos(photos_dir: Path, offline) -> None:
    from perspose_rt.detect.tasks_pose import TasksPoseDetector

    with TasksPoseDetector("image", max_people=4) as tasks, BlazePoseDetector(static_image_mode=True) as legacy:
        for path in _jpgs(photos_dir):
            img = cv2.imread(str(path))
            a, b = tasks.detect(img), legacy.detect(img)
            assert len(a) == 1 and len(b) == 1, path.name  # one person, even when 4 are allowed
            d = np.linalg.norm(a[0].keypoints - b[0].keypoints, axis=1)
            height = b[0].bbox_xyxy[3] - b[0].bbox_xyxy[1]
            print(f"{path.name}: median {np.median(d):.2f} px, max {d.max():.2f} px, person {height:.0f} px")
            assert np.median(d) < 2.0, path.name
            assert d.max() < 0.04 * height, path.name
            np.testing.assert_allclose(a[0].keypoint_conf, b[0].keypoint_conf, atol=0.1)


def test_video_mode_takes_any_timestamps(photos_dir: Path) -> None:
    from perspose_rt.detect.tasks_pose import TasksPoseDetector

    img = cv2.resize(cv2.imread(str(_jpgs(photos_dir)[0])), (640, 640))
    with TasksPoseDetector("video", max_people=2) as det:
        runs = [det.detect(img, t) for t in (0.0, 0.04, 0.04, 0.02, None)]  # repeats and steps back
    assert all(len(r) == 1 for r in runs)
    assert np.abs(runs[0][0].keypoints - runs[-1][0].keypoints).max() < 0.05 * 640


def two_person_image(photos_dir: Path, height: int = 640) -> np.ndarray:
    """Two of the real photos, each cropped around its person (3:4) and placed side by side."""
    crops = []
    with BlazePoseDetector(static_image_mode=True) as det:
        for path in _jpgs(photos_dir)[:2]:
            img = cv2.imread(str(path))
            x0, y0, x1, y1 = det.detect(img)[0].bbox_xyxy
            cx, cy, bh = (x0 + x1) / 2, (y0 + y1) / 2, (y1 - y0) * 1.25
            X0, X1 = int(max(0, cx - 0.375 * bh)), int(min(img.shape[1], cx + 0.375 * bh))
            Y0, Y1 = int(max(0, cy - bh / 2)), int(min(img.shape[0], cy + bh / 2))
            c = img[Y0:Y1, X0:X1]
            crops.append(cv2.resize(c, (round(c.shape[1] * height / c.shape[0]), height)))
    return np.concatenate(crops, 1)


def test_two_people_in_one_real_image(photos_dir: Path, tmp_path: Path, offline) -> None:
    """`images --max-people 2` finds both people of a real two-person image with sensible 3D."""
    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "two_people_30_f35.jpg"), two_person_image(photos_dir))
    out = tmp_path / "out"
    assert main(["images", str(folder), "--out", str(out), "--max-people", "2", "--no-3d"]) == 0
    r = load_result(out / "results.npz")
    assert r.version == 2 and r["valid"].shape == (1, 2) and r["valid"].all()
    np.testing.assert_array_equal(r["track_id"], [[0, 1]])
    X = r["joints_cam"][0].astype(np.float64)  # (2, 17, 3)
    root = X[:, 0]
    assert np.all((root[:, 2] > 1.0) & (root[:, 2] < 15.0))  # in front of the camera, metres away
    uv = r["joints_2d"][0, :, 0]
    left, right = np.argsort(uv[:, 0])
    assert root[left, 0] < root[right, 0]  # the person on the left of the image is on the left in 3D
    for k in (0, 1):  # human proportions: thighs and shins 0.3-0.6 m, hip width 0.15-0.45 m
        for a, b in ((1, 2), (2, 3), (4, 5), (5, 6)):
            assert 0.3 < np.linalg.norm(X[k, a] - X[k, b]) < 0.6
        assert 0.15 < np.linalg.norm(X[k, 1] - X[k, 4]) < 0.45
    assert (out / "two_people_30_f35_overlay.jpg").is_file()


@pytest.mark.parametrize("command", ["images", "video", "live"])
@pytest.mark.parametrize("n", ["0", "11", "-1", "two"])
def test_max_people_out_of_range(tmp_path: Path, capsys, command: str, n: str) -> None:
    """Refused while parsing the command line, before any input is opened."""
    args = {"images": [str(tmp_path), "--out", str(tmp_path / "o")],
            "video": [str(tmp_path / "v.mp4"), "--out", str(tmp_path / "o.npz")],
            "live": ["--no-view", "--camera", "sim:nothing"]}[command]
    with pytest.raises(SystemExit) as exc:
        main([command, *args, f"--max-people={n}"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.endswith(f"error: argument --max-people: must be an integer from 1 to 10, got {n}")


def _two_skaters(video_path: Path, path: Path, n: int = 24) -> list[np.ndarray]:
    """The benchmark's 640x480 frames with two skaters side by side, written to ``path`` (MJPG)."""
    from perspose_rt.bench.people import compose
    from perspose_rt.pipeline.live_sources import decode_frames

    frames = compose(decode_frames(video_path, 60), 2)[:n]
    wr = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (640, 480))
    for f in frames:
        wr.write(f)
    wr.release()
    return frames


def test_video_with_two_people_keeps_two_tracks(video_path: Path, tmp_path: Path, offline) -> None:
    """`video --max-people 2` on 640x480 frames with two skaters side by side (the benchmark's
    frames): Tasks VIDEO mode, two stable tracks, each on its own side, result version 2."""
    avi = tmp_path / "two.avi"
    frames = _two_skaters(video_path, avi)
    out = tmp_path / "two.npz"
    overlay = tmp_path / "two.mp4"
    assert main(["video", str(avi), "--out", str(out), "--overlay", str(overlay), "--max-people", "2",
                 "--no-progress"]) == 0
    r = load_result(out)
    assert r.version == 2 and r.meta["max_people"] == 2 and len(r) == len(frames)
    assert "Tasks PoseLandmarker" in r.meta["estimator_detail"]
    assert r.track_ids() == [0, 1]  # no identity lost or swapped
    for tid in (0, 1):
        t = r.track(tid)
        assert t["valid"].mean() > 0.9
        cx = (t["bbox"][t["valid"], 0] + t["bbox"][t["valid"], 2]) / 2
        assert np.all(cx < 320) or np.all(cx > 320)  # each track stays in its own tile
        assert np.all(t["joints_cam"][t["valid"], 0, 2] > 1.0)
        assert t["rotations_valid"][t["valid"]].all()
    assert r.meta["n_tracks"] == 2
    cap = cv2.VideoCapture(str(overlay))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == len(frames)


def test_live_with_two_people(video_path: Path, tmp_path: Path, offline) -> None:
    """`live --max-people 2` on a simulated camera (newest-frame capture): a version-2 recording
    with both people tracked."""
    avi = tmp_path / "two.avi"
    _two_skaters(video_path, avi, n=30)
    out = tmp_path / "live.npz"
    assert main(["live", "--camera", f"sim:{avi}", "--no-view", "--max-frames", "15", "--record", str(out),
                 "--max-people", "2"]) == 0
    r = load_result(out)
    assert r.version == 2 and len(r) == 15 and r["valid"].shape == (15, 2)
    assert r["valid"].all(1).mean() > 0.8 and set(r.track_ids()) >= {0, 1}
