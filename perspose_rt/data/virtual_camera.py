"""Random virtual cameras that look at a pose: the shared sampler of both trainers.

Used by the lifter's :class:`~perspose_rt.lifter.augment.PoseSampler` and by the synthetic image
renderer (``perspose-rt make-synthetic``). Everything is drawn from a ``torch.Generator`` so a
caller seeded per step is reproducible and resumable.

A camera draw (:func:`place_in_virtual_cameras`):

* the person turned by a random yaw about the world's vertical (z up), the camera pitched by
  ±``pitch`` and rolled by ±``roll``;
* image ``width`` px wide (uniform in the range), aspect 16:9, 4:3, 1:1, 3:4 or 9:16, horizontal
  FOV uniform in ``hfov_deg``, principal point within ~1 % of the centre, square pixels;
* the root anywhere in the frame (``frame_frac`` of each side, so limbs may leave the image) at a
  depth log-uniform in ``depth_m`` (farther when the person would not fit in the frame);
* pinhole projection (OpenCV axes: x right, y down, z forward).
"""

from __future__ import annotations

import math

import torch

from perspose_rt.geometry import project_points, rays_from_pixels

ASPECTS = torch.tensor([16 / 9, 4 / 3, 1.0, 3 / 4, 9 / 16], dtype=torch.float64)
#: World (x right, y forward, z up) → a level camera looking along +y (OpenCV axes).
WORLD_TO_LEVEL_CAM = torch.tensor([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]], dtype=torch.float64)


def rot_x(a: torch.Tensor) -> torch.Tensor:
    """(...,) angles in radians → (..., 3, 3) rotations about x."""
    c, s, o, z = a.cos(), a.sin(), torch.ones_like(a), torch.zeros_like(a)
    return torch.stack([o, z, z, z, c, -s, z, s, c], -1).reshape(*a.shape, 3, 3)


def rot_z(a: torch.Tensor) -> torch.Tensor:
    """(...,) angles in radians → (..., 3, 3) rotations about z."""
    c, s, o, z = a.cos(), a.sin(), torch.ones_like(a), torch.zeros_like(a)
    return torch.stack([c, -s, z, s, c, z, z, z, o], -1).reshape(*a.shape, 3, 3)


def uniform(gen: torch.Generator, shape, lo=0.0, hi=1.0) -> torch.Tensor:
    """float64 uniform draws in [lo, hi) (``lo``/``hi`` numbers or broadcastable tensors)."""
    return lo + (hi - lo) * torch.rand(shape, generator=gen, dtype=torch.float64)


def place_in_virtual_cameras(Xw: torch.Tensor, gen: torch.Generator, hfov_deg=(30.0, 110.0),
                             depth_m=(2.0, 10.0), pitch_deg: float = 30.0, roll_deg: float = 15.0,
                             width_px=(640, 1920), frame_frac=(0.05, 0.95), height_m: float = 1.8,
                             fit: bool = True):
    """Show each pose (or window of poses) to its own random camera.

    Args:
        Xw: (B, T, J, 3) world metres (z up); joint 0 of the last frame is placed.
        gen: the random generator.
        hfov_deg, depth_m, pitch_deg, roll_deg, width_px, frame_frac: ranges (module docstring).
        height_m: the person height used to keep the whole body inside the frame's height
            at the nearest depth.
        fit: ``False`` lets the camera come as near as ``depth_m[0]`` even when the body then
            overflows the frame (close-ups: a desk webcam sees the upper body).

    Returns:
        X (B, T, J, 3) camera metres, uv (B, T, J, 2) px, K (B, 3, 3), wh (B, 2) image size px;
        all float64.
    """
    B = Xw.shape[0]
    rel = Xw - Xw[:, -1:, :1]
    yaw = uniform(gen, (B,), 0, 2 * math.pi)
    pitch, roll = math.radians(pitch_deg), math.radians(roll_deg)
    tilt = rot_z(uniform(gen, (B,), -roll, roll)) @ rot_x(uniform(gen, (B,), -pitch, pitch))
    M = tilt @ WORLD_TO_LEVEL_CAM @ rot_z(yaw)
    rel_cam = torch.einsum("bij,btkj->btki", M, rel)

    W = uniform(gen, (B,), *width_px).round()
    Hh = (W / ASPECTS[torch.randint(len(ASPECTS), (B,), generator=gen)]).round()
    hfov = torch.deg2rad(uniform(gen, (B,), *hfov_deg))
    f = W / (2 * torch.tan(hfov / 2))
    cx = W / 2 + 0.01 * W * torch.randn(B, generator=gen, dtype=torch.float64)
    cy = Hh / 2 + 0.01 * Hh * torch.randn(B, generator=gen, dtype=torch.float64)
    K = torch.zeros(B, 3, 3, dtype=torch.float64)
    K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2], K[:, 2, 2] = f, f, cx, cy, 1.0

    z_lo = torch.full_like(f, depth_m[0])
    if fit:
        z_lo = torch.maximum(z_lo, torch.maximum(height_m * f / (0.95 * Hh), 1.0 * f / (0.95 * W)))
    z_hi = torch.maximum(torch.full_like(f, depth_m[1]), z_lo)
    z0 = torch.exp(uniform(gen, (B,)) * (z_hi.log() - z_lo.log()) + z_lo.log())
    uv0 = torch.stack([uniform(gen, (B,), *frame_frac) * W, uniform(gen, (B,), *frame_frac) * Hh], -1)
    root = rays_from_pixels(uv0, K) * z0[:, None]
    X = rel_cam + root[:, None, None]
    X = torch.cat([X[..., :2], X[..., 2:].clamp_min(0.1)], -1)
    uv = project_points(X, K[:, None, None])
    return X, uv, K, torch.stack([W, Hh], -1)
