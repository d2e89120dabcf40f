"""Pose metrics as small functions (numpy), in the style of VideoPose3D's ``loss.py``.

All positions are in one unit (metres in this product) and results come back in that unit;
multiply by 1000 for the millimetres of published tables. Every function is batched over leading
dimensions and returns one value per sample (reduce with ``.mean()``). Degenerate inputs raise;
nothing is ever silently replaced by a made-up value.
"""

from __future__ import annotations

import numpy as np


def _check(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape or pred.shape[-1] != 3:
        raise ValueError(f"expected matching (..., J, 3) arrays, got {pred.shape} and {gt.shape}")
    return pred, gt


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Mean per-joint position error (protocol #1): mean Euclidean distance.

    Args:
        pred, gt: (..., J, 3), already aligned as the protocol requires (e.g. root-centred).

    Returns:
        (...,) mean over joints.
    """
    pred, gt = _check(pred, gt)
    return np.linalg.norm(pred - gt, axis=-1).mean(-1)


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
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
        numpy.linalg.LinAlgError: when the SVD does not converge.
    """
    pred, gt = _check(pred, gt)
    mu_p = pred.mean(-2, keepdims=True)
    mu_g = gt.mean(-2, keepdims=True)
    p0, g0 = pred - mu_p, gt - mu_g
    norm_p = np.sqrt((p0**2).sum((-2, -1), keepdims=True))
    norm_g = np.sqrt((g0**2).sum((-2, -1), keepdims=True))
    if np.any(norm_p < 1e-12) or np.any(norm_g < 1e-12):
        raise ValueError("procrustes_align: a pose with all joints at one point has no scale")
    p0, g0 = p0 / norm_p, g0 / norm_g
    M = g0.swapaxes(-1, -2) @ p0  # (..., 3, 3) cross-covariance gtᵀ·pred
    U, s, Vt = np.linalg.svd(M)
    d = np.sign(np.linalg.det(U @ Vt))
    D = np.ones_like(s)
    D[..., -1] = d
    R = (U * D[..., None, :]) @ Vt  # rotation with g0 ≈ scale · p0 Rᵀ
    scale = (s * D).sum(-1)[..., None, None] * norm_g / norm_p
    return scale * (pred - mu_p) @ R.swapaxes(-1, -2) + mu_g


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """MPJPE after similarity Procrustes alignment (protocol #2), per sample."""
    return mpjpe(procrustes_align(pred, gt), gt)


def pck(pred: np.ndarray, gt: np.ndarray, threshold: float = 0.15) -> np.ndarray:
    """Percentage of correct keypoints: fraction of joints closer than ``threshold`` (0.15 m).

    Returns:
        (...,) in [0, 1].
    """
    pred, gt = _check(pred, gt)
    return (np.linalg.norm(pred - gt, axis=-1) < threshold).mean(-1)


#: AUC thresholds: 0 to 150 mm in 5 mm steps (31 values), as used for MPI-INF-3DHP.
AUC_THRESHOLDS = np.linspace(0.0, 0.15, 31)


def auc(pred: np.ndarray, gt: np.ndarray, thresholds: np.ndarray = AUC_THRESHOLDS) -> np.ndarray:
    """Area under the PCK curve: the mean PCK over ``thresholds`` (0–150 mm, 5 mm steps)."""
    pred, gt = _check(pred, gt)
    err = np.linalg.norm(pred - gt, axis=-1)[..., None]  # (..., J, 1)
    return (err < np.asarray(thresholds)).mean(-2).mean(-1)


def pve(pred_vertices: np.ndarray, gt_vertices: np.ndarray) -> np.ndarray:
    """Per-vertex error: mean vertex distance (align, e.g. pelvis-centre, before calling).

    Args:
        pred_vertices, gt_vertices: (..., V, 3).
    """
    return mpjpe(pred_vertices, gt_vertices)


def acceleration_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Mean per-joint difference of second finite differences over time.

    ``a_t = x_{t+1} − 2 x_t + x_{t−1}`` (unit per frame²; multiply by fps² for per second²).

    Args:
        pred, gt: (T, J, 3) sequences, T ≥ 3.

    Returns:
        (T − 2,) one value per interior frame.
    """
    pred, gt = _check(pred, gt)
    if pred.ndim != 3 or pred.shape[0] < 3:
        raise ValueError(f"acceleration_error needs (T >= 3, J, 3) sequences, got {pred.shape}")
    acc_p = pred[2:] - 2 * pred[1:-1] + pred[:-2]
    acc_g = gt[2:] - 2 * gt[1:-1] + gt[:-2]
    return np.linalg.norm(acc_p - acc_g, axis=-1).mean(-1)


def mpjae(rot_pred: np.ndarray, rot_gt: np.ndarray) -> np.ndarray:
    """Mean per-joint angle error: geodesic angle of ``R_predᵀ R_gt``, in radians.

    Uses ``atan2(|sin|, cos)`` of the relative rotation, accurate at small and large angles.

    Args:
        rot_pred, rot_gt: (..., J, 3, 3) rotation matrices.

    Returns:
        (...,) mean over joints, radians in [0, π].
    """
    rp = np.asarray(rot_pred, dtype=np.float64)
    rg = np.asarray(rot_gt, dtype=np.float64)
    if rp.shape != rg.shape or rp.shape[-2:] != (3, 3):
        raise ValueError(f"expected matching (..., J, 3, 3) arrays, got {rp.shape} and {rg.shape}")
    rel = rp.swapaxes(-1, -2) @ rg
    cos = (np.trace(rel, axis1=-2, axis2=-1) - 1.0) / 2.0
    skew = np.stack([rel[..., 2, 1] - rel[..., 1, 2], rel[..., 0, 2] - rel[..., 2, 0],
                     rel[..., 1, 0] - rel[..., 0, 1]], -1)
    sin = np.linalg.norm(skew, axis=-1) / 2.0
    return np.arctan2(sin, cos).mean(-1)
