"""Rotation helpers (numpy or torch, batched over leading dimensions).

Rotations are 3×3 matrices acting on column vectors (``y = R @ x``).
"""

from __future__ import annotations

from typing import Any

from perspose_rt.geometry._array import ops

Array = Any


def skew(v: Array) -> Array:
    """Cross-product matrix ``[v]×`` with ``skew(v) @ x == cross(v, x)``.

    Args:
        v: (..., 3).

    Returns:
        (..., 3, 3).
    """
    xp = ops(v)
    z = xp.zeros_like(v[..., 0])
    x, y, w = v[..., 0], v[..., 1], v[..., 2]
    return xp.stack(
        [xp.stack([z, -w, y], -1), xp.stack([w, z, -x], -1), xp.stack([-y, x, z], -1)], -2
    )


def rotation_between(a: Array, b: Array) -> Array:
    """The minimal rotation taking direction ``a`` onto direction ``b`` (Rodrigues).

    ``R = I + [v]× + [v]×² / (1 + c)`` with ``v = â × b̂`` and ``c = â · b̂``. This form has no
    trigonometry and no division by ``|v|``, so it is exact (``R = I``) when ``a ∥ b`` and stable
    for every pair of directions less than 180° apart. Antiparallel directions have no unique
    minimal rotation and raise ``ValueError``.

    Args:
        a: (..., 3) source direction (any non-zero length).
        b: (..., 3) target direction (any non-zero length).

    Returns:
        (..., 3, 3) rotation with ``R @ â == b̂``.
    """
    xp = ops(a, b)
    a = a / xp.norm(a, keepdims=True)
    b = b / xp.norm(b, keepdims=True)
    v = xp.cross(a, b)
    c = xp.sum(a * b, -1)
    if xp.any(c <= -1.0 + 1e-12):
        raise ValueError("rotation_between: antiparallel directions have no unique minimal rotation")
    vx = skew(v)
    eye = xp.eye(3, a)
    return eye + vx + (vx @ vx) / (1.0 + c)[..., None, None]


def axis_angle_to_matrix(rotvec: Array) -> Array:
    """Rodrigues' formula, stable at small angles (Taylor terms below 1e-4 rad).

    Args:
        rotvec: (..., 3) axis × angle in radians.

    Returns:
        (..., 3, 3).
    """
    xp = ops(rotvec)
    theta2 = xp.sum(rotvec * rotvec, -1)
    theta = xp.sqrt(theta2)
    small = theta < 1e-4
    safe = xp.where(small, xp.ones_like(theta), theta)

    if xp.name == "numpy":
        import numpy as np

        s, co = np.sin(safe), np.cos(safe)
    else:
        s, co = safe.sin(), safe.cos()
    a = xp.where(small, 1.0 - theta2 / 6.0, s / safe)
    b = xp.where(small, 0.5 - theta2 / 24.0, (1.0 - co) / (safe * safe))
    k = skew(rotvec)
    return xp.eye(3, rotvec) + a[..., None, None] * k + b[..., None, None] * (k @ k)


def matrix_to_quaternion(R: Array) -> Array:
    """Rotation matrix → unit quaternion ``(w, x, y, z)`` with ``w ≥ 0`` (Shepperd's method).

    Picks, per matrix, the best-conditioned of the four candidate formulas, so it is accurate
    for every angle including 180°.

    Args:
        R: (..., 3, 3).

    Returns:
        (..., 4).
    """
    xp = ops(R)
    m00, m11, m22 = R[..., 0, 0], R[..., 1, 1], R[..., 2, 2]
    tr = m00 + m11 + m22
    cands = [
        xp.stack([1 + tr, R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]], -1),
        xp.stack([R[..., 2, 1] - R[..., 1, 2], 1 + m00 - m11 - m22, R[..., 0, 1] + R[..., 1, 0], R[..., 0, 2] + R[..., 2, 0]], -1),
        xp.stack([R[..., 0, 2] - R[..., 2, 0], R[..., 0, 1] + R[..., 1, 0], 1 - m00 + m11 - m22, R[..., 1, 2] + R[..., 2, 1]], -1),
        xp.stack([R[..., 1, 0] - R[..., 0, 1], R[..., 0, 2] + R[..., 2, 0], R[..., 1, 2] + R[..., 2, 1], 1 - m00 - m11 + m22], -1),
    ]
    diag = xp.stack([tr, m00, m11, m22], -1)
    best = diag == xp.amax(diag, -1)[..., None]
    q = cands[3]
    for i in (2, 1, 0):  # the first maximal candidate wins
        q = xp.where(best[..., i : i + 1], cands[i], q)
    q = q / xp.norm(q, keepdims=True)
    return xp.where(q[..., 0:1] < 0, -q, q)


def matrix_to_axis_angle(R: Array) -> Array:
    """Rotation matrix → axis × angle (radians, angle in [0, π]), accurate near 0 and π.

    Args:
        R: (..., 3, 3).

    Returns:
        (..., 3).
    """
    xp = ops(R)
    q = matrix_to_quaternion(R)
    w, v = q[..., 0], q[..., 1:]
    s = xp.norm(v)
    if xp.name == "numpy":
        import numpy as np

        angle = 2.0 * np.arctan2(s, w)
    else:
        angle = 2.0 * xp.t.atan2(s, w)
    small = s < 1e-8
    scale = xp.where(small, 2.0 / xp.maximum(w, 1e-12), angle / xp.where(small, xp.ones_like(s), s))
    return v * scale[..., None]


def rotation_angle(R: Array) -> Array:
    """Angle (radians, [0, π]) of each rotation, accurate near 0 (via the quaternion)."""
    xp = ops(R)
    return xp.norm(matrix_to_axis_angle(R))


def rot6d_to_matrix(x: Array, eps: float = 1e-6) -> Array:
    """The official PersPose 6D → rotation mapping (design doc §1.4).

    Each 6-vector is read as a 3×2 matrix in row-major order, so its columns are
    ``a1 = x[..., [0, 2, 4]]`` and ``a2 = x[..., [1, 3, 5]]``. Gram–Schmidt gives
    ``b1 = a1/|a1|``, ``b2 = normalise(a2 − (b1·a2) b1)``, ``b3 = b1 × b2``; ``R = [b1 b2 b3]`` as
    **columns**. Norms are clamped below at ``eps`` as ``F.normalize`` does.

    Args:
        x: (..., 6).

    Returns:
        (..., 3, 3).
    """
    xp = ops(x)
    a1 = xp.stack([x[..., 0], x[..., 2], x[..., 4]], -1)
    a2 = xp.stack([x[..., 1], x[..., 3], x[..., 5]], -1)
    b1 = a1 / xp.maximum(xp.norm(a1, keepdims=True), eps)
    u = a2 - xp.sum(b1 * a2, -1, keepdims=True) * b1
    b2 = u / xp.maximum(xp.norm(u, keepdims=True), eps)
    b3 = xp.cross(b1, b2)
    return xp.stack([b1, b2, b3], -1)
