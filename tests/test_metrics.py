"""Metrics against hand-computed answers and an independent optimiser."""

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.spatial.transform import Rotation

from perspose_rt.metrics import (
    AUC_THRESHOLDS,
    H36M14_FROM_17,
    H36M17_PARENTS,
    SMPL24_PARENTS,
    acceleration_error,
    auc,
    mpjae,
    mpjpe,
    pa_mpjpe,
    pck,
    procrustes_align,
    pve,
)


def test_mpjpe_known_answer():
    gt = np.zeros((2, 4, 3))
    pred = gt + np.array([3.0, 4.0, 0.0])  # every joint 5 away
    pred[1, 0] = [0, 0, 1]  # sample 1: joints at 1, 5, 5, 5
    np.testing.assert_allclose(mpjpe(pred, gt), [5.0, 4.0])
    assert pve(pred, gt).shape == (2,)


def test_pa_mpjpe_removes_similarity_exactly():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(6, 17, 3))
    R = Rotation.random(6, random_state=0).as_matrix()
    pred = 0.37 * gt @ R.swapaxes(-1, -2) + rng.normal(size=(6, 1, 3))
    np.testing.assert_allclose(pa_mpjpe(pred, gt), 0, atol=1e-12)
    np.testing.assert_allclose(procrustes_align(pred, gt), gt, atol=1e-12)


def test_pa_mpjpe_never_uses_a_reflection():
    tetra = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1.0]])  # chiral
    mirrored = tetra * np.array([-1.0, 1, 1])
    assert pa_mpjpe(mirrored, tetra) > 0.05  # an orthogonal (reflecting) fit would give 0


def test_pa_mpjpe_matches_a_brute_force_optimum():
    rng = np.random.default_rng(4)
    gt = rng.normal(size=(8, 3))
    pred = gt @ Rotation.random(random_state=2).as_matrix().T * 1.3 + rng.normal(scale=0.2, size=(8, 3))

    def cost(p):  # squared error, which Procrustes minimises
        aligned = np.exp(p[0]) * pred @ Rotation.from_rotvec(p[1:4]).as_matrix().T + p[4:]
        return ((aligned - gt) ** 2).sum()

    best = min((minimize(cost, np.r_[0, r, 0, 0, 0], method="BFGS") for r in np.eye(3) * 2), key=lambda r: r.fun)
    p = best.x
    aligned = np.exp(p[0]) * pred @ Rotation.from_rotvec(p[1:4]).as_matrix().T + p[4:]
    np.testing.assert_allclose(procrustes_align(pred, gt), aligned, atol=1e-4)


def test_pa_mpjpe_raises_on_degenerate_input():
    with pytest.raises(ValueError, match="no scale"):
        pa_mpjpe(np.zeros((5, 3)), np.random.default_rng(0).normal(size=(5, 3)))


def test_pck_and_auc_known_answers():
    gt = np.zeros((4, 3))
    pred = np.array([[0.1, 0, 0], [0.2, 0, 0], [0.149, 0, 0], [0.15, 0, 0]])
    assert pck(pred, gt) == pytest.approx(0.5)  # strictly closer than 150 mm: 0.1 and 0.149
    assert len(AUC_THRESHOLDS) == 31 and AUC_THRESHOLDS[1] == pytest.approx(0.005)
    same = np.full((3, 3), 0.0725 / np.sqrt(3))
    # error 72.5 mm is below the 16 thresholds 75…150 mm of 31
    assert auc(same, np.zeros((3, 3))) == pytest.approx(16 / 31)


def test_acceleration_error_known_answer():
    t = np.arange(10.0)[:, None, None]
    gt = np.concatenate([t * [1.0, 0, 0], t * [0, 2.0, 0]], 1)  # constant velocity: no acceleration
    pred = gt.copy()
    pred[5, 1, 2] += 0.3  # a bump on one of two joints
    err = acceleration_error(pred, gt)
    expect = np.zeros(8)
    expect[[3, 4, 5]] = [0.3 / 2, 0.6 / 2, 0.3 / 2]  # frames 4, 5, 6 → interior indices 3, 4, 5
    np.testing.assert_allclose(err, expect, atol=1e-12)


def test_mpjae_known_answer():
    Rz90 = Rotation.from_euler("z", 90, degrees=True).as_matrix()
    eye = np.eye(3)
    rp = np.stack([eye, eye, Rz90, eye])
    rg = np.stack([eye, eye, eye, Rotation.from_euler("x", 1e-5).as_matrix()])
    assert mpjae(rp, rg) == pytest.approx((np.pi / 2 + 1e-5) / 4, rel=1e-9)
    assert mpjae((Rz90 @ Rz90)[None], eye[None]) == pytest.approx(np.pi)


def test_joint_sets_are_trees_and_subset_is_standard():
    for parents in (H36M17_PARENTS, SMPL24_PARENTS):
        assert parents[0] == -1 and all(p < i for i, p in enumerate(parents) if i)
    assert H36M14_FROM_17 == (6, 5, 4, 1, 2, 3, 16, 15, 14, 11, 12, 13, 8, 10)


def test_every_metric_gives_the_same_answer_in_torch():
    """One formula for numpy and torch: same values, tensors out, and mpjpe is differentiable."""
    import torch

    rng = np.random.default_rng(11)
    gt = rng.normal(size=(5, 17, 3))
    pred = gt + rng.normal(scale=0.08, size=gt.shape)
    R = Rotation.random(10, random_state=3).as_matrix().reshape(5, 2, 3, 3)
    R2 = Rotation.random(10, random_state=4).as_matrix().reshape(5, 2, 3, 3)
    for fn, a, b in ((mpjpe, pred, gt), (pa_mpjpe, pred, gt), (pck, pred, gt), (auc, pred, gt),
                     (procrustes_align, pred, gt), (acceleration_error, pred, gt), (mpjae, R, R2)):
        want = fn(a, b)
        got = fn(torch.from_numpy(a), torch.from_numpy(b))
        assert isinstance(got, torch.Tensor) and got.dtype == torch.float64, fn.__name__
        np.testing.assert_allclose(got.numpy(), want, atol=1e-10, err_msg=fn.__name__)
    p = torch.from_numpy(pred).requires_grad_()
    mpjpe(p, torch.from_numpy(gt)).mean().backward()
    assert p.grad is not None and torch.isfinite(p.grad).all()
    # known answer in float32 as well: every joint 5 away
    g32 = torch.zeros(2, 4, 3)
    assert torch.allclose(mpjpe(g32 + torch.tensor([3.0, 4.0, 0.0]), g32), torch.full((2,), 5.0))
