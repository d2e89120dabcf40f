"""The lifter's input encoding: 2D keypoints + K → rays (PE) → PR-rotated rays → features.

PersPose applies Perspective Encoding (PE: the network sees ``K⁻¹[u v 1]``, never bare pixels)
and Perspective Rotation (PR: rotate the camera so that the person's box centre lies on the
optical axis) to image crops. Here the same two ideas act on keypoints:

1. each keypoint becomes its ray ``K⁻¹[u v 1]`` (:func:`perspose_rt.geometry.rays_from_pixels`);
2. all rays of a frame are rotated by ``R = pr_rotation(K, box_centre)`` so that the centre of
   the keypoints' box is on the optical axis (``X_rot = R X``);
3. the rotated rays are put back on the plane z = 1, ``p_j = (x/z, y/z)``: angles, free of the
   focal length and of the principal point.

The network then sees a scale-free shape and two numbers that carry the perspective: the angular
size ``s`` (RMS spread of the ``p_j``, radians-ish) and the residual centre ``c``:

``features = [ (p_j - c) / s · valid_j  (34),  conf_j (17),  c (2),  log s (1) ]`` = 54 values.

It predicts the root-relative joints (metres) in the rotated camera and ``q = log(z_root · s)``:
``z_root · s`` is the person's RMS size in metres (≈ 0.3–0.4 for adults), a well-conditioned
target, and ``z_root = exp(q) / s``. The root itself is ``z_root · [p_root, 1]`` and the whole
pose returns to the real camera through ``Rᵀ`` (:func:`perspose_rt.geometry.to_original_camera`).

Variants (the ablation of the virtual-camera test; all give the same 54 features):

* ``"pepr"``: PE + PR as above (the shipped model);
* ``"pe"``: rays without PR (``R = I``); ``c`` is the person's position in the field of view;
* ``"boxnorm"``: no intrinsics (Martinez et al.): pixels normalised by the keypoints' box,
  ``c`` and ``s`` relative to the image width (taken as ``2·cx``), targets in the original
  camera. It cannot know the focal length, so its depth is a guess from typical cameras.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from perspose_rt.geometry import pr_rotation, rays_from_pixels, to_original_camera

VARIANTS = ("pepr", "pe", "boxnorm")
N_JOINTS = 17
N_FEATURES = 2 * N_JOINTS + N_JOINTS + 3
N_OUTPUTS = 3 * (N_JOINTS - 1) + 1
#: joints with confidence at or below this are "dropped": their coordinates are zeroed.
DROP_CONF = 0.05
_MIN_SCALE = 1e-4


@dataclass
class Encoded:
    """The encoding of a batch of frames (``B`` = leading dimensions flattened).

    Attributes:
        features: (B, 54) float32 network input.
        R: (B, 3, 3) original → working camera (identity for ``pe`` and ``boxnorm``).
        scale: (B,) the normaliser ``s`` of ``q = log(z_root · s)``.
        root_dir: (B, 3) the root keypoint's ray in the working camera on the plane z = 1
            (pixels back-projected through K for ``boxnorm`` too: placing a pose in 3D needs K).
    """

    features: torch.Tensor
    R: torch.Tensor
    scale: torch.Tensor
    root_dir: torch.Tensor


def _as_tensor(x, dtype=torch.float64) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.to(dtype)
    return torch.tensor(np.asarray(x), dtype=dtype)


def _box_centre(p: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Centre of the box of the valid points. p (B,J,2), valid (B,J) bool → (B,2)."""
    big = torch.finfo(p.dtype).max
    m = valid[..., None]
    lo = torch.where(m, p, torch.full_like(p, big)).amin(-2)
    hi = torch.where(m, p, torch.full_like(p, -big)).amax(-2)
    return 0.5 * (lo + hi)


