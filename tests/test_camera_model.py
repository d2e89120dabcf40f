"""CameraModel: constructors, rescaling, distortion."""

import logging
import math

import numpy as np
import pytest

from perspose_rt.camera import FULL_FRAME_DIAGONAL_MM, CameraModel, Undistorter
from perspose_rt.errors import CalibrationError


def test_f35_is_defined_on_the_diagonal_for_both_orientations():
    # A 3:2 image has the full-frame shape: f35 = 36 mm ↔ f = image width.
    cam = CameraModel.from_f35(36.0, (3000, 2000))
    assert cam.fx == pytest.approx(3000.0)
    portrait = CameraModel.from_f35(36.0, (2000, 3000))
    assert portrait.fx == pytest.approx(cam.fx)  # same lens, rotated phone: same focal length
    # 4:3 phone photo: f = f35 · diag / 43.27 (the width rule of the official demo is 4 % low here)
    cam43 = CameraModel.from_f35(26.0, (4032, 3024))
    assert cam43.fx == pytest.approx(26.0 * 5040.0 / FULL_FRAME_DIAGONAL_MM)
    assert FULL_FRAME_DIAGONAL_MM == pytest.approx(43.2666, abs=1e-4)


def test_fov_constructors_known_answers():
    cam = CameraModel.from_fov(90.0, (640, 480))
    assert cam.fx == pytest.approx(320.0) and cam.fy == pytest.approx(320.0)
    assert cam.fov_deg()[0] == pytest.approx(90.0)
    diag = CameraModel.from_fov(90.0, (640, 480), diagonal=True)
    assert diag.fx == pytest.approx(400.0)  # half-diagonal 400 px
    assert (cam.cx, cam.cy) == (319.5, 239.5)  # OpenCV pixel centres
    with pytest.raises(CalibrationError):
        CameraModel.from_fov(180.0, (640, 480))


def test_default_warns_with_advice(caplog):
    with caplog.at_level(logging.WARNING):
        cam = CameraModel.default((1280, 720))
    assert cam.approximate and cam.source.startswith("default")
    assert "perspose-rt calibrate" in caplog.text and "--fov" in caplog.text
    assert cam.fx == pytest.approx(50 * math.hypot(1280, 720) / FULL_FRAME_DIAGONAL_MM)


def test_scaling_keeps_rays_and_checks_aspect():
    K = np.array([[1000.0, 0, 641.3], [0, 1002.0, 358.7], [0, 0, 1]])
    cam = CameraModel(K=K, resolution=(1280, 720), dist=[0.1, -0.05, 0, 0, 0], name="cam")
    half = cam.scaled_to(640, 360)
    # the same physical point: pixel-centre convention u' = (u + 0.5)/2 − 0.5
    X = np.array([[0.3, -0.2, 2.0], [-1.0, 0.4, 5.0]])
    np.testing.assert_allclose(half.project(X), (cam.project(X) + 0.5) / 2 - 0.5, atol=1e-9)
    assert "scaled from 1280x720" in half.source
    with pytest.raises(CalibrationError, match="aspect ratio"):
        cam.scaled_to(640, 480)
    forced = cam.scaled_to(640, 480, force=True)
    assert forced.resolution == (640, 480)
    assert cam.scaled_to(1280, 720) is cam


def test_undistort_points_inverts_distorted_projection():
    K = np.array([[600.0, 0, 320], [0, 600.0, 240], [0, 0, 1]])
    cam = CameraModel(K=K, resolution=(640, 480), dist=[-0.25, 0.08, 0.001, -0.0005, -0.01])
    rng = np.random.default_rng(0)
    X = np.c_[rng.uniform(-0.4, 0.4, (50, 2)), np.ones(50)] * rng.uniform(1, 5, (50, 1))
    distorted = cam.project(X)
    pinhole = (X[:, :2] / X[:, 2:]) * 600 + [320, 240]
    assert np.abs(distorted - pinhole).max() > 5  # the lens really bends these rays
    np.testing.assert_allclose(cam.undistort_points(distorted), pinhole, atol=1e-6)


def test_undistort_image_straightens_a_dot():
    K = np.array([[300.0, 0, 160], [0, 300.0, 120], [0, 0, 1]])
    cam = CameraModel(K=K, resolution=(320, 240), dist=[-0.3, 0.1, 0, 0, 0])
    X = np.array([0.4, 0.3, 1.0])
    u, v = cam.project(X)
    img = np.zeros((240, 320), np.uint8)
    iu, iv = int(np.rint(u)), int(np.rint(v))
    img[iv - 1:iv + 2, iu - 1:iu + 2] = 255
    out = Undistorter(cam)(img)
    ys, xs = np.nonzero(out > 40)
    w = out[ys, xs].astype(float)
    np.testing.assert_allclose([np.average(xs, weights=w), np.average(ys, weights=w)],
                               [160 + 300 * 0.4, 120 + 300 * 0.3], atol=1.0)
    with pytest.raises(CalibrationError):
        Undistorter(cam)(np.zeros((100, 100), np.uint8))
    np.testing.assert_array_equal(cam.undistort_image(img), out)
    assert cam.__dict__["_undistorter"] is not None  # maps computed once, reused per frame
    assert cam.undistort_image(img) is not img


@pytest.mark.parametrize("K, msg", [
    (np.diag([-1.0, 1, 1]), "positive"),
    (np.array([[1.0, 0, 0], [1, 1, 0], [0, 0, 1]]), "upper triangular"),
])
def test_invalid_models_raise(K, msg):
    with pytest.raises(CalibrationError, match=msg):
        CameraModel(K=K, resolution=(10, 10))
    with pytest.raises(CalibrationError, match="distortion"):
        CameraModel(K=np.eye(3), resolution=(10, 10), dist=[1.0, 2.0, 3.0])
