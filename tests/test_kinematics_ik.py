"""H36M-17 IK: FK → IK round trips on random poses, real H36M poses, MPJAE, torch twin."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perspose_rt.geometry import axis_angle_to_matrix
from perspose_rt.kinematics import forward_kinematics, h36m17_skeleton, solve_ik_h36m17
from perspose_rt.kinematics._rot import frame, swing
from perspose_rt.kinematics.ik_h36m import LEAVES
from perspose_rt.kinematics.skeleton import H36M17_HINGE_AXES, fit_h36m17_skeleton
from perspose_rt.metrics import mpjae

FREE = (7, 9)
FULL = (1, 4, 8, 11, 14)  # hips/shoulders (twist from the limb plane), thorax (shoulder line)


def random_pose(rng: np.random.Generator, n: int, min_flex_deg: float = 25.0) -> np.ndarray:
    """Local rotations in the set the 17 joints determine: any root, hip, shoulder and thorax
    rotation; twist-free spine and neck; knees and elbows bent about their hinge by at least
    ``min_flex_deg``; identity leaves."""
    sk = h36m17_skeleton()
    L = np.tile(np.eye(3), (n, 17, 1, 1))
    L[:, 0] = axis_angle_to_matrix(rng.normal(size=(n, 3)) * 1.5)
    for j in FULL:
        L[:, j] = axis_angle_to_matrix(rng.normal(size=(n, 3)) * 0.7)
    for j in FREE:
        r = sk.offsets[sk.children(j)[0]]
        r = np.broadcast_to(r / np.linalg.norm(r), (n, 3))
        L[:, j] = swing(r, r + 0.6 * rng.normal(size=(n, 3)))
    for j, ax in H36M17_HINGE_AXES.items():
        th = rng.uniform(np.radians(min_flex_deg), np.radians(150.0), n)
        L[:, j] = axis_angle_to_matrix(th[:, None] * np.asarray(ax))
    return L


def rot_err(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Geodesic angle (radians) between rotation stacks."""
    rel = np.swapaxes(A, -1, -2) @ B
    cos = np.clip((np.trace(rel, axis1=-2, axis2=-1) - 1) / 2, -1, 1)
    skew = np.stack([rel[..., 2, 1] - rel[..., 1, 2], rel[..., 0, 2] - rel[..., 2, 0],
                     rel[..., 1, 0] - rel[..., 0, 1]], -1)
    return np.arctan2(np.linalg.norm(skew, axis=-1) / 2, cos)


def test_fk_ik_random_poses_recover_rotations_and_joints():
    rng = np.random.default_rng(0)
    sk = h36m17_skeleton()
    L = random_pose(rng, 500)
    t = rng.normal(size=(500, 3)) + [0, 0, 4]
    X = forward_kinematics(L, sk, None, t)
    r = solve_ik_h36m17(X, sk)
    assert rot_err(r.local_rotmats, L).max() < 1e-4
    assert rot_err(r.root_orient, L[:, 0]).max() < 1e-4
    np.testing.assert_allclose(r.root_transl, t, atol=1e-9)
    np.testing.assert_allclose(r.joints, X, atol=1e-9)
    np.testing.assert_allclose(forward_kinematics(r.local_rotmats, r.rest, r.root_orient, r.root_transl), X,
                               atol=1e-9)
    np.testing.assert_allclose(axis_angle_to_matrix(r.axis_angle), r.local_rotmats, atol=1e-9)
    # twist of hips, shoulders, thorax and pelvis came from the data
    assert (r.twist_determined[:, [0, 1, 4, 8, 11, 14]] == 1).all()
    assert (r.twist_determined[:, list(LEAVES) + [2, 5, 7, 9, 12, 15]] == 0).all()


