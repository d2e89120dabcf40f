import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from perspose_rt.geometry import (
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    rot6d_to_matrix,
    rotation_angle,
    rotation_between,
    skew,
)

vec3 = st.lists(st.floats(-1, 1), min_size=3, max_size=3).map(np.array).filter(lambda v: np.linalg.norm(v) > 1e-3)


def test_skew_is_cross_product():
    v, x = np.array([1.0, -2.0, 3.0]), np.array([0.5, 0.25, -1.0])
    np.testing.assert_allclose(skew(v) @ x, np.cross(v, x))


@given(vec3, vec3)
def test_rotation_between_maps_a_onto_b_minimally(a, b):
    an, bn = a / np.linalg.norm(a), b / np.linalg.norm(b)
    if an @ bn < -0.999:
        return
    R = rotation_between(a, b)
    np.testing.assert_allclose(R @ an, bn, atol=1e-9)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-9)
    assert np.linalg.det(R) == pytest.approx(1.0, abs=1e-9)
    # minimal: the angle is the angle between the directions, the axis is normal to both
    assert rotation_angle(R) == pytest.approx(np.arccos(np.clip(an @ bn, -1, 1)), abs=1e-6)
    axis = matrix_to_axis_angle(R)
    if np.linalg.norm(axis) > 1e-6:
        assert abs(axis @ an) < 1e-6 and abs(axis @ bn) < 1e-6


def test_rotation_between_identity_and_known_answer():
    assert np.array_equal(rotation_between(np.array([0.3, -0.2, 1.0]), np.array([0.3, -0.2, 1.0])), np.eye(3))
    R = rotation_between(np.array([1.0, 0, 0]), np.array([0, 1.0, 0]))  # +90° about z
    np.testing.assert_allclose(R, [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-15)
    with pytest.raises(ValueError, match="antiparallel"):
        rotation_between(np.array([0, 0, 1.0]), np.array([0, 0, -1.0]))


@settings(max_examples=200)
@given(st.lists(st.floats(-1, 1), min_size=3, max_size=3), st.floats(0, np.pi))
def test_axis_angle_round_trip_matches_scipy(axis, angle):
    axis = np.array(axis)
    if np.linalg.norm(axis) < 1e-3:
        return
    rv = axis / np.linalg.norm(axis) * angle
    R = axis_angle_to_matrix(rv)
    np.testing.assert_allclose(R, Rotation.from_rotvec(rv).as_matrix(), atol=1e-12)
    back = matrix_to_axis_angle(R)
    if angle < np.pi - 1e-6:
        np.testing.assert_allclose(back, rv, atol=1e-7)
    else:  # at π, axis and −axis are the same rotation
        np.testing.assert_allclose(axis_angle_to_matrix(back), R, atol=1e-9)


def test_axis_angle_tiny_angles_are_accurate():
    rv = np.array([1e-9, -2e-9, 3e-9])
    np.testing.assert_allclose(matrix_to_axis_angle(axis_angle_to_matrix(rv)), rv, rtol=1e-6)


def test_torch_twins_match_numpy():
    rv = np.random.default_rng(0).normal(size=(8, 3))
    Rn = axis_angle_to_matrix(rv)
    Rt = axis_angle_to_matrix(torch.tensor(rv))
    np.testing.assert_allclose(Rt.numpy(), Rn, atol=1e-12)
    np.testing.assert_allclose(matrix_to_axis_angle(Rt).numpy(), matrix_to_axis_angle(Rn), atol=1e-10)
    a, b = torch.tensor(rv), torch.tensor(rv[::-1].copy())
    np.testing.assert_allclose(rotation_between(a, b).numpy(), rotation_between(rv, rv[::-1]), atol=1e-12)


def test_rot6d_official_layout_known_answer():
    # a1 = (x0, x2, x4) = (0, 2, 0); a2 = (x1, x3, x5) = (1, 1, 0)
    # b1 = (0, 1, 0); b2 = normalise((1,1,0) − (1)(0,1,0)) = (1, 0, 0); b3 = b1 × b2 = (0, 0, −1)
    x = np.array([0.0, 1.0, 2.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(rot6d_to_matrix(x), [[0, 1, 0], [1, 0, 0], [0, 0, -1]], atol=1e-12)


def test_rot6d_recovers_rotation_from_its_first_two_columns():
    R = Rotation.random(16, random_state=1).as_matrix()
    x = R[..., :, :2].reshape(16, 6)  # row-major 3×2 → the official layout
    np.testing.assert_allclose(rot6d_to_matrix(x), R, atol=1e-12)
    np.testing.assert_allclose(rot6d_to_matrix(torch.tensor(x)).numpy(), R, atol=1e-12)


def test_torch_paths_make_no_host_tensors():
    """CUDA-graph capture forbids host→device copies inside the captured region: the torch paths
    of the geometry used in the network's forward must build no tensor from host data."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from perspose_rt.geometry import lift_uvd, pe_map_torch

    class NoHostCopies(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            name = str(func)
            assert "lift_fresh" not in name and "_to_copy" not in name, f"host tensor built by {name}"
            return func(*args, **(kwargs or {}))

    x = torch.randn(4, 6, dtype=torch.float64)
    K = torch.tensor([[[500.0, 0, 128], [0, 500.0, 128], [0, 0, 1]]]).repeat(4, 1, 1)
    uv, d, rho = torch.rand(4, 25, 2) * 256, torch.rand(4, 25, 1), torch.rand(4, 1, 1) * 0.01
    with NoHostCopies():
        rot6d_to_matrix(x)
        pe_map_torch(K)
        lift_uvd(uv, d, rho, K)
