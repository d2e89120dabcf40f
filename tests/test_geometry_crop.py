"""PR rotation and the crop homography: known answers and properties over random cameras."""

import numpy as np
import pytest
import torch
from geometry_strategies import boxes, cameras
from hypothesis import given, settings
from hypothesis import strategies as st

from perspose_rt.geometry import (
    apply_homography,
    pr_rotation,
    prepare_crop,
    prepare_crop_torch,
    project_points,
    rays_from_pixels,
)


def test_rays_from_pixels_is_the_inverse_of_K():
    K = np.array([[800.0, 3.0, 300.0], [0, 820.0, 250.0], [0, 0, 1]])
    uv = np.array([[10.0, 20.0], [640.0, 480.0]])
    expected = (np.linalg.inv(K) @ np.c_[uv, np.ones(2)].T).T
    np.testing.assert_allclose(rays_from_pixels(uv, K), expected, atol=1e-15)


def test_known_answer_centred_box_has_no_rotation():
    # Box centred on the principal point: R = I, H = A (scale 256/200 about the centre).
    K = np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])
    g = prepare_crop(K, np.array([220.0, 190.0, 420.0, 290.0]))
    assert np.array_equal(g.R, np.eye(3))
    s = 256 / 200
    np.testing.assert_allclose(g.H, [[s, 0, 128 - s * 320], [0, s, 128 - s * 240], [0, 0, 1]], atol=1e-12)
    np.testing.assert_allclose(g.K_crop, [[500 * s, 0, 128], [0, 500 * s, 128], [0, 0, 1]], atol=1e-12)


def test_known_answer_symmetric_expansion_and_stretch():
    # Off-centre box [400, 240, 440, 260] with R = I would be asymmetric about cx = 320: the
    # symmetric half-width is 120 (not 20). fy/fx = 2 → x is stretched ×2.
    K = np.array([[250.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])
    g = prepare_crop(K, np.array([400.0, 230.0, 440.0, 250.0]))
    # after PR the box is centred, so its rotated box is symmetric about the principal point
    cx_rot = (g.bbox_rot[0] + g.bbox_rot[2]) / 2
    assert cx_rot == pytest.approx(320, abs=1.0)
    assert g.K_crop[0, 0] == pytest.approx(g.K_crop[1, 1], rel=1e-12)  # focal lengths equalised


def _spans_half_space(K, box):
    """Independent check: is a box corner ≥ 89.9° from the box centre's ray?"""
    c = np.linalg.solve(K, [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2, 1.0])
    for u in (box[0], box[2]):
        for v in (box[1], box[3]):
            r = np.linalg.solve(K, [u, v, 1.0])
            if r @ c / np.linalg.norm(r) / np.linalg.norm(c) < np.cos(np.radians(89.9)):
                return True
    return False


def _crop_or_expected_error(K, box):
    g = prepare_crop(K, box)
    if _spans_half_space(K, box):
        assert not bool(g.valid)
        return None
    assert bool(g.valid)
    return g


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_homography_equals_projection_in_rotated_camera(data):
    K, size = data.draw(cameras())
    box = data.draw(boxes(size))
    g = _crop_or_expected_error(K, box)
    if g is None:
        return
    rng = np.random.default_rng(0)
    # 3D points on the rays through the box, at several depths
    uv = np.c_[rng.uniform(box[0], box[2], 20), rng.uniform(box[1], box[3], 20)]
    X = rays_from_pixels(uv, K) * rng.uniform(1, 10, (20, 1))
    via_h = apply_homography(g.H, project_points(X, K))
    via_rot = project_points(X @ g.R.T, g.K_crop)
    np.testing.assert_allclose(via_h, via_rot, atol=1e-6)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_box_centre_goes_to_crop_centre_and_box_fills_crop(data):
    K, size = data.draw(cameras())
    box = data.draw(boxes(size))
    g = _crop_or_expected_error(K, box)
    if g is None:
        return
    centre = ((box[:2] + box[2:]) / 2)[None]
    np.testing.assert_allclose(apply_homography(g.H, centre), [[128, 128]], atol=1e-6)
    # the PR ray of the centre is the optical axis
    ray = g.R @ rays_from_pixels(centre[0], K)
    np.testing.assert_allclose(ray[:2] / ray[2], 0, atol=1e-9)
    # crop intrinsics: principal point at the centre, equal focal lengths (fy/fx within [0.5, 2])
    np.testing.assert_allclose(g.K_crop[:2, 2], [128, 128], atol=1e-6)
    assert g.K_crop[0, 0] == pytest.approx(g.K_crop[1, 1], rel=1e-9)
    # the mapped corners fit in the crop and touch its border on one axis (longer side = 256)
    corners = np.array([[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]]])
    mapped = apply_homography(g.H, corners)
    ext = np.abs(mapped - 128).max(0)
    stretch = K[1, 1] / K[0, 0]
    unstretched = ext / np.array([stretch if stretch > 1 else 1.0, 1.0 if stretch > 1 else 1 / stretch])
    assert unstretched.max() == pytest.approx(128, rel=1e-6)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_pr_rotation_is_identity_when_centred_and_stable_at_wide_fov(data):
    K, size = data.draw(cameras(min_fov=120, max_fov=150))
    assert np.array_equal(pr_rotation(K, K[:2, 2]), np.eye(3))
    corner = np.array([0.0, 0.0]) if data.draw(st.booleans()) else np.array(size, float)
    R = pr_rotation(K, corner)
    assert np.all(np.isfinite(R))
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)


