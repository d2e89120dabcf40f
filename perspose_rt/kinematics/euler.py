"""Tait–Bryan Euler angles as BVH writes them (numpy, batched).

A BVH joint with channels ``Zrotation Yrotation Xrotation`` has the local rotation
``R = Rz(z) · Ry(y) · Rx(x)`` (the channels are applied in the listed order, intrinsically).
``order`` below is that list of axis letters, e.g. ``"ZYX"``.
"""

from __future__ import annotations

import numpy as np

_AXIS = {"X": 0, "Y": 1, "Z": 2}


def _parity(order: str) -> float:
    i, j, k = (_AXIS[c] for c in order)
    if len({i, j, k}) != 3:
        raise ValueError(f"Tait–Bryan order needs three different axes, got {order!r}")
    return 1.0 if (j - i) % 3 == 1 else -1.0


def axis_rotation(axis: str, angle: np.ndarray) -> np.ndarray:
    """(...,) radians → (..., 3, 3) rotation about the canonical axis ``"X"``, ``"Y"`` or ``"Z"``."""
    a = np.asarray(angle, dtype=np.float64)
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    if axis == "X":
        rows = [[o, z, z], [z, c, -s], [z, s, c]]
    elif axis == "Y":
        rows = [[c, z, s], [z, o, z], [-s, z, c]]
    elif axis == "Z":
        rows = [[c, -s, z], [s, c, z], [z, z, o]]
    else:
        raise ValueError(f"axis must be X, Y or Z, got {axis!r}")
    return np.stack([np.stack(r, -1) for r in rows], -2)


def euler_to_matrix(angles: np.ndarray, order: str) -> np.ndarray:
    """(..., 3) angles in radians, listed in ``order`` → (..., 3, 3) ``R_a · R_b · R_c``."""
    a = np.asarray(angles, dtype=np.float64)
    _parity(order)
    return (axis_rotation(order[0], a[..., 0]) @ axis_rotation(order[1], a[..., 1])
            @ axis_rotation(order[2], a[..., 2]))


def matrix_to_euler(R: np.ndarray, order: str) -> np.ndarray:
    """(..., 3, 3) rotations → (..., 3) angles in radians with ``euler_to_matrix(·) == R``.

    The middle angle lies in [-π/2, π/2]. At gimbal lock (middle angle ±90°) the last angle is
    set to 0 and the first one carries the whole rotation about the shared axis.
    """
    R = np.asarray(R, dtype=np.float64)
    i, j, k = (_AXIS[c] for c in order)
    s = _parity(order)
    beta = np.arctan2(s * R[..., i, k], np.hypot(R[..., i, i], R[..., i, j]))
    alpha = np.arctan2(-s * R[..., j, k], R[..., k, k])
    gamma = np.arctan2(-s * R[..., i, j], R[..., i, i])
    lock = np.hypot(R[..., i, i], R[..., i, j]) < 1e-9
    if np.any(lock):
        alpha = np.where(lock, np.arctan2(s * R[..., k, j], R[..., j, j]), alpha)
        gamma = np.where(lock, 0.0, gamma)
    return np.stack([alpha, beta, gamma], -1)


def continuous_euler(R: np.ndarray, order: str) -> np.ndarray:
    """Euler angles of a sequence, (N, ..., 3, 3) → (N, ..., 3) radians, free of 2π and
    equivalent-solution jumps between frames.

    Each rotation has two Tait–Bryan solutions, ``(α, β, γ)`` and ``(α+π, π−β, γ+π)``; per frame
    the one closer to the previous frame's angles is kept, then every angle is unwrapped. The
    angles still give exactly ``R`` (they differ from :func:`matrix_to_euler` by multiples of 2π
    or by the equivalent solution), so interpolating tools do not spin joints between frames.
    """
    e1 = matrix_to_euler(R, order)
    e2 = np.stack([e1[..., 0] + np.pi, np.pi - e1[..., 1], e1[..., 2] + np.pi], -1)
    out = e1.copy()
    for t in range(1, e1.shape[0]):
        prev = out[t - 1]
        d1 = _wrapped_distance(e1[t], prev)
        d2 = _wrapped_distance(e2[t], prev)
        out[t] = np.where((d2 < d1)[..., None], e2[t], e1[t])
    return np.unwrap(out, axis=0)


def _wrapped_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = np.angle(np.exp(1j * (a - b)))
    return np.abs(d).sum(-1)
