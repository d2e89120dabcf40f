"""Real images: 25 photos of an asymmetric circles grid (4×11, 20 mm) with the result of OpenCV's
own calibration sample beside them (``out_camera_data_right.xml``). With the sample's flags
(fixed aspect ratio, fixed principal point, zero tangential distortion, k4 = k5 = 0) we must
reproduce it: fx within 1 %, RMS of the same order. Skipped when the data folder is absent."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from perspose_rt.calib.detect import PatternView
from perspose_rt.calib.offline import calibrate_views, collect_views
from perspose_rt.calib.patterns import PatternSpec
from perspose_rt.calib.solve import SolveOptions, calibrate
from perspose_rt.calib.sources import ImageFolderSource
from perspose_rt.camera import load_profile
from perspose_rt.cli import main

SPEC = PatternSpec("acircles", 11, 4, 20.0)
SAMPLE_FLAGS = ("fix_aspect_ratio", "fix_principal_point", "zero_tangent_dist", "fix_k4", "fix_k5")
XML = "out_camera_data_right.xml"


@pytest.fixture(scope="module")
def reference(calibration_dir: Path) -> dict:
    fs = cv2.FileStorage(str(calibration_dir / XML), cv2.FILE_STORAGE_READ)
    try:
        ref = {
            "K": fs.getNode("camera_matrix_right").mat(),
            "dist": fs.getNode("distortion_coefficients_right").mat().ravel(),
            "rms": fs.getNode("avg_reprojection_error_right").real(),
            "flags": int(fs.getNode("flags").real()),
            "image_points": fs.getNode("image_points_right").mat(),
            "n": int(fs.getNode("nr_of_frames").real()),
        }
    finally:
        fs.release()
    return ref


@pytest.fixture(scope="module")
def found(calibration_dir: Path):
    with ImageFolderSource(calibration_dir) as source:
        return collect_views(SPEC, source)


def test_our_flags_are_the_samples_flags(reference):
    assert SolveOptions(flags=SAMPLE_FLAGS).cv_flags == reference["flags"] == 6158


def test_circles_are_found_where_opencv_found_them(found, reference):
    assert found.n_images == reference["n"] == len(found.views) and not found.missing
    for view, ref_pts in zip(found.views, reference["image_points"]):
        assert np.abs(view.image_points - ref_pts.reshape(-1, 2)).max() < 0.5, view.label


def test_calibration_reproduces_opencv_sample(found, reference):
    res = calibrate_views(found, SolveOptions(flags=SAMPLE_FLAGS))
    fx_ref = reference["K"][0, 0]
    assert res.K[0, 0] == pytest.approx(fx_ref, rel=0.01)
    assert res.K[1, 1] == res.K[0, 0]
    assert 0.5 < res.rms_px / reference["rms"] < 2.0
    assert res.n_views == 25 and not res.rejected
    np.testing.assert_allclose(res.dist[:2], reference["dist"][:2], atol=0.02)
    assert res.dist[2] == res.dist[3] == 0.0


def test_the_samples_own_points_give_the_samples_answer(reference):
    """Same points, same flags: only the principal-point convention differs (OpenCV ≥ 4.x fixes it
    at ((w−1)/2, (h−1)/2) = (319.5, 255.5); the 2020 file has (320, 256))."""
    obj = SPEC.object_points()
    ids = np.arange(len(obj), dtype=np.int32)
    views = [PatternView(p.reshape(-1, 2), obj, ids, (640, 512), f"v{i}")
             for i, p in enumerate(reference["image_points"])]
    res = calibrate(views, SolveOptions(flags=SAMPLE_FLAGS, outlier_factor=float("inf")))
    assert res.K[0, 0] == pytest.approx(reference["K"][0, 0], rel=0.003)
    assert res.rms_px == pytest.approx(reference["rms"], rel=0.1)


def test_cli_writes_a_profile_the_camera_module_reads(calibration_dir, reference, tmp_path, capsys):
    rc = main([
        "calibrate", "--images", str(calibration_dir), "--pattern", "acircles", "--rows", "11", "--cols", "4",
        "--square-mm", "20", "--opencv-sample-flags", "--name", "stereo-right", "--calib-dir", str(tmp_path),
    ])
    assert rc == 0
    out = capsys.readouterr().out
    assert "pattern found in 25 of 25 images" in out and "saved" in out
    cam = load_profile(tmp_path / "stereo-right.yaml")
    assert cam.fx == pytest.approx(reference["K"][0, 0], rel=0.01)
    assert cam.resolution == (640, 512) and not cam.approximate and cam.name == "stereo-right"
    meta = cam.metadata
    assert meta["n_views"] == 25 and len(meta["per_view_rms_px"]) == 25
    assert meta["pattern"] == {"type": "acircles", "rows": 11, "cols": 4, "square_mm": 20.0}
    assert meta["flags"] == list(SAMPLE_FLAGS)
    assert 0.05 < meta["rms_px"] < 0.25 and "date" in meta and meta["camera"] == str(calibration_dir)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stereo-right.yaml"]


def test_a_subset_chosen_for_coverage_still_agrees(found, reference):
    res = calibrate_views(found, SolveOptions(flags=SAMPLE_FLAGS), max_views=10)
    assert res.n_views == 10
    assert res.K[0, 0] == pytest.approx(reference["K"][0, 0], rel=0.01)
