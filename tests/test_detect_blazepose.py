"""The MediaPipe wrapper on a real photo, offline."""

from __future__ import annotations

import socket
import urllib.request

import cv2
import numpy as np
import pytest

from perspose_rt.detect import BlazePoseDetector, blazepose_to_h36m, bundled_model_paths, landmarks_box
from perspose_rt.errors import InputError


def _no_network(*_a, **_k):
    raise AssertionError("the detector tried to reach the network")


@pytest.fixture()
def offline(monkeypatch):
    """Every road to the internet raises: MediaPipe's model download, urllib and raw sockets."""
    from mediapipe.python.solutions import download_utils

    monkeypatch.setattr(download_utils, "download_oss_model", _no_network)
    monkeypatch.setattr(urllib.request, "urlopen", _no_network)
    monkeypatch.setattr(socket.socket, "connect", _no_network)
    monkeypatch.setattr(socket, "create_connection", _no_network)


def test_models_are_inside_the_wheel():
    paths = bundled_model_paths()
    assert [p.name for p in paths] == ["pose_landmark_full.tflite", "pose_detection.tflite"]
    for p in paths:
        assert p.is_file() and p.stat().st_size > 100_000, p


def test_finds_the_person_in_a_photo_offline(photos_dir, offline):
    path = min(photos_dir.glob("IMG-without-exif-*_f35.jpg"))
    img = cv2.imread(str(path))
    assert img is not None, path
    h, w = img.shape[:2]
    with BlazePoseDetector(static_image_mode=True) as det:
        found = det.detect(img)
    assert len(found) == 1, f"no person found in {path.name}"
    d = found[0]
    assert d.keypoint_format == "blazepose33"
    assert d.keypoints.shape == (33, 2) and d.keypoint_conf.shape == (33,)
    x0, y0, x1, y1 = d.bbox_xyxy
    assert 0 <= x0 < x1 < w and 0 <= y0 < y1 < h
    assert (y1 - y0) > 0.2 * h, "a standing person fills a good part of the photo's height"
    assert 0.5 < d.score <= 1.0
    # body landmarks are anatomically ordered: shoulders above hips above ankles (upright person)
    sh, hip, ank = d.keypoints[[11, 12]].mean(0), d.keypoints[[23, 24]].mean(0), d.keypoints[[27, 28]].mean(0)
    assert sh[1] < hip[1] < ank[1]
    kp17, c17 = blazepose_to_h36m(d.keypoints, d.keypoint_conf)
    assert kp17.shape == (17, 2) and np.isfinite(kp17).all() and (c17 > 0.5).mean() > 0.7


def test_tracking_mode_and_empty_image(photos_dir, offline):
    path = min(photos_dir.glob("IMG-without-exif-*_f35.jpg"))
    img = cv2.resize(cv2.imread(str(path)), (640, 640))
    with BlazePoseDetector(static_image_mode=False) as det:
        found = det.detect(img), det.detect(img)
    assert [len(f) for f in found] == [1, 1]
    first, second = found[0][0], found[1][0]
    assert np.abs(first.keypoints - second.keypoints).max() < 0.05 * 640
    with BlazePoseDetector(static_image_mode=True) as det:
        assert det.detect(np.zeros((240, 320, 3), np.uint8)) == []


def test_bad_inputs():
    with pytest.raises(InputError):
        BlazePoseDetector(static_image_mode=True, min_detection_confidence=1.5)
    with BlazePoseDetector(static_image_mode=True) as det, pytest.raises(InputError):
        det.detect(np.zeros((10, 10), np.float32))
    det.close()  # closing twice is harmless
    with pytest.raises(RuntimeError):
        det.detect(np.zeros((10, 10, 3), np.uint8))


def test_landmarks_box_uses_visible_points_and_clips():
    kp = np.array([[10.0, 10.0], [110.0, 210.0], [500.0, 500.0]])
    box = landmarks_box(kp, np.array([1.0, 1.0, 0.1]), 200, 200)
    np.testing.assert_allclose(box, [0, 0, 120, 199])


def test_computing_is_set_exactly_while_mediapipe_computes(photos_dir, offline):
    """``computing`` tells the pose thread when its Python work costs the detector nothing."""
    img = cv2.imread(str(min(photos_dir.glob("IMG-without-exif-*_f35.jpg"))))
    seen = []
    with BlazePoseDetector(static_image_mode=False) as det:
        graph = det._pose._graph
        inner = graph._graph

        class Recorder:
            def wait_until_idle(self):
                seen.append(det.computing.is_set())
                inner.wait_until_idle()

            def __getattr__(self, name):
                return getattr(inner, name)

        graph._graph = Recorder()
        assert not det.computing.is_set()
        assert len(det.detect(img)) == 1 and len(det.detect(img)) == 1
        assert seen == [True, True] and not det.computing.is_set()


def test_yield_to_detector_waits_for_the_detector_at_most_its_timeout():
    import threading
    import time

    from perspose_rt.pipeline.lifter_stages import YieldToDetector

    computing = threading.Event()
    stage = YieldToDetector(computing, timeout_s=0.05)
    t0 = time.perf_counter()
    assert stage("packet") == "packet"
    assert time.perf_counter() - t0 >= 0.045  # the detector idle: the timeout
    threading.Timer(0.01, computing.set).start()
    t0 = time.perf_counter()
    stage("packet")
    assert time.perf_counter() - t0 < 1.0  # released when the detector starts computing
