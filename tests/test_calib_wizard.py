"""The wizard's logic driven headless by frames: sharpness, steadiness, coverage-driven automatic
capture, manual capture, tilt bins, and the errors a user can meet."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from perspose_rt.calib.coverage import CoverageMap, measure_tilt, select_views
from perspose_rt.calib.detect import PatternDetector
from perspose_rt.calib.patterns import PatternSpec
from perspose_rt.calib.quality import SteadinessMeter, edge_width
from perspose_rt.calib.sources import FrameListSource
from perspose_rt.calib.synthetic import SyntheticCamera, board_pose, demo_poses
from perspose_rt.calib.wizard import CalibrationSession, WizardConfig, run_headless
from perspose_rt.errors import CalibrationError, InputError

K_TRUE = np.array([[600.0, 0.0, 318.0], [0.0, 600.0, 242.0], [0.0, 0.0, 1.0]])
DIST_TRUE = np.array([-0.15, 0.05, 0.0, 0.0, 0.0])
SPEC = PatternSpec.default("chessboard")


@pytest.fixture(scope="module")
def camera() -> SyntheticCamera:
    return SyntheticCamera(K_TRUE, DIST_TRUE, (640, 480))


@pytest.fixture(scope="module")
def held_poses(camera):
    """A user's session: 12 poses, each reached by moving (shifting frames) then held still."""
    board = SPEC.render(4.0, SPEC.square_mm / 2)
    rng = np.random.default_rng(7)
    frames, still = [], set()
    for rvec, tvec in demo_poses(SPEC, 12, K_TRUE, (640, 480), seed=11):
        img = camera.render(board, rvec, tvec)
        for shift in (-12, -8, -4):  # arriving: 4 px per frame
            frames.append(np.roll(img, shift, axis=1))
        for _ in range(5):  # held: sensor noise only
            noisy = img.astype(np.float32) + rng.normal(0, 1.5, img.shape)
            still.add(len(frames))
            frames.append(np.clip(noisy, 0, 255).astype(np.uint8))
    return frames, still


def test_headless_session_captures_still_sharp_new_views_and_calibrates(held_poses):
    frames, still = held_poses
    session = CalibrationSession(SPEC)
    statuses = []
    result = run_headless(session, FrameListSource(frames), on_status=statuses.append)
    captured = [i for i, s in enumerate(statuses) if s.captured]
    assert captured and set(captured) <= still  # never while moving
    assert any(s.reason == "hold still" for s in statuses)
    assert 9 <= len(captured) <= 12  # about one per held pose, no duplicates
    assert len(session.views) == len(captured)
    assert result.K[0, 0] == pytest.approx(600.0, rel=0.005)
    assert np.hypot(*(result.K[:2, 2] - K_TRUE[:2, 2])) < 1.0
    assert session.coverage.fraction > 0.5 and not session.coverage.missing_tilts


def test_blurry_views_are_not_captured_but_space_still_can(camera):
    board = SPEC.render(4.0, SPEC.square_mm / 2)
    rvec, tvec = board_pose(SPEC, 20, 10, 5, 450)
    blurred = camera.render(board, rvec, tvec, blur_sigma=2.5)
    session = CalibrationSession(SPEC)
    for _ in range(6):
        status = session.process(blurred)
    assert status.view is not None and not status.captured
    assert status.reason.startswith("blurry") and status.edge_px > 5.0
    assert session.capture() and len(session.views) == 1
    assert not session.capture()  # the same view twice is not a new view


def test_manual_mode_waits_for_the_space_bar(camera):
    board = SPEC.render(4.0, SPEC.square_mm / 2)
    img = camera.render(board, *board_pose(SPEC, 0, 25, 0, 450))
    session = CalibrationSession(SPEC, WizardConfig(auto_capture=False))
    for _ in range(5):
        status = session.process(img)
    assert status.reason == "good view: press space" and not session.views
    assert session.capture() and session.last.captured
    assert not session.ready and "tilt the board" in session.hint()


def test_frames_of_another_size_stop_the_session(camera):
    session = CalibrationSession(SPEC)
    session.process(np.zeros((480, 640, 3), np.uint8), "frame 0")
    with pytest.raises(InputError, match="640x480.*calibrate one camera resolution at a time"):
        session.process(np.zeros((720, 1280, 3), np.uint8), "frame 1")


def test_no_pattern_anywhere_is_a_clear_error():
    session = CalibrationSession(SPEC)
    frames = [np.full((240, 320, 3), 128, np.uint8)] * 5
    with pytest.raises(CalibrationError, match="not found in any of the 5 frames.*inner corners"):
        run_headless(session, FrameListSource(frames))


