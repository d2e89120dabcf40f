"""PE map, lifting (Eq. 5), inverse PR (Eq. 6) and the warps."""

import numpy as np
import pytest
import torch
from geometry_strategies import boxes, cameras
from hypothesis import given, settings
from hypothesis import strategies as st

from perspose_rt.geometry import (
    apply_homography,
    lift_uvd,
    normalize_crop,
    normalize_crop_torch,
    pe_map,
    pe_map_torch,
    prepare_crop,
    project_points,
    to_original_camera,
    warp_crop,
    warp_crop_torch,
)


def test_pe_map_known_answer():
    K = np.array([[200.0, 0, 128], [0, 200.0, 128], [0, 0, 1]])
    pe = pe_map(K)
    assert pe.shape == (2, 64, 64)
    assert pe[0, 0, 0] == pytest.approx((2 - 128) / 200)  # cell centre (0 + 0.5) * 4 = 2
    assert pe[0, 0, 63] == pytest.approx((254 - 128) / 200)  # x varies along the last axis (u)
    assert pe[1, 5, 0] == pytest.approx((22 - 128) / 200)  # y varies along rows (v)
    assert pe[0, 5, 7] == pytest.approx((30 - 128) / 200)


@settings(max_examples=50, deadline=None)
@given(st.floats(50, 2000), st.floats(0.9, 1.1), st.floats(-20, 20), st.floats(-20, 20), st.floats(-5, 5))
def test_pe_map_equals_inverse_K_at_every_cell(f, aspect, dx, dy, s):
    K = np.array([[f, s, 128 + dx], [0, f * aspect, 128 + dy], [0, 0, 1]])
    pe = pe_map(K)
    g = (np.arange(64) + 0.5) * 4
    u, v = np.meshgrid(g, g)  # u along columns, v along rows
    rays = np.linalg.inv(K) @ np.stack([u.ravel(), v.ravel(), np.ones(u.size)])
    np.testing.assert_allclose(pe[0].ravel(), rays[0], atol=1e-12)
    np.testing.assert_allclose(pe[1].ravel(), rays[1], atol=1e-12)


def test_pe_map_torch_batched_matches_numpy():
    K = np.stack([np.array([[f, 0, 128], [0, f, 128], [0, 0, 1.0]]) for f in (300.0, 900.0)])
    np.testing.assert_allclose(pe_map_torch(torch.tensor(K)).numpy(), pe_map(K), atol=1e-12)
    assert pe_map_torch(torch.tensor(K, dtype=torch.float32)).dtype == torch.float32


def test_lift_uvd_known_answer():
    # f = 100, c = (128, 128); root at depth 5 m → ρ0 = 0.05 m/px
    K = np.array([[100.0, 0, 128], [0, 100.0, 128], [0, 0, 1]])
    uv = np.array([[[138.0, 128.0], [128.0, 148.0]]])  # root 10 px right; joint 1 20 px down
    depth = np.array([[[0.0], [1.0]]])  # joint 1 one metre further
    xyz, xyz0 = lift_uvd(uv, depth, np.array([[[0.05]]]), K[None])
    np.testing.assert_allclose(xyz0, [[[0.5, 0.0, 5.0]]])  # 10 px × 0.05 m/px
    np.testing.assert_allclose(xyz, [[[0, 0, 0], [0 - 0.5, 20 * 0.06, 1.0]]])  # density 1/100 + 0.05


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_lifting_the_projection_of_a_pose_returns_the_pose(data):
    K, size = data.draw(cameras(min_fov=30, max_fov=120))
    box = data.draw(boxes(size))
    try:
        g = prepare_crop(K, box)
    except ValueError:  # boxes wider than a half-space are covered in test_geometry_crop
        return
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    centre = (box[:2] + box[2:]) / 2
    root = np.linalg.solve(K, [*centre, 1.0]) * rng.uniform(2, 10)  # on the box centre's ray
    pose = root + rng.normal(scale=0.3, size=(17, 3))
    pose[0] = root
    X_rot = pose @ g.R.T
    uv = project_points(X_rot, g.K_crop)
    f = g.K_crop[0, 0]
    depth = (X_rot[:, 2] - X_rot[0, 2])[:, None]
    xyz, xyz0 = lift_uvd(uv, depth, np.array([[X_rot[0, 2] / f]]), g.K_crop)
    np.testing.assert_allclose(xyz + xyz0, X_rot, atol=1e-9)
    back = to_original_camera(xyz + xyz0, g.R)
    np.testing.assert_allclose(back, pose, atol=1e-9)