def test_straight_limbs_fall_back_to_twist_free_swing_and_keep_positions():
    rng = np.random.default_rng(1)
    sk = h36m17_skeleton()
    L = random_pose(rng, 200)
    for hip, knee in ((1, 2), (4, 5), (11, 12), (14, 15)):
        L[:, knee] = np.eye(3)  # straight limb: its twist is not observable
        r = sk.offsets[knee] / np.linalg.norm(sk.offsets[knee])
        L[:, hip] = swing(np.broadcast_to(r, (200, 3)), r + 0.5 * rng.normal(size=(200, 3)))
    X = forward_kinematics(L, sk, None, np.zeros((200, 3)))
    r = solve_ik_h36m17(X, sk)
    assert rot_err(r.local_rotmats, L).max() < 1e-4
    assert (r.twist_determined[:, [1, 4, 11, 14]] == 0).all()
    np.testing.assert_allclose(r.joints, X, atol=1e-9)


def test_hyperextension_in_the_blend_zone_is_negative_flexion_not_a_half_turn():
    sk = h36m17_skeleton()
    L = np.tile(np.eye(3), (1, 17, 1, 1))
    L[0, 2] = axis_angle_to_matrix(np.radians(-8.0) * np.array([1.0, 0, 0]))  # knee bent forwards
    X = forward_kinematics(L, sk, None, np.zeros((1, 3)))
    r = solve_ik_h36m17(X, sk)
    assert np.degrees(rot_err(r.local_rotmats[0, 1], np.eye(3))) < 1e-6  # no hip twist
    np.testing.assert_allclose(r.joints, X, atol=1e-9)


def test_float32_and_torch_twin_agree_with_float64():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    sk = h36m17_skeleton()
    X = forward_kinematics(random_pose(rng, 64), sk, None, rng.normal(size=(64, 3)))
    ref = solve_ik_h36m17(X, sk)
    r32 = solve_ik_h36m17(X.astype(np.float32), sk)
    assert r32.local_rotmats.dtype == np.float64
    rt = solve_ik_h36m17(torch.from_numpy(X), sk)
    np.testing.assert_allclose(rt.local_rotmats.numpy(), ref.local_rotmats, atol=1e-10)
    np.testing.assert_allclose(rt.joints.numpy(), ref.joints, atol=1e-10)
    rt32 = solve_ik_h36m17(torch.from_numpy(X).float(), sk)
    assert rt32.local_rotmats.dtype == torch.float32
    assert rot_err(rt32.local_rotmats.double().numpy(), ref.local_rotmats).max() < 1e-3


def test_non_finite_frames_give_nan_only_there_and_bad_shapes_raise():
    sk = h36m17_skeleton()
    X = np.repeat(sk.rest_joints()[None], 3, 0)
    X[1, 5] = np.nan
    r = solve_ik_h36m17(X, sk)
    assert np.isfinite(r.local_rotmats[[0, 2]]).all() and not np.isfinite(r.local_rotmats[1]).all()
    np.testing.assert_allclose(r.local_rotmats[0], np.tile(np.eye(3), (17, 1, 1)), atol=1e-12)
    with pytest.raises(ValueError):
        solve_ik_h36m17(np.zeros((2, 16, 3)))
    with pytest.raises(ValueError):
        solve_ik_h36m17(X, "nope")


def test_degenerate_targets_do_not_crash():
    """Antiparallel bones (arm folded back onto the clavicle), coincident joints: finite output."""
    sk = h36m17_skeleton()
    X = sk.rest_joints()[None].copy()
    X[0, 12] = X[0, 11] - (X[0, 12] - X[0, 11])   # upper arm pointing back into the torso
    X[0, 13] = X[0, 12]                            # zero-length forearm
    r = solve_ik_h36m17(X, sk)
    assert np.isfinite(r.local_rotmats).all()
    np.testing.assert_allclose(r.local_rotmats @ np.swapaxes(r.local_rotmats, -1, -2),
                               np.broadcast_to(np.eye(3), r.local_rotmats.shape), atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1, 1), min_size=6, max_size=6))
