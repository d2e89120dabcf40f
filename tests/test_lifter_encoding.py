"""Ray encoding (PE), PR rotation and the decode round trip of the lifter's input/output."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from perspose_rt.data.h36m import project_h36m, sh16_to_h36m17
from perspose_rt.geometry import project_points
from perspose_rt.lifter.encoding import DROP_CONF, N_FEATURES, VARIANTS, decode, encode, targets

# a plausible standing pose (H36M-17, metres, camera axes: y down), root at the origin
_POSE = np.array([
    [0, 0, 0], [-0.13, 0, 0], [-0.13, 0.45, 0.02], [-0.13, 0.88, 0.05], [0.13, 0, 0], [0.13, 0.45, -0.03],
    [0.13, 0.88, 0.0], [0, -0.23, 0.01], [0, -0.48, 0.03], [0, -0.58, -0.06], [0, -0.68, 0.0],
    [0.18, -0.45, 0.02], [0.2, -0.2, 0.1], [0.22, 0.02, -0.1], [-0.18, -0.45, 0.02], [-0.25, -0.2, -0.05],
    [-0.3, 0.0, 0.05],
])


def _K(f=1000.0, cx=640.0, cy=360.0):
    return np.array([[f, 0, cx], [0, f, cy], [0, 0, 1.0]])


def _scene(offset, depth=4.0, rng=None):
    X = _POSE + np.array([offset[0], offset[1], depth])
    if rng is not None:
        X = X + rng.normal(0, 0.02, X.shape)
    return X


@pytest.mark.parametrize("variant", VARIANTS)
def test_round_trip_is_exact_for_clean_pinhole_keypoints(variant):
    K = _K()
    X = np.stack([_scene((x, y), d) for x, y, d in [(0, 0, 4), (2.5, -1, 3), (-3, 1.5, 6)]])
    uv = project_points(X, K)
    enc = encode(uv, K, None, variant)
    assert enc.features.shape == (3, N_FEATURES)
    back = decode(targets(X, enc), enc)
    np.testing.assert_allclose(back, X, atol=1e-5)


def test_pr_puts_the_box_centre_on_the_optical_axis():
    K = _K()
    X = _scene((3.0, 1.0), 4.0)[None]
    uv = project_points(X, K)
    enc = encode(uv, K, None, "pepr")
    # the box centre of the rotated rays is on the axis: c ≈ 0 (exact for the centre's own ray)
    rays = np.concatenate([uv, np.ones((1, 17, 1))], -1) @ np.linalg.inv(K).T @ enc.R[0].T
    p = rays[..., :2] / rays[..., 2:]
    centre = 0.5 * (p.min(1) + p.max(1))
    assert np.abs(centre).max() < 0.02
    R = enc.R[0]
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)


def test_person_on_the_axis_makes_pr_the_identity():
    K = _K()
    uv = project_points(_scene((0, 0), 5.0)[None], K)
    centre = 0.5 * (uv[0].min(0) + uv[0].max(0))
    uv = uv - centre + K[:2, 2]
    e1, e2 = encode(uv, K, None, "pepr"), encode(uv, K, None, "pe")
    np.testing.assert_allclose(e1.R[0], np.eye(3), atol=1e-12)
    np.testing.assert_allclose(e1.features, e2.features, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(f=st.floats(300, 3000), cx=st.floats(200, 1200), cy=st.floats(200, 900),
       x=st.floats(-2, 2), y=st.floats(-1, 1), d=st.floats(2.5, 10))
def test_ray_features_depend_on_rays_not_pixels(f, cx, cy, x, y, d):
    """PE: the same 3D scene through any K gives the same ray features (PE and PE+PR)."""
    X = _scene((x, y), d)[None]
    for variant in ("pe", "pepr"):
        a = encode(project_points(X, _K(f, cx, cy)), _K(f, cx, cy), None, variant).features
        b = encode(project_points(X, _K(800.0, 640, 360)), _K(800.0, 640, 360), None, variant).features
        np.testing.assert_allclose(a, b, atol=2e-4)


def test_boxnorm_ignores_the_focal_length():
    """The no-intrinsics baseline: zooming (f) changes the 2D and hence its features; f itself is unseen."""
    uv = project_points(_scene((0.5, 0), 4.0)[None], _K())
    a = encode(uv, _K(1000.0), None, "boxnorm").features
    b = encode(uv, _K(400.0), None, "boxnorm").features
    np.testing.assert_array_equal(a, b)


def test_dropped_joints_are_zeroed_and_confidences_passed():
    K = _K()
    uv = project_points(_scene((1, 0), 4.0)[None], K)
    conf = np.full((1, 17), 0.9)
    conf[0, 9] = 0.0
    conf[0, 3] = DROP_CONF / 2
    f = encode(uv, K, conf, "pepr").features[0]
    shape = f[:34].reshape(17, 2)
    assert (shape[[3, 9]] == 0).all() and (np.abs(shape[[0, 1, 2]]) > 0).any()
    np.testing.assert_allclose(f[34:51], conf[0], atol=1e-7)
    # moving a dropped joint anywhere changes nothing
    uv2 = uv.copy()
    uv2[0, 9] += 300
    np.testing.assert_array_equal(encode(uv2, K, conf, "pepr").features[0], f)


def test_batch_shapes_and_bad_input():
    K = _K()
    uv = project_points(np.stack([_scene((0, 0), 4.0)] * 6), K).reshape(2, 3, 17, 2)
    enc = encode(uv, np.broadcast_to(K, (2, 3, 3, 3)), None, "pepr")
    assert enc.features.shape == (6, N_FEATURES) and enc.R.shape == (6, 3, 3)
    with pytest.raises(ValueError):
        encode(uv[..., :16, :], K)
    with pytest.raises(ValueError):
        encode(uv, K, None, "pixels")


def test_h36m_projection_reduces_to_pinhole_without_distortion_and_torch_matches():
    rng = np.random.default_rng(0)
    X = _scene((0.3, -0.2), 4.5, rng)
    f, c = np.array([1145.0, 1143.0]), np.array([512.0, 515.0])
    K = np.array([[f[0], 0, c[0]], [0, f[1], c[1]], [0, 0, 1]])
    uv = project_h36m(X, f, c, np.zeros(3), np.zeros(2))
    np.testing.assert_allclose(uv, project_points(X, K), atol=1e-9)
    k, p = np.array([-0.2, 0.24, -0.003]), np.array([-0.0014, -0.001])
    a = project_h36m(X, f, c, k, p)
    b = project_h36m(torch.from_numpy(X), *(torch.from_numpy(v) for v in (f, c, k, p))).numpy()
    np.testing.assert_allclose(a, b, atol=1e-9)
    # hand-written formula of cameras.json for one point
    x = X[5, :2] / X[5, 2]
    r2 = x @ x
    xd = x * (1 + k[0] * r2 + k[1] * r2**2 + k[2] * r2**3 + p[0] * x[1] + p[1] * x[0]) + np.array([p[1], p[0]]) * r2
    np.testing.assert_allclose(a[5], f * xd + c, atol=1e-9)


def test_sh16_mapping():
    det = np.arange(32, dtype=np.float64).reshape(16, 2)
    kp, conf = sh16_to_h36m17(det, confidence=1.0)
    np.testing.assert_array_equal(kp[0], det[6])  # SH "Hip" is the pelvis
    np.testing.assert_array_equal(kp[10], det[9])  # SH "Head"
    np.testing.assert_array_equal(kp[16], det[10])  # SH "RWrist"
    np.testing.assert_array_equal(kp[7], 0.5 * (det[6] + det[8]))  # MPII "Spine" is not H36M's
    assert conf[9] == 0 and (np.delete(conf, 9) == 1).all()


@settings(max_examples=25, deadline=None)
@given(x=st.floats(-3, 3), y=st.floats(-1.5, 1.5), d=st.floats(2.5, 9), f=st.floats(300, 2500),
       seed=st.integers(0, 2**16), variant=st.sampled_from(VARIANTS))
def test_numpy_and_torch_encodings_agree(x, y, d, f, seed, variant):
    """The live path encodes numpy frames, training torch batches: the same numbers either way."""
    rng = np.random.default_rng(seed)
    K = _K(f, 640, 360)
    X = np.stack([_scene((x, y), d, rng), _scene((-x, y), d + 1, rng)])
    uv = project_points(X, K) + rng.normal(0, 2, (2, 17, 2))
    conf = rng.uniform(0, 1, (2, 17))
    conf[1, :16] = 0.0  # one valid joint: c and s fall back to all joints
    out = rng.normal(0, 0.3, (2, 49)).astype(np.float32)
    a = encode(uv, K, conf, variant)
    b = encode(torch.from_numpy(uv), torch.from_numpy(K), torch.from_numpy(conf), variant)
    assert isinstance(a.features, np.ndarray) and isinstance(b.features, torch.Tensor)
    assert a.features.dtype == np.float32 and b.features.dtype == torch.float32
    for name in ("features", "R", "scale", "root_dir"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name).numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(targets(X, a), targets(torch.from_numpy(X), b).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(decode(out, a), decode(torch.from_numpy(out), b).numpy(), rtol=1e-9)
