"""From the network's 2.5D outputs to 3D (paper Eq. 5–6; design doc §1.5).

The network predicts, per joint, crop pixels ``uv_j``, the depth relative to the root
``d_j = Z_j − Z_0`` (``d_0 = 0``) and, once, ``ρ0 = d0 / f`` with ``f`` the mean crop focal
length. Then ``Z_j = f·ρ0 + d_j`` and ``(X_j, Y_j, Z_j) = Z_j · K_crop⁻¹ [u_j, v_j, 1]``.

For the crops of :func:`~perspose_rt.geometry.prepare_crop` (zero skew, ``fx = fy = f``) this is
exactly the official form ``density_j = d_j / f + ρ0``, ``(X_j, Y_j) = (uv_j − c) · density_j``;
using the full inverse keeps it exact for any upper-triangular ``K_crop`` (skew from the
original camera, unequal focal lengths) instead of silently approximating.
"""

from __future__ import annotations

from typing import Any

from perspose_rt.geometry._array import ops
from perspose_rt.geometry.camera_math import rays_from_pixels

Array = Any


def lift_uvd(uv: Array, depth: Array, rho0: Array, K_crop: Array) -> tuple[Array, Array]:
    """Lift crop pixels + root-relative depths + ρ0 to 3D in the PR-rotated camera.

    Args:
        uv: (..., J, 2) joints in crop pixels.
        depth: (..., J, 1) ``Z_j − Z_0`` in metres; joint 0 is the root and must have depth 0.
        rho0: (..., 1, 1) ``d0 / f`` (metres per crop pixel), ``d0`` the root's depth.
        K_crop: (..., 3, 3) crop intrinsics.

    Returns:
        xyz: (..., J, 3) root-relative joints ``[X_j − X_0, Y_j − Y_0, d_j]``, metres.
        xyz0: (..., 1, 3) the absolute root ``[X_0, Y_0, f·ρ0]``, metres.
    """
    xp = ops(uv, depth, rho0, K_crop)
    f = ((K_crop[..., 0, 0] + K_crop[..., 1, 1]) / 2.0)[..., None, None]
    z = f * rho0 + depth  # (..., J, 1) absolute depths
    xy = rays_from_pixels(uv, K_crop[..., None, :, :])[..., :2] * z
    xyz = xp.cat([xy - xy[..., 0:1, :], depth], -1)
    xyz0 = xp.cat([xy[..., 0:1, :], f * rho0], -1)
    return xyz, xyz0


def to_original_camera(points: Array, R: Array) -> Array:
    """Undo PR: ``X_orig = Rᵀ X_rot`` for every point (paper Eq. 6).

    Args:
        points: (..., N, 3) in the rotated camera frame.
        R: (..., 3, 3) the PR rotation (original → rotated) of :func:`prepare_crop`.

    Returns:
        (..., N, 3) in the original camera frame.
    """
    return points @ R