def test_swing_and_frame_are_rotations_that_do_their_job(v):
    a, b = np.array(v[:3]), np.array(v[3:])
    if np.linalg.norm(a) < 1e-3 or np.linalg.norm(b) < 1e-3:
        return
    R = swing(a, b)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-9)
    assert np.linalg.det(R) == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(R @ (a / np.linalg.norm(a)), b / np.linalg.norm(b), atol=1e-9)
    if np.linalg.norm(np.cross(a, b)) > 1e-3 * np.linalg.norm(a) * np.linalg.norm(b):
        F = frame(a, b)
        np.testing.assert_allclose(F @ F.T, np.eye(3), atol=1e-9)
        assert np.linalg.det(F) == pytest.approx(1.0, abs=1e-9)


def test_mpjae_of_ik_on_known_answers():
    """MPJAE (the metrics' function) on IK output: 0 for the same pose; a known 30° knee change
    averaged over the 16 non-root joints; invariant to the camera the pose is seen from (local rotations)."""
    rng = np.random.default_rng(3)
    sk = h36m17_skeleton()
    L = random_pose(rng, 20)
    X = forward_kinematics(L, sk, None, np.zeros((20, 3)))
    a = solve_ik_h36m17(X, sk)
    assert mpjae(a.local_rotmats, L).max() < 1e-6
    L2 = L.copy()
    L[:, 2] = axis_angle_to_matrix(np.radians(60.0) * np.array([1.0, 0, 0]))
    L2[:, 2] = axis_angle_to_matrix(np.radians(90.0) * np.array([1.0, 0, 0]))
    a = solve_ik_h36m17(forward_kinematics(L, sk, None, np.zeros((20, 3))), sk)
    b = solve_ik_h36m17(forward_kinematics(L2, sk, None, np.zeros((20, 3))), sk)
    # only the right knee changes: 30° on one of the 16 non-root joints
    np.testing.assert_allclose(mpjae(a.local_rotmats[:, 1:], b.local_rotmats[:, 1:]), np.radians(30.0) / 16,
                               atol=1e-6)
    R = axis_angle_to_matrix(np.array([0.3, -1.0, 0.2]))
    c = solve_ik_h36m17(forward_kinematics(L, sk, None, np.zeros((20, 3))) @ R.T, sk)
    assert mpjae(a.local_rotmats[:, 1:], c.local_rotmats[:, 1:]).max() < 1e-6


def test_h36m_poses_reproduced_where_the_skeleton_determines_them(h36m_dir):
    """Real mocap: the spine chain (pelvis, spine, thorax, neck, head) lands within 1 mm, and
    every limb keeps its shape within 1 mm relative to its hip or shoulder; only the attachment
    of the limbs to the rigid torso carries the residual (docs/KINEMATICS.md)."""
    with np.load(h36m_dir / "poses_3d_17j.npz") as d:
        seqs = [d[k][::40].astype(np.float64) for k in ("S9/Walking 1", "S11/SittingDown", "S9/Phoning 1")]
    for P in seqs:
        r = solve_ik_h36m17(P, "fit")
        err = np.linalg.norm(r.joints - P, axis=-1)
        assert err[:, [0, 7, 8, 9, 10]].max() < 1e-3
        for root, chain in ((1, (2, 3)), (4, (5, 6)), (11, (12, 13)), (14, (15, 16))):
            rel_pred = r.joints[:, list(chain)] - r.joints[:, [root]]
            rel_true = P[:, list(chain)] - P[:, [root]]
            assert np.linalg.norm(rel_pred - rel_true, axis=-1).max() < 1e-3
        # the attachment residual is real but bounded (hips: pelvis tilt, shoulders: shrug)
        assert np.median(err[:, [1, 4]]) < 0.03
        assert np.median(err[:, [11, 14]]) < 0.08


def test_fitted_skeleton_recovers_the_rest_of_skeleton_consistent_motion():
    rng = np.random.default_rng(4)
    sk = fit_h36m17_skeleton(forward_kinematics(random_pose(rng, 50), h36m17_skeleton(), None,
                                                np.zeros((50, 3))))
    np.testing.assert_allclose(sk.offsets, h36m17_skeleton().offsets, atol=1e-9)


