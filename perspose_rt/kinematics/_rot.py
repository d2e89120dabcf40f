"""Closed-form 3×3 building blocks of the IK (numpy or torch, batched over leading dims).

No SVD, no iteration: every rotation is either a minimal rotation between two directions
("swing") or the rotation between two orthonormal frames built from a bone and a hint vector.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from perspose_rt.geometry._array import ops

Array = Any
# [v]× = v @ _SKEW.reshape(3, 9), reshaped to (3, 3): one matmul instead of nine stacks.
_SKEW = np.zeros((3, 3, 3))
_SKEW[0, 2, 1], _SKEW[0, 1, 2] = 1.0, -1.0
_SKEW[1, 0, 2], _SKEW[1, 2, 0] = 1.0, -1.0
_SKEW[2, 1, 0], _SKEW[2, 0, 1] = 1.0, -1.0
_SKEW9 = _SKEW.reshape(3, 9)
_I1, _I2 = [1, 2, 0], [2, 0, 1]


def cross(a: Array, b: Array) -> Array:
    """(..., 3) × (..., 3) (broadcasting); cheaper than ``np.cross`` on small batches."""
    return a[..., _I1] * b[..., _I2] - a[..., _I2] * b[..., _I1]


def dot(a: Array, b: Array) -> Array:
    """(..., 3) · (..., 3) → (...,)."""
    return (a * b).sum(-1)


def norm(v: Array) -> Array:
    """(..., 3) → (...,) Euclidean length."""
    return (v * v).sum(-1) ** 0.5


def skew_fast(v: Array) -> Array:
    """``[v]×`` (..., 3, 3) with ``[v]× x = v × x``."""
    xp = ops(v)
    return (v @ xp.asarray(_SKEW9, like=v)).reshape(tuple(v.shape[:-1]) + (3, 3))


def normalize(v: Array) -> Array:
    """(..., 3) → unit vectors (zero vectors stay zero; 1e-30 is below float32/64 resolution
    of any length that matters here)."""
    return v / ((v * v).sum(-1) ** 0.5 + 1e-30)[..., None]


def swing(a: Array, b: Array) -> Array:
    """Minimal rotation taking direction ``a`` onto ``b`` (..., 3) → (..., 3, 3).

    ``R = c·I + [v]× + k·v vᵀ`` with ``v = â × b̂``, ``c = â · b̂`` and ``k = 1/(1 + c)`` for
    ``c ≥ 0`` or the equal ``(1 − c)/|v|²`` for ``c < 0``, which stays accurate up to 180°
    (no trigonometry). For exactly antiparallel directions, where the minimal rotation is not
    unique, a half turn about an axis perpendicular to ``a`` (the canonical axis least aligned
    with ``a``, made perpendicular). Unlike :func:`perspose_rt.geometry.rotation_between` it never
    raises: IK targets can point anywhere.
    """
    xp = ops(a, b)
    a = normalize(a)
    b = normalize(b)
    v = cross(a, b)
    c = dot(a, b)
    v2 = dot(v, v)
    anti = (c < 0) & (v2 < 1e-30)
    k = xp.where(c >= 0, 1.0 / xp.maximum(1.0 + c, 1e-30), (1.0 - c) / xp.maximum(v2, 1e-30))
    eye = xp.eye(3, a)
    rod = c[..., None, None] * eye + skew_fast(v) + k[..., None, None] * (v[..., :, None] * v[..., None, :])
    if xp.name == "numpy" and not xp.any(anti):  # torch: branch-free, so it traces and exports
        return rod
    ex = xp.zeros_like(a)
    ex[..., 0] = 1.0
    ey = xp.zeros_like(a)
    ey[..., 1] = 1.0
    e = xp.where((xp.abs(a[..., 0]) < 0.9)[..., None], ex, ey)
    u = normalize(e - dot(e, a)[..., None] * a)
    half_turn = 2.0 * u[..., :, None] * u[..., None, :] - eye
    return xp.where(anti[..., None, None], half_turn, rod)


def frame(a: Array, h: Array) -> Array:
    """Orthonormal frame ``[â, ĥ⊥, â × ĥ⊥]`` (as columns) of a direction and a hint.

    Args:
        a: (..., 3) primary direction.
        h: (..., 3) hint, made perpendicular to ``a`` (Gram–Schmidt); must not be parallel to it.

    Returns:
        (..., 3, 3) rotation matrix.
    """
    xp = ops(a, h)
    a = normalize(a)
    hp = normalize(h - dot(h, a)[..., None] * a)
    return xp.stack([a, hp, cross(a, hp)], -1)


def rotate(R: Array, v: Array) -> Array:
    """``R @ v`` for (..., 3, 3) and (..., 3)."""
    return (R @ v[..., None])[..., 0]


def transpose(R: Array) -> Array:
    return R.swapaxes(-1, -2) if ops(R).name == "numpy" else R.transpose(-1, -2)
