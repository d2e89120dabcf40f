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

Every function takes numpy arrays or torch tensors and answers in the same kind (the formulas
are written once, through :mod:`perspose_rt.geometry._array`): training encodes torch batches,
the live path one numpy frame, where torch's per-operation overhead would dominate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perspose_rt.geometry import pr_rotation, rays_from_pixels, to_original_camera
from perspose_rt.geometry._array import ops

VARIANTS = ("pepr", "pe", "boxnorm")
N_JOINTS = 17
N_FEATURES = 2 * N_JOINTS + N_JOINTS + 3
N_OUTPUTS = 3 * (N_JOINTS - 1) + 1
#: joints with confidence at or below this are "dropped": their coordinates are zeroed.
DROP_CONF = 0.05
_MIN_SCALE = 1e-4
_INF = float("inf")


@dataclass
class Encoded:
    """The encoding of a batch of frames (``B`` = leading dimensions flattened).

    Numpy arrays or torch tensors, as the keypoints given to :func:`encode`.

    Attributes:
        features: (B, 54) float32 network input.
        R: (B, 3, 3) original → working camera (identity for ``pe`` and ``boxnorm``).
        scale: (B,) the normaliser ``s`` of ``q = log(z_root · s)``.
        root_dir: (B, 3) the root keypoint's ray in the working camera on the plane z = 1
            (pixels back-projected through K for ``boxnorm`` too: placing a pose in 3D needs K).
    """

    features: Any
    R: Any
    scale: Any
    root_dir: Any


def _box_centre(xp, p, valid):
    """Centre of the box of the valid points. p (B,J,2), valid (B,J) bool → (B,2)."""
    m = valid[..., None]
    return 0.5 * (xp.amin(xp.where(m, p, _INF), -2) + xp.amax(xp.where(m, p, -_INF), -2))


def _spread(xp, p, w):
    """RMS distance of the points of weight ``w`` (0 or 1) to their mean. (B,J,2), (B,J) → (B,)."""
    n = xp.maximum(xp.sum(w, -1), 1.0)
    mean = xp.sum(p * w[..., None], -2) / n[..., None]
    d2 = xp.sum((p - mean[:, None]) ** 2, -1)
    return xp.maximum(xp.sqrt(xp.sum(d2 * w, -1) / n), _MIN_SCALE)


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
        :class:`Encoded` with the leading dimensions flattened to ``B`` (torch tensors if any
        input is one, else numpy arrays; float64 except ``features``).
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown lifter variant {variant!r}; expected one of {VARIANTS}")
    xp = ops(keypoints, K, confidence)
    kp = xp.astype(keypoints, "float64")
    if tuple(kp.shape[-2:]) != (N_JOINTS, 2):
        raise ValueError(f"keypoints must be (..., 17, 2) H36M-17 pixels, got {tuple(kp.shape)}")
    kp = kp.reshape(-1, N_JOINTS, 2)
    B = kp.shape[0]
    Kt = xp.astype(K, "float64")
    Kt = xp.broadcast_to(Kt, (B, 3, 3)) if Kt.ndim == 2 else Kt.reshape(-1, 3, 3)
    if Kt.shape[0] != B:
        raise ValueError(f"K must be (3,3) or one per frame ({B}), got {tuple(xp.astype(K, 'float64').shape)}")
    one = xp.ones_like(kp[..., 0])  # (B, J)
    conf = one if confidence is None else xp.clip(xp.astype(confidence, "float64").reshape(B, N_JOINTS), 0.0, 1.0)
    valid = conf > DROP_CONF
    # a frame with fewer than two valid joints has no shape: fall back to all joints for c and s
    few = xp.sum(xp.where(valid, one, 0 * one), -1) < 2
    valid_cs = valid | few[:, None]
    w, w_cs = xp.where(valid, one, 0 * one), xp.where(valid_cs, one, 0 * one)
    R = xp.eye(3, like=kp) + 0 * Kt  # (B, 3, 3), a real array

    if variant == "boxnorm":
        width = xp.maximum(2.0 * Kt[:, 0, 2], 1.0)
        p = kp / width[:, None, None]
        c = _box_centre(xp, p, valid_cs)
        feats_c = c - 0.5  # position in the image, centred
        root_dir = rays_from_pixels(kp[:, 0], Kt)
    else:
        rays = rays_from_pixels(kp, Kt[:, None])  # (B,J,3)
        if variant == "pepr":
            R = pr_rotation(Kt, _box_centre(xp, kp, valid_cs))
            rays = rays @ xp.swap_last(R)
        p = rays[..., :2] / xp.maximum(rays[..., 2:3], 1e-3)
        c = _box_centre(xp, p, valid_cs)
        feats_c = c
        root_dir = xp.cat([p[:, 0], one[:, :1]], -1)
    s = _spread(xp, p, w_cs)

    shape = (p - c[:, None]) / s[:, None, None] * w[..., None]
    features = xp.cat([shape.reshape(B, -1), conf, feats_c, xp.log(s)[:, None]], -1)
    return Encoded(xp.astype(features, "float32"), R, s, root_dir)


def targets(joints_cam, enc: Encoded):
    """Training targets for camera-space joints: (B, 49) = root-relative joints 1..16 in the
    working camera (metres, 48) and ``q = log(z_root · s)``; float32.

    Args:
        joints_cam: (B, 17, 3) metres in the original camera (same array kind as ``enc``).
        enc: the encoding of the same frames.
    """
    xp = ops(enc.R)
    X = xp.astype(joints_cam, "float64").reshape(-1, N_JOINTS, 3)
    Xw = X @ xp.swap_last(enc.R)
    rel = Xw[:, 1:] - Xw[:, :1]
    q = xp.log(xp.maximum(Xw[:, 0, 2], 1e-3) * enc.scale)
    return xp.astype(xp.cat([rel.reshape(X.shape[0], -1), q[:, None]], -1), "float32")


def decode(output, enc: Encoded):
    """Network output (B, 49) → camera-space joints (B, 17, 3) metres (original camera), float64."""
    xp = ops(enc.R)
    out = xp.astype(output, "float64")
    B = out.shape[0]
    rel = xp.cat([0 * out[:, :3].reshape(B, 1, 3), out[:, :48].reshape(B, 16, 3)], 1)
    z_root = xp.exp(out[:, 48]) / enc.scale
    root = enc.root_dir * z_root[:, None]
    return to_original_camera(rel + root[:, None], enc.R)
