"""Simulated close views (desk camera, head, hand): the crop's intrinsics are exact, the windows
are placed where they should be, and the simulated camera gives each frame its own camera."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perspose_rt.camera import CameraModel
from perspose_rt.errors import InputError
from perspose_rt.pipeline.live_sources import SimulatedCamera, open_live_source
from perspose_rt.pipeline.sim_crop import (
    Window,
    affine_camera,
    cut_clip,
    keep_inside,
    region_window,
    smooth_windows,
    window_affine,
)
from perspose_rt.types import Detection


@settings(max_examples=40, deadline=None)
@given(cx=st.floats(100, 1180), cy=st.floats(100, 620), h=st.floats(40, 600),
       X=st.tuples(st.floats(-1, 1), st.floats(-1, 1), st.floats(1.5, 8)))
def test_a_point_projects_onto_the_same_scene_pixel_in_the_cut_view(cx, cy, h, X):
    """Projecting with K' = A·K lands exactly where the affine map sends the full frame's pixel."""
    cam = CameraModel(K=[[1100.0, 0, 639.5], [0, 1100.0, 359.5], [0, 0, 1]], resolution=(1280, 720),
                      dist=[0.05, -0.01, 0, 0, 0], source="test")
    size = (640, 480)
    M = window_affine(Window(cx, cy, h * 4 / 3, h), size)
    view = affine_camera(cam, M, size, "upper-body view")
    P = np.asarray(X, dtype=np.float64)
    uv = cam.project(P[None])[0]
    np.testing.assert_allclose(view.project(P[None])[0], M[:, :2] @ uv + M[:, 2], atol=1e-6)
    assert view.resolution == size and view.source == "test (upper-body view)"
    np.testing.assert_array_equal(view.dist, cam.dist)


def test_the_window_centre_lands_on_the_view_centre_and_pixels_agree():
    img = np.zeros((720, 1280, 3), np.uint8)
    img[300, 700] = 255  # one bright pixel
    win = Window(700.0, 300.0, 160.0, 120.0)  # 4x zoom into 640x480
    M = window_affine(win, (640, 480))
    out = cv2.warpAffine(img, M, (640, 480), flags=cv2.INTER_LINEAR)
    np.testing.assert_allclose(M[:, :2] @ [700, 300] + M[:, 2], [319.5, 239.5])
    ys, xs = np.nonzero(out[..., 0] > 0)
    np.testing.assert_allclose([xs.mean(), ys.mean()], [319.5, 239.5], atol=0.01)


def _standing(scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    kp = np.zeros((33, 2))
    kp[:11] = (320, 100)
    kp[[11, 12]] = [(290, 150), (350, 150)]
    kp[[13, 14]] = [(280, 210), (360, 210)]
    kp[[15, 16]] = [(275, 260), (365, 260)]
    kp[[17, 19, 21]] = (272, 270)
    kp[[18, 20, 22]] = (368, 270)
    kp[[23, 24]] = [(300, 250), (340, 250)]  # torso: 100 px
    kp[[25, 26]] = [(300, 350), (340, 350)]
    kp[[27, 28]] = [(300, 430), (340, 430)]
    return kp * scale, np.full(33, 0.9)


def test_region_windows():
    kp, conf = _standing()
    up = region_window(kp, conf, "upper-body", 4 / 3)
    assert up.cy + up.h / 2 == pytest.approx(250.0)  # bottom edge at the hips
    assert up.h == pytest.approx(190.0) and up.w == pytest.approx(190.0 * 4 / 3)
    assert up.cy - up.h / 2 < 100 - 30  # the head is inside, with room above
    head = region_window(kp, conf, "head", 4 / 3)
    assert head.cy + head.h / 2 < 150  # no shoulder line
    hand = region_window(kp, conf, "hand", 4 / 3)
    assert hand.h == pytest.approx(45.0) and hand.cy == pytest.approx(270.0)
    conf[[16, 18, 20, 22]] = 0.1  # the right hand hidden: the left one is shown
    assert region_window(kp, conf, "hand", 4 / 3).cx == pytest.approx(272.0)
    kp[23:25] = kp[11:13]
    assert region_window(kp, conf, "upper-body", 4 / 3) is None  # no torso


def test_windows_are_interpolated_smoothed_and_kept_inside():
    w = [None, Window(100, 100, 40, 30), None, Window(200, 100, 40, 30), None]
    s = smooth_windows(w, radius=0)
    assert [x.cx for x in s] == [100, 100, 150, 200, 200]
    s = smooth_windows(w, radius=1)
    assert s[2].cx == pytest.approx(150) and s[0].cx == pytest.approx(100)
    with pytest.raises(ValueError):
        smooth_windows([None, None])
    assert keep_inside(Window(10, 700, 100, 60), 1280, 720) == Window(49.5, 689.5, 100, 60)
    assert keep_inside(Window(10, 10, 2000, 60), 1280, 720).cx == 10  # wider than the frame


class _Fixed:
    max_people = 1

    def __init__(self, dets):
        self.dets = dets

    def detect(self, image, timestamp_s=None):
        return list(self.dets.pop(0))

    def close(self):
        pass


def test_cut_clip_with_a_missed_frame_and_the_simulated_camera_plays_its_cameras():
    kp, conf = _standing()
    det = Detection(np.r_[kp.min(0), kp.max(0)], 0.9, kp, conf, "blazepose33")
    frames = [np.full((480, 640, 3), i, np.uint8) for i in range(3)]
    cam = CameraModel.from_fov(60, (640, 480))
    clip = cut_clip(frames, cam, "upper-body", (320, 240), detector=_Fixed([[det], [], [det]]))
    assert clip.found.tolist() == [True, False, True] and len(clip.images) == 3
    assert clip.images[0].shape == (240, 320, 3)
    assert clip.cameras[1].K[0, 0] == pytest.approx(cam.K[0, 0] * 320 / (190 * 4 / 3))
    src = SimulatedCamera(clip.images, fps=1000.0, cameras=clip.cameras, num_frames=4)
    got = [src.read() for _ in range(4)]
    assert [f.image[0, 0, 0] for f in got] == [0, 1, 2, 0]
    assert all(f.camera is clip.cameras[i % 3] for i, f in enumerate(got)) and src.camera is clip.cameras[0]
    with pytest.raises(InputError, match="no person"):
        cut_clip(frames, cam, "head", detector=_Fixed([[], [], []]))


def test_sim_view_needs_a_simulated_camera():
    with pytest.raises(InputError, match="--sim-view"):
        open_live_source("0", sim_view="upper-body")


def test_desk_view_of_the_real_video(video_path, tmp_path):
    """The shared video cut to the upper body: every frame 640x480, the hips at the bottom edge
    (BlazePose on the cut view agrees), the principal point moved with the crop."""
    from perspose_rt.detect import BlazePoseDetector
    from perspose_rt.pipeline.live_sources import open_sim_view

    src = open_sim_view(video_path, "upper-body", max_decode=40)
    assert src.frames_per_loop == 40 and src.resolution == (640, 480)
    cams = src._cameras
    assert len({round(c.cx) for c in cams}) > 5  # the principal point follows the person
    assert all(c.source.endswith("(upper-body view)") for c in cams)
    hips, knees = [], []
    with BlazePoseDetector(static_image_mode=True) as det:
        for img in src._images[::8]:
            d = det.detect(img)
            if d:
                hips.append(d[0].keypoints[[23, 24], 1].mean())
                knees.append(d[0].keypoints[[25, 26], 1].mean())
    assert len(hips) >= 4
    assert abs(np.median(hips) - 480) < 60 and np.median(knees) > 480  # legs out of view