def test_lift_uvd_torch_matches_numpy():
    rng = np.random.default_rng(1)
    uv = rng.uniform(0, 256, (3, 25, 2))
    d = rng.uniform(-1, 1, (3, 25, 1))
    d[:, 0] = 0
    rho = rng.uniform(0.002, 0.03, (3, 1, 1))
    K = np.repeat(np.array([[[500.0, 0, 128], [0, 500.0, 128], [0, 0, 1]]]), 3, 0)
    a = lift_uvd(uv, d, rho, K)
    b = lift_uvd(*(torch.tensor(x) for x in (uv, d, rho, K)))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(y.numpy(), x, atol=1e-12)


def test_to_original_camera_inverts_rotation_batched():
    from scipy.spatial.transform import Rotation

    R = Rotation.random(4, random_state=0).as_matrix()
    X = np.random.default_rng(0).normal(size=(4, 9, 3))
    X_rot = X @ R.swapaxes(-1, -2)
    np.testing.assert_allclose(to_original_camera(X_rot, R), X, atol=1e-12)
    np.testing.assert_allclose(to_original_camera(torch.tensor(X_rot), torch.tensor(R)).numpy(), X, atol=1e-12)


def _smooth_image(h=480, w=640):
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([127 + 120 * np.sin(xx / 23.0), 127 + 120 * np.cos(yy / 17.0),
                    127 + 120 * np.sin((xx + yy) / 31.0)], -1)
    return img.astype(np.uint8)


def test_warp_crop_puts_a_marked_pixel_where_H_says():
    img = np.zeros((480, 640, 3), np.uint8)
    img[300:303, 500:503] = 255  # a 3×3 dot centred on (501, 301)
    K = np.array([[600.0, 0, 320], [0, 600.0, 240], [0, 0, 1]])
    g = prepare_crop(K, np.array([450.0, 200.0, 560.0, 420.0]))
    crop = warp_crop(img, g.H)
    expect = apply_homography(g.H, np.array([[501.0, 301.0]]))[0]
    ys, xs = np.nonzero(crop[..., 0] > 60)
    w = crop[ys, xs, 0].astype(float)
    np.testing.assert_allclose([np.average(xs, weights=w), np.average(ys, weights=w)], expect, atol=0.5)


def test_warp_crop_torch_matches_opencv():
    img = _smooth_image()
    K = np.array([[600.0, 0, 320], [0, 600.0, 240], [0, 0, 1]])
    g = prepare_crop(K, np.array([380.0, 100.0, 520.0, 400.0]), pad=1.2)
    ref = warp_crop(img, g.H).astype(np.float64)
    t = torch.tensor(img, dtype=torch.float64).permute(2, 0, 1)[None]
    out = warp_crop_torch(t, torch.tensor(g.H)[None])[0].permute(1, 2, 0).numpy()
    src = apply_homography(np.linalg.inv(g.H), np.stack(np.meshgrid(np.arange(256.0), np.arange(256.0)), -1).reshape(-1, 2))
    inside = ((src[:, 0] > 1) & (src[:, 0] < 638) & (src[:, 1] > 1) & (src[:, 1] < 478)).reshape(256, 256)
    assert inside.mean() > 0.5
    assert np.abs(out - ref)[inside].mean() < 0.5  # OpenCV's fixed-point bilinear vs exact
    assert np.abs(out - ref)[inside].max() < 3.0


def test_normalize_crop_numpy_and_torch_agree():
    crop = _smooth_image(256, 256)
    a = normalize_crop(crop)
    assert a.shape == (3, 256, 256) and a.dtype == np.float32
    rgb = crop[..., ::-1].astype(np.float32) / 255
    assert a[0, 10, 20] == pytest.approx((rgb[10, 20, 0] - 0.485) / 0.229, rel=1e-5)
    t = torch.tensor(crop, dtype=torch.float32).permute(2, 0, 1)[None]
    np.testing.assert_allclose(normalize_crop_torch(t)[0].numpy(), a, atol=1e-5)


def test_in_frame_known_answers_numpy_and_torch():
    import torch

    from perspose_rt.geometry import in_frame

    uv = np.array([[0.0, 0.0], [639.0, 479.0], [639.5, 10.0], [-0.1, 5.0], [5.0, 480.0]])
    expected = [True, True, False, False, False]
    np.testing.assert_array_equal(in_frame(uv, 640, 480), expected)
    np.testing.assert_array_equal(in_frame(torch.from_numpy(uv), 640, 480).numpy(), expected)
    # per-sample sizes broadcast against the points: (B, 1) sizes, (B, J, 2) points
    both = np.stack([uv, uv])
    got = in_frame(both, np.array([[640.0], [10.0]]), np.array([[480.0], [10.0]]))
    np.testing.assert_array_equal(got, [expected, [True, False, False, False, False]])
