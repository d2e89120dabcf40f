"""The interactive wizard's loop with OpenCV's window calls replaced by a script of key presses:
auto-capture while the user holds the board, 'c' calibrates and saves, 'u' toggles the
undistorted preview, 'q' quits."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from perspose_rt.calib import ui
from perspose_rt.calib.patterns import PatternSpec
from perspose_rt.calib.sources import FrameListSource
from perspose_rt.calib.synthetic import SyntheticCamera, demo_poses
from perspose_rt.calib.wizard import CalibrationSession

K_TRUE = np.array([[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]])
SPEC = PatternSpec.default("acircles")


class FakeWindow:
    """Stands in for cv2.imshow / waitKey: records frames, answers keys from a script."""

    def __init__(self, keys: dict[int, str]):
        self.keys = keys
        self.shown: list[np.ndarray] = []

    def imshow(self, name, img):
        self.shown.append(img.copy())

    def wait_key(self, delay):
        return ord(self.keys.get(len(self.shown) - 1, "\xff"))


@pytest.fixture(scope="module")
def frames():
    cam = SyntheticCamera(K_TRUE, np.array([-0.1, 0.02, 0, 0, 0]), (640, 480))
    board = SPEC.render(4.0, SPEC.square_mm / 2)
    out = []
    for rvec, tvec in demo_poses(SPEC, 7, K_TRUE, (640, 480), seed=5):
        img = cv2.cvtColor(cam.render(board, rvec, tvec), cv2.COLOR_GRAY2BGR)
        out += [img] * 5
    return out


def _patch(monkeypatch, window):
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr(ui.cv2, "namedWindow", lambda *a: None)
    monkeypatch.setattr(ui.cv2, "resizeWindow", lambda *a: None)
    monkeypatch.setattr(ui.cv2, "destroyWindow", lambda *a: None)
    monkeypatch.setattr(ui.cv2, "imshow", window.imshow)
    monkeypatch.setattr(ui.cv2, "waitKey", window.wait_key)


def test_keys_drive_capture_calibrate_undistort_and_quit(monkeypatch, frames, tmp_path):
    n = len(frames)
    # 'c' too early (1 view) is refused, 'c' at the end calibrates, then 'u' twice, then quit.
    window = FakeWindow({4: "c", n - 4: "c", n - 3: "u", n - 2: "u", n - 1: "q"})
    _patch(monkeypatch, window)
    saved, lines = [], []

    def save(result):
        saved.append(result)
        return tmp_path / "cam.yaml"

    session = CalibrationSession(SPEC)
    result = ui.run_interactive(session, FrameListSource(frames), save, lines.append)
    assert result is not None and saved == [result]
    assert len(window.shown) == n
    assert any(line.startswith("cannot calibrate yet: only 1 view") for line in lines)
    assert sum(line.startswith("captured") for line in lines) == len(session.views) >= 5
    assert f"saved {tmp_path / 'cam.yaml'}" in lines
    assert result.K[0, 0] == pytest.approx(600.0, rel=0.005)
    # After 'c' the preview is undistorted (differs from the raw frame), 'u' goes back to the overlay.
    assert not np.array_equal(window.shown[n - 3][100:300], window.shown[n - 2][100:300])


def test_space_captures_in_manual_mode_and_quit_without_calibrating(monkeypatch, frames):
    from perspose_rt.calib.wizard import WizardConfig

    window = FakeWindow({0: " ", 1: " ", 7: "q"})
    _patch(monkeypatch, window)
    session = CalibrationSession(SPEC, WizardConfig(auto_capture=False))
    assert ui.run_interactive(session, FrameListSource(frames), lambda r: None, lambda s: None) is None
    assert len(session.views) == 1 and len(window.shown) == 8  # the second space found no new view


def test_hud_draws_without_error_before_and_after_calibration(frames):
    session = CalibrationSession(SPEC)
    status = session.process(frames[0])
    img = frames[0].copy()
    ui.draw_hud(img, session, status, "hello")
    assert not np.array_equal(img, frames[0])


def test_the_wizard_calibrates_by_itself_once_the_views_are_complete(monkeypatch, frames, tmp_path):
    from perspose_rt.calib.wizard import WizardConfig

    window = FakeWindow({})
    _patch(monkeypatch, window)
    saved, lines = [], []
    session = CalibrationSession(SPEC, WizardConfig(target_views=5, coverage_target=0.2))

    def save(result):
        saved.append(len(session.views))
        return tmp_path / "cam.yaml"

    result = ui.run_interactive(session, FrameListSource(frames), save, lines.append)
    assert result is not None and len(saved) == 1  # once, when complete; not again without 'c'
    assert saved[0] >= 5 and result.K[0, 0] == pytest.approx(600.0, rel=0.01)
    assert f"saved {tmp_path / 'cam.yaml'}" in lines


_LIVE_SCRIPT = r"""
import sys
import cv2
import numpy as np
from perspose_rt.calib import sources
from perspose_rt.calib.patterns import PatternSpec
from perspose_rt.calib.synthetic import SyntheticCamera, demo_poses
from perspose_rt.cli import main

K = np.array([[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]])
cam = SyntheticCamera(K, np.array([-0.15, 0.03, 0, 0, 0]), (640, 480))
spec = PatternSpec.default("acircles")
board = spec.render(4.0, 10)
frames = []
for r, t in demo_poses(spec, 7, K, (640, 480), seed=5):
    img = cv2.cvtColor(cam.render(board, r, t), cv2.COLOR_GRAY2BGR)
    frames += [img] * 5


class Cap:
    def __init__(self, index):
        self.i = 0
    def isOpened(self):
        return True
    def set(self, *a):
        return True
    def read(self):
        self.i += 1
        return (True, frames[self.i - 1]) if self.i <= len(frames) else (False, None)
    def release(self):
        pass


sources.cv2.VideoCapture = Cap
sys.exit(main(["calibrate", "--camera", "0", "--pattern", "acircles", "--target-views", "5",
               "--name", "xvfb", "--calib-dir", sys.argv[1]]))
"""


def test_real_opencv_window_under_xvfb(tmp_path):
    """The wizard with OpenCV's real (Qt) window on a virtual X display, camera stood in for."""
    import os
    import shutil
    import subprocess
    import sys
    import time

    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb): the real-window smoke test needs an X display")
    display = f":{90 + os.getpid() % 100}"
    server = subprocess.Popen([xvfb, display, "-screen", "0", "800x600x24"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        if server.poll() is not None:
            pytest.skip(f"Xvfb could not start on display {display}")
        script = tmp_path / "live.py"
        script.write_text(_LIVE_SCRIPT)
        env = dict(os.environ, DISPLAY=display, OMP_NUM_THREADS="1")
        run = subprocess.run([sys.executable, str(script), str(tmp_path / "calib")], check=False, env=env,
                             capture_output=True, text=True, timeout=120)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "saved" in run.stdout and "the calibration saved before stands" in run.stdout
    assert (tmp_path / "calib" / "xvfb.yaml").is_file()
