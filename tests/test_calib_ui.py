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
