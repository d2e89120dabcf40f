"""Perspective Encoding (PE, paper Eq. 7–9; design doc §1.3).

The map holds ``K_crop⁻¹ [u, v, 1]ᵀ`` (its x and y) at the centres of the 64×64 feature grid of
the 256×256 crop: ``u = (j + 0.5)·stride``, ``v = (i + 0.5)·stride``. Channel 0 is x, channel 1
is y, indexed ``[c, v, u]``. No further normalisation (as the official code).
"""

from __future__ import annotations

from typing import Any

from perspose_rt.geometry._array import ops
from perspose_rt.geometry.camera_math import rays_from_pixels

Array = Any


def pe_map(K_crop: Array, size: int = 64, stride: int = 4) -> Array:
    """The PE map of each crop (numpy or torch; exportable to ONNX).

    Args:
        K_crop: (..., 3, 3) crop intrinsics.
        size: grid side (64 for a 256 crop at stride 4).
        stride: pixels per grid cell.

    Returns:
        (..., 2, size, size) with ``[..., 0, i, j] = x`` and ``[..., 1, i, j] = y`` of
        ``K_crop⁻¹ [(j+0.5)·stride, (i+0.5)·stride, 1]``.
    """
    xp = ops(K_crop)
    g = (xp.arange(size, K_crop) + 0.5) * stride
    n = g.shape[0]
    u = xp.broadcast_to(g[None, :], (n, n))
    v = xp.broadcast_to(g[:, None], (n, n))
    uv = xp.stack([u, v], -1)  # (size, size, 2), [i, j] = (u_j, v_i)
    rays = rays_from_pixels(uv, K_crop[..., None, None, :, :])  # (..., size, size, 3)
    return xp.stack([rays[..., 0], rays[..., 1]], -3)


def pe_map_torch(K_crop: Array, size: int = 64, stride: int = 4) -> Array:
    """Torch twin of :func:`pe_map` for (B, 3, 3) tensors → (B, 2, size, size)."""
    if type(K_crop).__module__.split(".")[0] != "torch":
        raise TypeError("pe_map_torch expects a torch tensor; use pe_map for numpy")
    return pe_map(K_crop, size=size, stride=stride)