def _spread(p: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """RMS distance of the valid points to their mean. (B,J,2), (B,J) → (B,)."""
    w = valid.to(p.dtype)
    n = w.sum(-1).clamp_min(1.0)
    mean = (p * w[..., None]).sum(-2) / n[..., None]
    d2 = ((p - mean[:, None]) ** 2).sum(-1)
    return ((d2 * w).sum(-1) / n).sqrt().clamp_min(_MIN_SCALE)


def encode(keypoints, K, confidence=None, variant: str = "pepr") -> Encoded:
    """Encode 2D keypoints for the lifter.

    Args:
        keypoints: (..., 17, 2) pixels, H36M-17 order (undistorted or with the mild lens
            distortion of ordinary cameras).
        K: (..., 3, 3) or (3, 3) intrinsics.
        confidence: (..., 17) in [0, 1] or ``None`` (all ones). Joints at or below
            :data:`DROP_CONF` are treated as missing (coordinates zeroed in the features).
        variant: one of :data:`VARIANTS`.

    Returns:
        :class:`Encoded` with the leading dimensions flattened to ``B``.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown lifter variant {variant!r}; expected one of {VARIANTS}")
    kp = _as_tensor(keypoints)
    if kp.shape[-2:] != (N_JOINTS, 2):
        raise ValueError(f"keypoints must be (..., 17, 2) H36M-17 pixels, got {tuple(kp.shape)}")
    kp = kp.reshape(-1, N_JOINTS, 2)
    B = kp.shape[0]
    Kt = _as_tensor(K)
    Kt = Kt.expand(B, 3, 3) if Kt.ndim == 2 else Kt.reshape(-1, 3, 3)
    if Kt.shape[0] != B:
        raise ValueError(f"K must be (3,3) or one per frame ({B}), got {tuple(_as_tensor(K).shape)}")
    if confidence is None:
        conf = torch.ones(B, N_JOINTS, dtype=kp.dtype)
    else:
        conf = _as_tensor(confidence).reshape(B, N_JOINTS).clamp(0.0, 1.0)
    valid = conf > DROP_CONF
    # a frame with fewer than two valid joints has no shape: fall back to all joints for c and s
    few = valid.sum(-1) < 2
    valid_cs = torch.where(few[:, None], torch.ones_like(valid), valid)

    if variant == "boxnorm":
        width = (2.0 * Kt[:, 0, 2]).clamp_min(1.0)
        p = kp / width[:, None, None]
        R = torch.eye(3, dtype=kp.dtype).expand(B, 3, 3).clone()
        c = _box_centre(p, valid_cs)
        s = _spread(p, valid_cs)
        feats_c = c - 0.5  # position in the image, centred
        root_dir = rays_from_pixels(kp[:, 0], Kt)
    else:
        rays = rays_from_pixels(kp, Kt[:, None])  # (B,J,3)
        if variant == "pepr":
            centre_uv = _box_centre(kp, valid_cs)
            R = pr_rotation(Kt, centre_uv)
            rays = rays @ R.transpose(-1, -2)
        else:
            R = torch.eye(3, dtype=kp.dtype).expand(B, 3, 3).clone()
        z = rays[..., 2:3].clamp_min(1e-3)
        p = rays[..., :2] / z
        c = _box_centre(p, valid_cs)
        s = _spread(p, valid_cs)
        feats_c = c
        root_dir = torch.cat([p[:, 0], torch.ones_like(p[:, 0, :1])], -1)

    shape = (p - c[:, None]) / s[:, None, None] * valid[..., None]
    features = torch.cat([shape.reshape(B, -1), conf, feats_c, s.log()[:, None]], -1)
    return Encoded(features.float(), R, s, root_dir)


def targets(joints_cam, enc: Encoded) -> torch.Tensor:
    """Training targets for camera-space joints: (B, 49) = root-relative joints 1..16 in the
    working camera (metres, 48) and ``q = log(z_root · s)``.

    Args:
        joints_cam: (B, 17, 3) metres in the original camera.
        enc: the encoding of the same frames.
    """
    X = _as_tensor(joints_cam).reshape(-1, N_JOINTS, 3)
    Xw = X @ enc.R.transpose(-1, -2)
    rel = Xw[:, 1:] - Xw[:, :1]
    q = (Xw[:, 0, 2].clamp_min(1e-3) * enc.scale).log()
    return torch.cat([rel.reshape(X.shape[0], -1), q[:, None]], -1).float()


def decode(output: torch.Tensor, enc: Encoded) -> torch.Tensor:
    """Network output (B, 49) → camera-space joints (B, 17, 3) metres (original camera)."""
    out = output.to(enc.R.dtype)
    B = out.shape[0]
    rel = torch.cat([torch.zeros(B, 1, 3, dtype=out.dtype), out[:, :48].reshape(B, 16, 3)], 1)
    z_root = out[:, 48].exp() / enc.scale
    root = enc.root_dir * z_root[:, None]
    return to_original_camera(rel + root[:, None], enc.R)
