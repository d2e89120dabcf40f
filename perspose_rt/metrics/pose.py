"""Pose metrics as small functions in the style of VideoPose3D's ``loss.py``, for numpy and torch.

Each formula is written once over the array shim of :mod:`perspose_rt.geometry._array` (as the
geometry is): numpy arrays in give numpy out (computed in float64), torch tensors in give tensors
out in their own dtype and device, differentiable where the formula is (the trainers use
:func:`mpjpe` as a loss).

All positions are in one unit (metres in this product) and results come back in that unit;
multiply by 1000 for the millimetres of published tables. Every function is batched over leading
dimensions and returns one value per sample (reduce with ``.mean()``). Degenerate inputs raise;
nothing is ever silently replaced by a made-up value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from perspose_rt.geometry._array import is_torch, ops

Array = Any


def _check(pred: Array, gt: Array, what: str = "(..., J, 3)") -> tuple[Array, Array]:
    if not (is_torch(pred) or is_torch(gt)):
        pred = np.asarray(pred, dtype=np.float64)
        gt = np.asarray(gt, dtype=np.float64)
    if tuple(pred.shape) != tuple(gt.shape) or pred.shape[-1] != 3:
        raise ValueError(f"expected matching {what} arrays, got {tuple(pred.shape)} and {tuple(gt.shape)}")
    return pred, gt


def mpjpe(pred: Array, gt: Array) -> Array:
    """Mean per-joint position error (protocol #1): mean Euclidean distance.

    Args:
        pred, gt: (..., J, 3), already aligned as the protocol requires (e.g. root-centred).

    Returns:
        (...,) mean over joints.
    """
    pred, gt = _check(pred, gt)
    xp = ops(pred, gt)
    return xp.mean(xp.norm(pred - gt, -1), -1)


def procrustes_align(pred: Array, gt: Array) -> Array:
    """Similarity-align ``pred`` to ``gt`` (scale, rotation, translation; reflection excluded).

    The least-squares solution via the SVD of the 3×3 cross-covariance; when the best orthogonal
    map is a reflection, the singular vector of the smallest singular value is flipped so the
    result is a proper rotation (Umeyama 1991).

    Args:
        pred, gt: (..., J, 3).

    Returns:
        (..., J, 3) the aligned prediction.

    Raises:
        ValueError: when a prediction or target has all joints at one point (no scale exists).
        numpy.linalg.LinAlgError / torch.linalg.LinAlgError: when the SVD does not converge.
    """
    pred, gt = _check(pred, gt)
    xp = ops(pred, gt)
    mu_p = xp.mean(pred, -2, keepdims=True)
    mu_g = xp.mean(gt, -2, keepdims=True)
    p0, g0 = pred - mu_p, gt - mu_g
    norm_p = xp.sqrt(xp.sum(xp.sum(p0**2, -1, keepdims=True), -2, keepdims=True))
    norm_g = xp.sqrt(xp.sum(xp.sum(g0**2, -1, keepdims=True), -2, keepdims=True))
    if xp.any(norm_p < 1e-12) or xp.any(norm_g < 1e-12):
        raise ValueError("procrustes_align: a pose with all joints at one point has no scale")
    p0, g0 = p0 / norm_p, g0 / norm_g
    M = xp.swap_last(g0) @ p0  # (..., 3, 3) cross-covariance gtᵀ·pred
    U, s, Vt = xp.svd(M)
    d = xp.sign(xp.det(U @ Vt))
    one = xp.ones_like(d)
    D = xp.stack([one, one, d], -1)  # (..., 3)
    R = (U * D[..., None, :]) @ Vt  # rotation with g0 ≈ scale · p0 Rᵀ
    scale = xp.sum(s * D, -1)[..., None, None] * norm_g / norm_p
    return scale * (pred - mu_p) @ xp.swap_last(R) + mu_g


def pa_mpjpe(pred: Array, gt: Array) -> Array:
    """MPJPE after similarity Procrustes alignment (protocol #2), per sample."""
    return mpjpe(procrustes_align(pred, gt), gt)


def pck(pred: Array, gt: Array, threshold: float = 0.15) -> Array:
    """Percentage of correct keypoints: fraction of joints closer than ``threshold`` (0.15 m).

    Returns:
        (...,) in [0, 1].
    """
    pred, gt = _check(pred, gt)
    xp = ops(pred, gt)
    err = xp.norm(pred - gt, -1)
    return xp.mean(xp.as_float(err < threshold, err), -1)


#: AUC thresholds: 0 to 150 mm in 5 mm steps (31 values), as used for MPI-INF-3DHP.
AUC_THRESHOLDS = np.linspace(0.0, 0.15, 31)


def auc(pred: Array, gt: Array, thresholds: Array = AUC_THRESHOLDS) -> Array:
    """Area under the PCK curve: the mean PCK over ``thresholds`` (0–150 mm, 5 mm steps)."""
    pred, gt = _check(pred, gt)
    xp = ops(pred, gt)
    err = xp.norm(pred - gt, -1)[..., None]  # (..., J, 1)
    th = xp.as_float(np.asarray(thresholds, dtype=np.float64), err)
    return xp.mean(xp.mean(xp.as_float(err < th, err), -2), -1)


def pve(pred_vertices: Array, gt_vertices: Array) -> Array:
    """Per-vertex error: mean vertex distance (align, e.g. pelvis-centre, before calling).

    Args:
        pred_vertices, gt_vertices: (..., V, 3).
    """
    return mpjpe(pred_vertices, gt_vertices)


def acceleration_error(pred: Array, gt: Array) -> Array:
    """Mean per-joint difference of second finite differences over time.

    ``a_t = x_{t+1} − 2 x_t + x_{t−1}`` (unit per frame²; multiply by fps² for per second²).

    Args:
        pred, gt: (T, J, 3) sequences, T ≥ 3.

    Returns:
        (T − 2,) one value per interior frame.
    """
    pred, gt = _check(pred, gt)
    if pred.ndim != 3 or pred.shape[0] < 3:
        raise ValueError(f"acceleration_error needs (T >= 3, J, 3) sequences, got {tuple(pred.shape)}")
    xp = ops(pred, gt)
    acc_p = pred[2:] - 2 * pred[1:-1] + pred[:-2]
    acc_g = gt[2:] - 2 * gt[1:-1] + gt[:-2]
    return xp.mean(xp.norm(acc_p - acc_g, -1), -1)


def mpjae(rot_pred: Array, rot_gt: Array) -> Array:
    """Mean per-joint angle error: geodesic angle of ``R_predᵀ R_gt``, in radians.

    Uses ``atan2(|sin|, cos)`` of the relative rotation, accurate at small and large angles.

    Args:
        rot_pred, rot_gt: (..., J, 3, 3) rotation matrices.

    Returns:
        (...,) mean over joints, radians in [0, π].
    """
    if not (is_torch(rot_pred) or is_torch(rot_gt)):
        rot_pred = np.asarray(rot_pred, dtype=np.float64)
        rot_gt = np.asarray(rot_gt, dtype=np.float64)
    if tuple(rot_pred.shape) != tuple(rot_gt.shape) or tuple(rot_pred.shape[-2:]) != (3, 3):
        raise ValueError(f"expected matching (..., J, 3, 3) arrays, got {tuple(rot_pred.shape)} "
                         f"and {tuple(rot_gt.shape)}")
    xp = ops(rot_pred, rot_gt)
    rel = xp.swap_last(rot_pred) @ rot_gt
    cos = (xp.trace(rel) - 1.0) / 2.0
    skew = xp.stack([rel[..., 2, 1] - rel[..., 1, 2], rel[..., 0, 2] - rel[..., 2, 0],
                     rel[..., 1, 0] - rel[..., 0, 1]], -1)
    sin = xp.norm(skew, -1) / 2.0
    return xp.mean(xp.arctan2(sin, cos), -1)
