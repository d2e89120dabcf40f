"""Pinhole projection and back-projection (numpy or torch, batched).

``K`` is an upper-triangular intrinsic matrix ``[[fx, s, cx], [0, fy, cy], [0, 0, 1]]``. Lens
distortion is the camera module's business (``CameraModel.undistort_points``): these functions
take undistorted pixels.
"""

from __future__ import annotations

from typing import Any

from perspose_rt.geometry._array import ops

Array = Any


def in_frame(uv: Array, width: Array | float, height: Array | float) -> Array:
    """Whether each point lies inside a ``width × height`` image (pixel centres at integer
    coordinates: ``0 ≤ u ≤ width − 1``, ``0 ≤ v ≤ height − 1``).

    Args:
        uv: (..., 2) pixels (numpy or torch).
        width, height: numbers, or arrays broadcastable against ``uv[..., 0]``.

    Returns:
        (...) bool, the array kind of ``uv``.
    """
    u, v = uv[..., 0], uv[..., 1]
    return (u >= 0) & (u <= width - 1) & (v >= 0) & (v <= height - 1)


def rays_from_pixels(uv: Array, K: Array) -> Array:
    """``K⁻¹ [u, v, 1]ᵀ``: the ray of each pixel on the plane z = 1 (not unit length).

    Closed form for the upper-triangular K (exportable to ONNX, exact for skew ≠ 0).

    Args:
        uv: (..., 2) pixels.
        K: (..., 3, 3), broadcastable against ``uv[..., None, :]``.

    Returns:
        (..., 3) with last component 1.
    """
    xp = ops(uv, K)
    fx, s, cx = K[..., 0, 0], K[..., 0, 1], K[..., 0, 2]
    fy, cy = K[..., 1, 1], K[..., 1, 2]
    y = (uv[..., 1] - cy) / fy
    x = (uv[..., 0] - cx - s * y) / fx
    return xp.stack([x, y, xp.ones_like(x)], -1)


def project_points(X: Array, K: Array) -> Array:
    """Pinhole projection ``K X`` followed by the perspective division.

    Args:
        X: (..., 3) points in the camera frame (z > 0).
        K: (..., 3, 3), broadcastable against ``X[..., None, :]``.

    Returns:
        (..., 2) pixels.
    """
    p = (K @ X[..., None])[..., 0]
    return p[..., :2] / p[..., 2:3]


def apply_homography(H: Array, uv: Array) -> Array:
    """Map pixels through a 3×3 homography.

    Args:
        H: (..., 3, 3).
        uv: (..., N, 2).

    Returns:
        (..., N, 2).
    """
    xp = ops(H, uv)
    ones = xp.ones_like(uv[..., :1])
    p = xp.cat([uv, ones], -1) @ H.swapaxes(-1, -2)
    return p[..., :2] / p[..., 2:3]