def test_small_batch_scalar_path_matches_the_vectorised_path(monkeypatch):
    """Up to SCALAR_MAX_FRAMES numpy frames run on Python floats; both paths agree."""
    from perspose_rt.kinematics import ik_h36m

    rng = np.random.default_rng(11)
    sk = h36m17_skeleton()
    L = random_pose(rng, 40, min_flex_deg=0.0)  # includes straight and blend-zone limbs
    L[:5, 12] = np.eye(3)
    X = forward_kinematics(L, sk, None, rng.normal(size=(40, 3)))
    X[5, 13] = X[5, 12]          # zero-length forearm
    X[6, 2] = 2 * X[6, 1] - X[6, 2]  # thigh folded back
    X += 0.01 * rng.normal(size=X.shape)
    X[7, 4] = np.nan
    monkeypatch.setattr(ik_h36m, "SCALAR_MAX_FRAMES", 0)
    vec = solve_ik_h36m17(X, sk)
    monkeypatch.setattr(ik_h36m, "SCALAR_MAX_FRAMES", 10**9)
    sca = solve_ik_h36m17(X, sk)
    for name in ("local_rotmats", "root_orient", "root_transl", "joints", "twist_determined"):
        np.testing.assert_allclose(getattr(sca, name), getattr(vec, name), atol=1e-12, equal_nan=True,
                                   err_msg=name)
    np.testing.assert_allclose(sca.axis_angle, vec.axis_angle, atol=1e-10, equal_nan=True)
    assert np.isnan(sca.local_rotmats[7]).any() and np.isfinite(sca.local_rotmats[8]).all()


@pytest.mark.parametrize("twist_deg", [120.0, -150.0, 60.0])
def test_limb_twist_is_continuous_through_straight(twist_deg):
    """An arm twisted away from the prior, its elbow swept from −30° (hyperextended) through
    straight to +30°: the shoulder's twist fades in and out without jumps, positions exact."""
    sk = h36m17_skeleton()
    phi = np.radians(np.linspace(-30.0, 30.0, 241))
    L = np.tile(np.eye(3), (phi.size, 17, 1, 1))
    L[:, 11] = axis_angle_to_matrix(np.radians(twist_deg) * np.array([1.0, 0, 0]))  # about the upper arm
    L[:, 12] = axis_angle_to_matrix(phi[:, None] * np.asarray(H36M17_HINGE_AXES[12]))
    X = forward_kinematics(L, sk, None, np.zeros((phi.size, 3)))
    for r in (solve_ik_h36m17(X, sk), solve_ik_h36m17(torch_or_numpy(X), sk)):
        R = np.asarray(r.local_rotmats)
        step = np.degrees(rot_err(R[1:], R[:-1]))
        assert step[:, [11, 12]].max() < 8.0  # a fade over 15° of flexion; a jump would be ≥ 60°
        np.testing.assert_allclose(np.asarray(r.joints), X, atol=1e-9)
    bent = np.abs(phi) >= np.radians(20.5)
    assert rot_err(solve_ik_h36m17(X, sk).local_rotmats[bent & (phi > 0)], L[bent & (phi > 0)]).max() < 1e-6


def torch_or_numpy(X):
    try:
        import torch
    except ImportError:  # pragma: no cover
        return X
    return torch.from_numpy(X)


def test_fitted_skeleton_ignores_degenerate_torsos():
    sk = h36m17_skeleton()
    X = np.repeat(sk.rest_joints()[None], 5, 0)
    X[2, 4] = X[2, 1]  # hips on top of each other in one frame
    fitted = fit_h36m17_skeleton(X)
    assert np.isfinite(fitted.offsets).all()
    np.testing.assert_allclose(fitted.offsets, sk.offsets, atol=1e-9)