def test_torch_twin_matches_numpy_batched_and_float32():
    rng = np.random.default_rng(3)
    K = np.array([[900.0, 0, 640], [0, 910.0, 360], [0, 0, 1]])
    Ks = np.repeat(K[None], 5, 0)
    x0 = rng.uniform(0, 1000, 5)
    y0 = rng.uniform(0, 400, 5)
    bb = np.c_[x0, y0, x0 + 200, y0 + 300]
    gn = prepare_crop(Ks, bb, pad=1.2)
    gt = prepare_crop_torch(torch.tensor(Ks), torch.tensor(bb), pad=1.2)
    for name in ("R", "K_crop", "H", "bbox_rot"):
        np.testing.assert_allclose(getattr(gt, name).numpy(), getattr(gn, name), atol=1e-9)
    for i in range(5):  # batched == one by one
        np.testing.assert_allclose(prepare_crop(K, bb[i], pad=1.2).H, gn.H[i], atol=1e-12)
    g32 = prepare_crop(Ks.astype(np.float32), bb.astype(np.float32), pad=1.2)
    assert g32.H.dtype == np.float32
    np.testing.assert_allclose(g32.K_crop, gn.K_crop, rtol=1e-4)


def test_bad_boxes_are_flagged_per_sample():
    """An empty box, a NaN box and one spanning almost the whole 175° view are invalid; the good
    boxes of the same batch get exactly their single-box geometry, and everything stays finite."""
    K = np.array([[100.0, 0, 320], [0, 100.0, 240], [0, 0, 1]])
    boxes = np.array([[200.0, 100, 300, 400], [10.0, 10.0, 10.0, 50.0], [np.nan, 0, 10, 10],
                      [-2000.0, 200.0, 2600.0, 280.0], [300.0, 200, 350, 300]])
    g = prepare_crop(np.broadcast_to(K, (5, 3, 3)), boxes)
    np.testing.assert_array_equal(g.valid, [True, False, False, False, True])
    for name in ("R", "K_crop", "H", "H_pr", "bbox_rot"):
        assert np.all(np.isfinite(getattr(g, name))), name
    for i in (0, 4):
        np.testing.assert_allclose(prepare_crop(K, boxes[i]).H, g.H[i], atol=1e-12)
    assert bool(prepare_crop(K, boxes[0]).valid) and not bool(prepare_crop(K, boxes[3]).valid)
