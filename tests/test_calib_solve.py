"""The solver on exact point correspondences: known-answer recovery, flags, outlier-view
rejection, and the errors for unusable input."""

from __future__ import annotations

import numpy as np
import pytest

from perspose_rt.calib.detect import PatternView
from perspose_rt.calib.patterns import PatternSpec
from perspose_rt.calib.solve import SolveOptions, calibrate
from perspose_rt.calib.synthetic import SyntheticCamera, demo_poses
from perspose_rt.errors import CalibrationError

SIZE = (1280, 720)
K_TRUE = np.array([[1005.0, 0.0, 652.3], [0.0, 1001.0, 353.8], [0.0, 0.0, 1.0]])
DIST_TRUE = np.array([-0.28, 0.11, 0.0009, -0.0006, -0.02])


def _views(n=14, noise_px=0.15, seed=0, size=SIZE, spec=None) -> list[PatternView]:
    spec = spec or PatternSpec.default("chessboard")
    cam = SyntheticCamera(K_TRUE, DIST_TRUE, size)
    rng = np.random.default_rng(seed)
    obj = spec.object_points()
    views = []
    for i, (rvec, tvec) in enumerate(demo_poses(spec, n, K_TRUE, size, seed=seed)):
        uv = cam.project(obj, rvec, tvec) + rng.normal(0, noise_px, (len(obj), 2))
        views.append(PatternView(uv.astype(np.float32), obj, np.arange(len(obj), dtype=np.int32), size, f"v{i}"))
    return views


def test_known_camera_is_recovered_from_noisy_points():
    res = calibrate(_views())
    assert res.K[0, 0] == pytest.approx(K_TRUE[0, 0], rel=0.005)
    assert res.K[1, 1] == pytest.approx(K_TRUE[1, 1], rel=0.005)
    assert np.hypot(*(res.K[:2, 2] - K_TRUE[:2, 2])) < 1.0
    assert res.rms_px == pytest.approx(0.15 * np.sqrt(2), rel=0.2)  # the noise we put in
    assert res.dist[0] == pytest.approx(DIST_TRUE[0], abs=0.02)
    assert not res.rejected and res.n_views == 14
    assert np.all(res.std_intrinsics > 0) and res.std_intrinsics[0] < 2.0
    assert res.warnings() == []
    assert "fx = " in res.summary() and "per-view RMS" in res.summary()


def test_flags_constrain_the_model():
    flags = ("fix_aspect_ratio", "fix_principal_point", "zero_tangent_dist", "fix_k3")
    res = calibrate(_views(noise_px=0.05), SolveOptions(flags=flags))
    assert res.K[0, 0] == pytest.approx(res.K[1, 1])
    np.testing.assert_allclose(res.K[:2, 2], [(SIZE[0] - 1) / 2, (SIZE[1] - 1) / 2])
    assert res.dist[2] == res.dist[3] == res.dist[4] == 0.0
    assert res.std_intrinsics[0] > 0  # fx follows fy and gets fy's uncertainty
    assert res.flags == flags
    with pytest.raises(CalibrationError, match="unknown calibration flag"):
        SolveOptions(flags=("fix_everything",))


def test_a_corrupted_view_is_dropped_and_named():
    views = _views()
    bad = views[5]
    rng = np.random.default_rng(1)
    views[5] = PatternView(bad.image_points + rng.normal(0, 3.0, bad.image_points.shape).astype(np.float32),
                           bad.object_points, bad.ids, bad.image_size, "blurred-frame")
    res = calibrate(views)
    assert [v.label for v, _ in res.rejected] == ["blurred-frame"]
    assert res.rejected[0][1] > 2.0
    assert res.n_views == 13
    assert res.K[0, 0] == pytest.approx(K_TRUE[0, 0], rel=0.005)
    assert "dropped as outliers: blurred-frame" in res.summary()
    # Without rejection the bad view stays and inflates the error.
    kept = calibrate(views, SolveOptions(outlier_factor=float("inf")))
    assert kept.n_views == 14 and kept.rms_px > 2 * res.rms_px


def test_rejection_never_goes_below_min_views_or_the_cap():
    views = _views(n=6)
    rng = np.random.default_rng(2)
    for i in (0, 1, 2):  # half of the views are bad
        v = views[i]
        views[i] = PatternView(v.image_points + rng.normal(0, 4.0, v.image_points.shape).astype(np.float32),
                               v.object_points, v.ids, v.image_size, v.label)
    res = calibrate(views, SolveOptions(min_views=5))
    assert res.n_views >= 5
    res = calibrate(views, SolveOptions(min_views=2, max_rejected_fraction=0.3))
    assert len(res.rejected) <= 1


def test_too_few_views_is_a_clear_error():
    with pytest.raises(CalibrationError, match=r"only 3 view\(s\).*at least 5"):
        calibrate(_views(n=3))


def test_views_of_different_sizes_are_refused():
    views = _views(n=4) + _views(n=3, size=(640, 480))
    with pytest.raises(CalibrationError, match="different image sizes"):
        calibrate(views)


def test_degenerate_views_are_an_error_or_flagged_never_silently_trusted():
    """Five copies of one fronto-parallel view cannot determine the focal length."""
    spec = PatternSpec.default("chessboard")
    cam = SyntheticCamera(K_TRUE, np.zeros(5), SIZE)
    obj = spec.object_points()
    from perspose_rt.calib.synthetic import board_pose

    rvec, tvec = board_pose(spec, 0, 0, 0, 500)
    uv = cam.project(obj, rvec, tvec).astype(np.float32)
    views = [PatternView(uv, obj, np.arange(len(obj), dtype=np.int32), SIZE, f"same{i}") for i in range(5)]
    try:
        res = calibrate(views)
    except CalibrationError as exc:
        assert "views" in str(exc)
    else:
        assert res.warnings(), "a focal length from identical frontal views must come with a warning"
