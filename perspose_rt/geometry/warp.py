"""The single preprocessing warp, on the CPU (OpenCV) or on the GPU (torch ``grid_sample``).

Both use OpenCV's pixel convention (pixel centres at integer coordinates), bilinear
interpolation and a black border, so the two crops agree up to OpenCV's fixed-point rounding.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

#: ImageNet statistics used by the network (RGB order), design doc §3.3.
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def warp_crop(image: np.ndarray, H: np.ndarray, out_size: int = 256) -> np.ndarray:
    """Warp an image to the crop with ``cv2.warpPerspective`` (bilinear, black border).

    Args:
        image: (H, W, C) or (H, W) array.
        H: (3, 3) original pixels → crop pixels.
        out_size: crop side.

    Returns:
        (out_size, out_size[, C]) array of the image's dtype.
    """
    return cv2.warpPerspective(image, np.asarray(H, dtype=np.float64), (out_size, out_size),
                               flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def warp_crop_torch(images: Any, H: Any, out_size: int = 256) -> Any:
    """Batched GPU/CPU twin of :func:`warp_crop` through ``torch.nn.functional.grid_sample``.

    Args:
        images: (B, C, Hi, Wi) float tensor.
        H: (B, 3, 3) original pixels → crop pixels.
        out_size: crop side.

    Returns:
        (B, C, out_size, out_size) tensor.
    """
    import torch
    import torch.nn.functional as F

    b, _, hi, wi = images.shape
    Hinv = torch.linalg.inv(H.to(torch.float64)).to(images.dtype)
    g = torch.arange(out_size, dtype=images.dtype, device=images.device)
    yy, xx = torch.meshgrid(g, g, indexing="ij")
    pts = torch.stack([xx, yy, torch.ones_like(xx)], -1).reshape(1, -1, 3)  # (1, S*S, 3)
    src = pts @ Hinv.transpose(1, 2)
    src = src[..., :2] / src[..., 2:3]
    gx = src[..., 0] * (2.0 / (wi - 1)) - 1.0
    gy = src[..., 1] * (2.0 / (hi - 1)) - 1.0
    grid = torch.stack([gx, gy], -1).reshape(b, out_size, out_size, 2)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def normalize_crop(crop_bgr: np.ndarray) -> np.ndarray:
    """uint8 BGR crop (S, S, 3) → float32 (3, S, S) ImageNet-normalised RGB (design doc §3.3)."""
    rgb = crop_bgr[..., ::-1].astype(np.float32) / 255.0
    return np.ascontiguousarray(((rgb - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1))


def normalize_crop_torch(crops: Any, bgr: bool = True) -> Any:
    """Float (B, 3, S, S) crops with values in [0, 255] → ImageNet-normalised RGB."""
    import torch

    x = crops.flip(1) if bgr else crops
    mean = torch.as_tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.as_tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x / 255.0 - mean) / std
