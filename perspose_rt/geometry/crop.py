"""Perspective Rotation (PR) and the crop geometry (paper Eq. 3–4, 12–15; design doc §3.2–3.3).

The whole preprocessing is one homography ``H = A · K · R · K⁻¹`` from original-image pixels to
the ``out_size × out_size`` crop, where ``R`` rotates the camera so that the ray of the person's
box centre becomes the optical axis, and ``A`` (scale + stretch + translation) makes the box
symmetric about the principal point, fits its longer side to the crop and equalises the focal
lengths. The crop's intrinsics are ``K_crop = A · K`` and the 3D points seen in the crop live in
the rotated camera frame ``X_rot = R · X_orig``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perspose_rt.geometry._array import ops
from perspose_rt.geometry.camera_math import rays_from_pixels
from perspose_rt.geometry.rotation import axis_angle_to_matrix, rotation_between

Array = Any

#: Rays whose depth falls below this after PR (i.e. ≥ ~89.9° off the new axis) are rejected.
_MIN_ROTATED_Z = 1e-3


def pr_rotation(K: Array, center_uv: Array, aim_uv: Array | None = None) -> Array:
    """The PR rotation: the minimal rotation taking the ray of ``center_uv`` onto that of ``aim_uv``.

    Args:
        K: (..., 3, 3) intrinsics of the original camera.
        center_uv: (..., 2) the person's box centre, pixels.
        aim_uv: (..., 2) where the centre should go; default the principal point, i.e. the
            optical axis.

    Returns:
        R: (..., 3, 3) with ``X_rot = R @ X_orig``; exactly the identity when the centre is
        already on the aim.
    """
    a = rays_from_pixels(center_uv, K)
    if aim_uv is None:
        aim_uv = K[..., :2, 2]
    b = rays_from_pixels(aim_uv, K)
    return rotation_between(a, b)


@dataclass
class CropGeometry:
    """Everything that relates the original image to the network's crop.

    Attributes (``...`` = the batch dimensions of the inputs):
        R: (..., 3, 3) original camera → PR-rotated camera (``X_rot = R @ X_orig``).
        K_crop: (..., 3, 3) intrinsics of the crop (``cx = cy = out_size/2``, ``fx = fy``).
        H: (..., 3, 3) original-image pixels → crop pixels (the single warp).
        H_pr: (..., 3, 3) ``K R K⁻¹``: original pixels → rotated-camera pixels (same K).
        bbox_rot: (..., 4) the padded box after PR (tight, xyxy, rotated-image pixels).
        out_size: side of the square crop in pixels.
        valid: (...) bool: the box could be cropped. An invalid sample (an empty or non-finite
            box, or one so wide that a corner ray ends up behind the rotated camera) holds the
            finite geometry of a tiny box at the principal point instead: never use it.
    """

    R: Array
    K_crop: Array
    H: Array
    H_pr: Array
    bbox_rot: Array
    out_size: int
    valid: Array


def prepare_crop(K: Array, bbox_xyxy: Array, out_size: int = 256, pad: float = 1.0,
                 aim_uv: Array | None = None, roll: Array | None = None,
                 zoom: Array | float = 1.0) -> CropGeometry:
    """PR + symmetric crop + focal equalisation as one homography (numpy or torch, batched).

    Steps (design doc §3.3): pad the box about its centre; rotate the camera so the centre's ray
    is the aim's ray; map the 4 box corners through ``K R K⁻¹`` and take their bounding box (a
    homography maps the rectangle's edges to straight lines, so the corners bound it); make the
    box symmetric about the principal point (half-extent = max |corner − p| per axis); scale so
    the longer side fills ``out_size``; stretch one axis by ``fy/fx`` (clipped to [0.5, 2]) so
    that the crop's focal lengths are equal; translate the principal point to the crop centre.

    Args:
        K: (..., 3, 3) intrinsics of the original (undistorted) image.
        bbox_xyxy: (..., 4) person box in original pixels.
        out_size: crop side (256 for the PersPose network).
        pad: box scale about its centre before PR (the official demo uses 1.2 on detector boxes).
        aim_uv: (..., 2) optional PR aim; default the principal point.
        roll: (...,) optional in-plane rotation in radians (training augmentation), applied as a
            3D rotation of the virtual camera about the aim's ray after PR. Unlike the official
            2D rotation about the image centre (design doc §9.6), it keeps ``K_crop`` exact:
            ``R`` includes it, so ``K_crop · R · X`` projects onto the warped image.
        zoom: (...,) or a number: multiplies the crop scale (training augmentation, official
            range 0.7–1.1); the crop stays centred on the principal point.

    Returns:
        :class:`CropGeometry` in the input's array type, dtype and device, with a per-sample
        ``valid`` mask (a bad box in a batch never fails the others; nothing is raised).
    """
    xp = ops(K, bbox_xyxy)
    half = (bbox_xyxy[..., 2:] - bbox_xyxy[..., :2]) / 2.0 * pad
    valid = xp.amin(half, -1) > 0  # False for empty boxes and NaN
    for _ in range(2):  # a second pass only when a box turned out to span more than 180°
        box = xp.where(valid[..., None], bbox_xyxy, _tiny_box(xp, K, bbox_xyxy))
        R, pts, ok = _rotated_corners(xp, K, box, pad, aim_uv, roll)
        if not xp.any(valid & ~ok):
            break
        valid = valid & ok
    bbox_rot = xp.cat([xp.amin(pts, -2), xp.amax(pts, -2)], -1)

    p = K[..., :2, 2]
    hx = xp.amax(xp.abs(pts[..., 0] - p[..., None, 0]), -1)
    hy = xp.amax(xp.abs(pts[..., 1] - p[..., None, 1]), -1)
    A = _crop_affine(xp, K, p, hx, hy, out_size, zoom)
    K_crop = A @ K
    H_pr = K @ R @ xp.inv(K)
    return CropGeometry(R=R, K_crop=K_crop, H=A @ H_pr, H_pr=H_pr, bbox_rot=bbox_rot, out_size=out_size,
                        valid=valid)


def _tiny_box(xp, K: Array, like: Array) -> Array:
    """A 2-pixel box at the principal point (the stand-in geometry of an invalid sample)."""
    p = K[..., :2, 2]
    return xp.broadcast_to(xp.cat([p - 1.0, p + 1.0], -1), like.shape)


def _rotated_corners(xp, K: Array, bbox_xyxy: Array, pad: float, aim_uv: Array | None,
                     roll: Array | None = None):
    """PR rotation of the padded box's centre (then the ``roll`` about the aim's ray), its
    corners in the rotated image, and whether every corner ray stays in front of the rotated
    camera."""
    c = (bbox_xyxy[..., :2] + bbox_xyxy[..., 2:]) / 2.0
    half = (bbox_xyxy[..., 2:] - bbox_xyxy[..., :2]) / 2.0 * pad
    R = pr_rotation(K, c, aim_uv)
    if roll is not None:
        aim = K[..., :2, 2] if aim_uv is None else aim_uv
        b = rays_from_pixels(aim, K)
        b = b / xp.norm(b, -1, keepdims=True)
        R = axis_angle_to_matrix(b * roll[..., None]) @ R
    sx = xp.stack([-half[..., 0], half[..., 0], half[..., 0], -half[..., 0]], -1)
    sy = xp.stack([-half[..., 1], -half[..., 1], half[..., 1], half[..., 1]], -1)
    corners = xp.stack([c[..., None, 0] + sx, c[..., None, 1] + sy], -1)  # (..., 4, 2)
    rays = rays_from_pixels(corners, K[..., None, :, :])  # (..., 4, 3)
    rot = rays @ R.swapaxes(-1, -2)  # R @ ray, row-vector form
    ok = xp.amin(rot[..., 2], -1) >= _MIN_ROTATED_Z
    proj = rot @ K.swapaxes(-1, -2)
    z = xp.where(rot[..., 2:3] >= _MIN_ROTATED_Z, proj[..., 2:3], xp.ones_like(proj[..., 2:3]))
    return R, proj[..., :2] / z, ok


def _crop_affine(xp, K, centre, hx, hy, out_size: int, zoom):
    """The crop's pixel map ``A`` (..., 3, 3): the point ``centre`` (..., 2) goes to the middle of
    the ``out_size`` square, the half-extents ``hx``, ``hy`` (...) fit it (times ``zoom``), and one
    axis is stretched so that ``A·K`` has equal focal lengths (the ratio clipped to [0.5, 2])."""
    scale = out_size / (2.0 * xp.maximum(hx, hy)) * zoom
    stretch = xp.clip(K[..., 1, 1] / K[..., 0, 0], 0.5, 2.0)
    one = xp.ones_like(stretch)
    ax = scale * xp.where(stretch > 1, stretch, one)
    ay = scale * xp.where(stretch > 1, one, 1.0 / stretch)
    half_out = out_size / 2.0
    zero = xp.zeros_like(ax)
    return xp.stack([
        xp.stack([ax, zero, half_out - ax * centre[..., 0]], -1),
        xp.stack([zero, ay, half_out - ay * centre[..., 1]], -1),
        xp.stack([zero, zero, one], -1),
    ], -2)


def prepare_box_crop(K: Array, bbox_xyxy: Array, out_size: int = 256, pad: float = 1.0,
                     shift: Array | None = None, roll: Array | None = None,
                     zoom: Array | float = 1.0) -> CropGeometry:
    """The crop **without PR** (the ablation's "box-normalised" crop), as one homography.

    No rotation towards the box: the crop is the axis-aligned box, centred on the box centre
    (plus ``shift``), its longer side fitted to ``out_size``, one axis stretched so that the crop's
    focal lengths are equal (as :func:`prepare_crop`). ``K_crop = A·K`` keeps the original
    camera's (off-centre) principal point, so labels ``K_crop·R·X`` still land on their pixels.

    Args:
        K, bbox_xyxy, out_size, pad, zoom: as :func:`prepare_crop` (zoom about the box centre).
        shift: (..., 2) optional move of the crop centre in pixels (the training's counterpart of
            the PR aim jitter).
        roll: (...,) optional in-plane rotation in radians: a roll of the camera about its optical
            axis (``R = Rz(roll)``, a rotation of the image about the principal point), exact
            for ``K_crop`` like the PR crop's roll. Without it ``R`` is the identity.

    Returns:
        :class:`CropGeometry` (``R`` the roll or the identity, ``H_pr = K R K⁻¹``).
    """
    xp = ops(K, bbox_xyxy)
    half = (bbox_xyxy[..., 2:] - bbox_xyxy[..., :2]) / 2.0 * pad
    valid = xp.amin(half, -1) > 0
    box = xp.where(valid[..., None], bbox_xyxy, _tiny_box(xp, K, bbox_xyxy))
    c = (box[..., :2] + box[..., 2:]) / 2.0
    half = (box[..., 2:] - box[..., :2]) / 2.0 * pad
    if roll is None:
        R = xp.zeros_like(K) + xp.eye(3, K)
    else:
        z = xp.stack([xp.zeros_like(roll), xp.zeros_like(roll), roll], -1)
        R = axis_angle_to_matrix(z)
    H_pr = K @ R @ xp.inv(K)
    sx = xp.stack([-half[..., 0], half[..., 0], half[..., 0], -half[..., 0]], -1)
    sy = xp.stack([-half[..., 1], -half[..., 1], half[..., 1], half[..., 1]], -1)
    corners = xp.stack([c[..., None, 0] + sx, c[..., None, 1] + sy, xp.ones_like(sx)], -1)  # (..., 4, 3)
    pts = corners @ H_pr.swapaxes(-1, -2)
    pts = pts[..., :2] / pts[..., 2:3]  # a roll about the optical axis keeps every z
    lo, hi = xp.amin(pts, -2), xp.amax(pts, -2)
    centre = (lo + hi) / 2.0 + (0.0 if shift is None else shift)
    hx, hy = (hi[..., 0] - lo[..., 0]) / 2.0, (hi[..., 1] - lo[..., 1]) / 2.0
    A = _crop_affine(xp, K, centre, hx, hy, out_size, zoom)
    return CropGeometry(R=R, K_crop=A @ K, H=A @ H_pr, H_pr=H_pr, bbox_rot=xp.cat([lo, hi], -1),
                        out_size=out_size, valid=valid)


def prepare_crop_torch(K: Array, bbox_xyxy: Array, out_size: int = 256, pad: float = 1.0,
                       aim_uv: Array | None = None) -> CropGeometry:
    """Batched torch twin of :func:`prepare_crop` (K (B,3,3), bbox (B,4) tensors on any device)."""
    if type(K).__module__.split(".")[0] != "torch":
        raise TypeError("prepare_crop_torch expects torch tensors; use prepare_crop for numpy")
    return prepare_crop(K, bbox_xyxy, out_size=out_size, pad=pad, aim_uv=aim_uv)