def test_seen_but_never_steady_says_so(held_poses):
    frames, still = held_poses
    moving = [f for i, f in enumerate(frames) if i not in still][:9]
    session = CalibrationSession(SPEC)
    with pytest.raises(CalibrationError, match="sharp and still enough"):
        run_headless(session, FrameListSource(moving))


@pytest.mark.parametrize("yaw, pitch", [(30, 0), (-30, 0), (0, 30), (0, -30), (25, -25), (3, -4)])
def test_tilt_bins_name_the_edge_that_is_nearer(camera, yaw, pitch):
    rvec, tvec = board_pose(SPEC, yaw, pitch, 15, 500)
    obj = SPEC.object_points().astype(np.float64)
    pts = obj @ cv2.Rodrigues(rvec)[0].T + tvec
    from perspose_rt.calib.detect import PatternView

    uv = camera.project(obj, rvec, tvec).astype(np.float32)
    view = PatternView(uv, obj.astype(np.float32), np.arange(len(obj), dtype=np.int32), (640, 480))
    tilt = measure_tilt(view, K_TRUE, DIST_TRUE)
    # Which image side each board point is on, and how deep: compare mean depths of the halves.
    left = pts[uv[:, 0] < np.median(uv[:, 0]), 2].mean() < pts[uv[:, 0] >= np.median(uv[:, 0]), 2].mean()
    top = pts[uv[:, 1] < np.median(uv[:, 1]), 2].mean() < pts[uv[:, 1] >= np.median(uv[:, 1]), 2].mean()
    expected = set()
    if abs(tilt.yaw_deg) > 20:
        expected.add("left" if left else "right")
    if abs(tilt.pitch_deg) > 20:
        expected.add("top" if top else "bottom")
    assert set(tilt.bins) == expected
    if max(abs(yaw), abs(pitch)) >= 25:
        assert tilt.bins, "a 25–30° tilt must count"
    else:
        assert not tilt.bins


def test_coverage_gain_falls_as_views_repeat_and_selection_prefers_diversity(camera):
    det = PatternDetector(SPEC)
    board = SPEC.render(4.0, SPEC.square_mm / 2)
    views = []
    for i, (rvec, tvec) in enumerate(demo_poses(SPEC, 6, K_TRUE, (640, 480), seed=2)):
        views.append(det.detect(camera.render(board, rvec, tvec), f"v{i}"))
    cov = CoverageMap((640, 480))
    g0 = cov.gain(views[0])
    cov.add(views[0])
    g1 = cov.gain(views[0])
    cov.add(views[0])
    assert g0 == g1 > 0 and cov.gain(views[0]) == 0  # every cell is wanted twice, then never
    # 6 distinct + 6 copies of view 0: picking 6 keeps the distinct ones.
    assert select_views(views + [views[0]] * 6, 6, (640, 480)) == [0, 1, 2, 3, 4, 5]
    drawn = cov.draw(np.zeros((480, 640, 3), np.uint8))
    assert drawn.shape == (480, 640, 3) and drawn.any()


def test_edge_width_grows_with_blur_and_catches_motion_blur(camera):
    board = SPEC.render(4.0, SPEC.square_mm / 2)
    rvec, tvec = board_pose(SPEC, 10, 10, 0, 450)
    widths = [edge_width(camera.render(board, rvec, tvec, blur_sigma=s)) for s in (0.0, 1.0, 2.0, 3.0)]
    assert widths[0] < 2.6 and bool(np.all(np.diff(widths) > 0))
    sharp = camera.render(board, rvec, tvec)
    streak = cv2.filter2D(sharp, -1, np.full((1, 9), 1 / 9, np.float32))  # horizontal motion
    assert edge_width(streak) > 5.0
    assert edge_width(np.full((50, 50), 90, np.uint8)) == float("inf")


def test_steadiness_needs_a_window_of_still_frames():
    from perspose_rt.calib.detect import PatternView

    obj = SPEC.object_points()
    ids = np.arange(len(obj), dtype=np.int32)

    def view(dx):
        uv = obj[:, :2] + np.array([dx, 0.0], np.float32)
        return PatternView(uv.astype(np.float32), obj, ids, (640, 480))

    meter = SteadinessMeter(window=3)
    assert meter.update(view(0)) == float("inf")
    assert meter.update(view(0.2)) == float("inf")
    assert meter.update(view(0.3)) == pytest.approx(0.2, abs=1e-4)
    assert meter.update(view(5.3)) == pytest.approx(5.0, abs=1e-4)
    reversed_view = PatternView(view(5.3).image_points[::-1].copy(), obj, ids, (640, 480))
    assert meter.update(reversed_view) == pytest.approx(5.0, abs=1e-4)  # same board numbered backwards: 0 motion
    assert meter.update(None) == float("inf")
