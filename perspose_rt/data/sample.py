"""One network input with its labels: PR, crop, the §5.3 augmentations and consistent labels.

The geometry is one homography per sample, from :func:`perspose_rt.geometry.prepare_crop`:
``H = A·K·R·K⁻¹`` warps the image, ``K_crop = A·K`` is the crop's camera and ``R`` rotates the
3D labels (``X_rot = R·X``), so a label projected with ``K_crop`` lands exactly where the warp put
its pixel. The augmentations that move pixels are part of ``R`` and ``A``:

* PR aim jitter: the box centre is rotated onto the principal point + U(−1,1)·``aim_jitter``·
  max(box w, h) per axis (the official config.yaml / w_be_3dhp setting, on by default);
* in-plane rotation (p 0.5, ±30°): a roll of the virtual camera about the aim's ray. **Deviation
  from the official code**, which rotates the image about the image centre after PR while
  ``K_crop`` ignores the rotation (design doc §9.6, labels off by 6–26 px for an off-centre
  principal point); here ``R`` contains the roll, so ``K_crop`` stays exact;
* scale (p 0.2, ×U(0.7, 1.1)): the crop scale, about the principal point.

The other augmentations only change pixel values, in the official order (cutout first, then
blur/sharpen, noise, contrast/brightness, hue/saturation, channel). Every sample draws from its
own ``numpy.random.Generator``, so a sample is a pure function of its seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from perspose_rt.data.records import (
    COCO_KP,
    COCO_NET_JOINTS,
    HP3D_H36M_JOINTS,
    HP3D_NET_JOINTS,
    NET_FROM_H36M17,
    Record,
)
from perspose_rt.errors import InputError
from perspose_rt.geometry import (
    apply_homography,
    normalize_crop,
    prepare_box_crop,
    prepare_crop,
    project_points,
    warp_crop,
)

NUM_JOINTS = 25
KIND_CODES = {"hp3d": 0, "h36m17": 1, "smpl24": 2, "coco": 3}


@dataclass
class AugmentOptions:
    """Augmentation switches and probabilities (defaults: the official §5.3 values)."""

    enabled: bool = True
    p_aug: float = 0.8
    aim_jitter: float = 0.1
    p_rot: float = 0.5
    rot_deg: float = 30.0
    p_scale: float = 0.2
    scale_range: tuple[float, float] = (0.7, 1.1)
    pixel: bool = True
    p_cutout: float = 0.4
    p_blur: float = 0.1
    p_noise: float = 0.3
    p_contrast: float = 0.5
    p_hue: float = 0.5
    p_channel: float = 0.1


@dataclass
class Draw:
    """The random choices of one sample (all off = the evaluation crop)."""

    aim_offset: tuple[float, float] = (0.0, 0.0)  # in units of the box's max side
    roll: float = 0.0  # radians
    zoom: float = 1.0
    cutout: bool = False
    blur: bool = False
    noise: bool = False
    contrast: bool = False
    hue: bool = False
    channel: bool = False


def draw(rng: np.random.Generator, opts: AugmentOptions) -> Draw:
    """Draw the augmentation choices of one training sample."""
    if not opts.enabled or rng.random() >= opts.p_aug:
        return Draw()
    d = Draw()
    d.aim_offset = tuple(rng.uniform(-1, 1, 2) * opts.aim_jitter)
    if rng.random() < opts.p_rot:
        d.roll = float(np.radians(rng.uniform(-opts.rot_deg, opts.rot_deg)))
    if rng.random() < opts.p_scale:
        d.zoom = float(rng.uniform(*opts.scale_range))
    if opts.pixel:
        d.cutout, d.blur = rng.random() < opts.p_cutout, rng.random() < opts.p_blur
        d.noise, d.contrast = rng.random() < opts.p_noise, rng.random() < opts.p_contrast
        d.hue, d.channel = rng.random() < opts.p_hue, rng.random() < opts.p_channel
    return d


def crop_geometry(rec: Record, size: int, d: Draw, pr: bool = True):
    """The :class:`~perspose_rt.geometry.CropGeometry` of a record under the draw ``d``.

    COCO has no intrinsics and gets no PR (as in the official code): a pseudo camera with its
    principal point at the box centre makes the crop a plain box crop (rotated about the centre).
    ``pr=False`` (the ablation without PR): the axis-aligned box crop of
    :func:`~perspose_rt.geometry.prepare_box_crop`; the aim jitter becomes a shift of the crop
    centre by the same amount and the roll a roll about the optical axis, both exact for ``K_crop``.
    """
    box = np.asarray(rec.bbox_xyxy, np.float64)
    roll = np.asarray(d.roll) if d.roll else None
    if rec.K is None:
        c = (box[:2] + box[2:]) / 2
        f = float(max(box[2] - box[0], box[3] - box[1], 1.0))
        K = np.array([[f, 0, c[0]], [0, f, c[1]], [0, 0, 1.0]])
        aim = None
    else:
        K = rec.K
        side = float(max(box[2] - box[0], box[3] - box[1]))
        offset = np.asarray(d.aim_offset) * side
        if not pr:
            return prepare_box_crop(K, box, out_size=size, shift=offset if any(d.aim_offset) else None,
                                    roll=roll, zoom=d.zoom), K
        aim = K[:2, 2] + offset if any(d.aim_offset) else None
    return prepare_crop(K, box, out_size=size, aim_uv=aim, roll=roll, zoom=d.zoom), K


def labels(rec: Record, geom, size: int) -> dict[str, np.ndarray]:
    """Fixed-size label arrays in the network's 25-joint layout (rotated camera frame, crop px)."""
    xyz = np.zeros((NUM_JOINTS, 3), np.float64)
    uv = np.zeros((NUM_JOINTS, 2), np.float64)
    has = np.zeros(NUM_JOINTS, bool)
    if rec.kind == "coco":
        kp = np.asarray(rec.kp2d, np.float64)
        idx = list(COCO_NET_JOINTS)
        uv[idx] = apply_homography(geom.H, kp[list(COCO_KP), :2])
        has[idx] = kp[list(COCO_KP), 2] > 0
    else:
        X = np.asarray(rec.joints_cam, np.float64) @ geom.R.T
        if rec.kind == "smpl24":
            idx, src = list(range(24)), X
        elif rec.kind == "h36m17":  # SMPL joint 0 (depth and ρ0 reference) = the H36M pelvis
            idx, src = list(NET_FROM_H36M17) + [0], X[list(range(17)) + [0]]
        elif rec.kind == "hp3d":
            idx, src = list(HP3D_NET_JOINTS), X[list(HP3D_H36M_JOINTS)]
        else:
            raise ValueError(f"unknown label kind {rec.kind!r}")
        xyz[idx] = src
        uv[idx] = project_points(src, geom.K_crop)
        has[idx] = True
    return {"xyz": xyz.astype(np.float32), "uv": uv.astype(np.float32), "has": has, **smpl_labels(rec, geom)}


def smpl_labels(rec: Record, geom) -> dict[str, np.ndarray]:
    """Labels of the SMPL terms (zeros and ``has_smpl`` False for samples without SMPL labels):
    ``twist`` (25, 3) unit ortho-twists in the rotated camera (``R·t``; joint 24 unused),
    ``leaf`` (5, 3, 3) relative leaf rotations (a camera rotation leaves them unchanged),
    ``beta`` (11,)."""
    from perspose_rt.data.smpl_labels import leaf_rotations, padded_betas
    from perspose_rt.geometry import axis_angle_to_matrix

    twist = np.zeros((NUM_JOINTS, 3))
    leaf = np.broadcast_to(np.eye(3), (5, 3, 3)).copy()
    beta = np.zeros(11)
    has = rec.smpl_theta is not None and rec.smpl_twist is not None and rec.smpl_beta is not None
    if has:
        twist[:24] = np.asarray(rec.smpl_twist, np.float64) @ np.asarray(geom.R, np.float64).T
        leaf = leaf_rotations(axis_angle_to_matrix(np.asarray(rec.smpl_theta, np.float64).reshape(1, 24, 3)))[0]
        beta = padded_betas(np.asarray(rec.smpl_beta, np.float64).reshape(1, -1))[0]
    return {"twist": twist.astype(np.float32), "leaf": leaf.astype(np.float32), "beta": beta.astype(np.float32),
            "has_smpl": np.bool_(has)}


def read_image(path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise InputError(f"cannot read image {path}")
    return img


def make_sample(rec: Record, size: int, d: Draw, rng: np.random.Generator | None = None,
                image: np.ndarray | None = None, pr: bool = True) -> dict[str, np.ndarray]:
    """Crop, augment and label one record.

    Returns numpy arrays: ``img`` (3, S, S) float32 ImageNet-normalised RGB, ``K_crop`` (3, 3),
    ``R`` (3, 3) original → rotated camera, ``pe_scale`` (1 or 0 for COCO), ``xyz`` (25, 3) m,
    ``uv`` (25, 2) crop px, ``has`` (25,) labelled joints, ``kind`` (code of
    :data:`KIND_CODES`), ``height`` m, ``uv_weight`` (0.1 for BEDLAM). ``pr=False``: the box crop
    without PR (see :func:`crop_geometry`).
    """
    geom, _ = crop_geometry(rec, size, d, pr)
    crop = warp_crop(read_image(rec.image) if image is None else image, geom.H, size)
    if rng is not None:
        crop = pixel_augment(crop, d, rng)
    lab = labels(rec, geom, size)
    coco = rec.K is None
    K_crop = np.array([[600.0, 0, size / 2], [0, 600.0, size / 2], [0, 0, 1]]) if coco else geom.K_crop
    return {"img": normalize_crop(crop), "K_crop": K_crop.astype(np.float32),
            "R": np.asarray(geom.R, np.float32), "pe_scale": np.float32(0.0 if coco else 1.0),
            "kind": np.int64(KIND_CODES[rec.kind]), "height": np.float32(rec.height),
            "uv_weight": np.float32(0.1 if rec.dataset == "bedlam" else 1.0), **lab}


def _odd(k: float) -> int:
    k = max(1, round(float(k)))
    return k if k % 2 else k + 1


def pixel_augment(img: np.ndarray, d: Draw, rng: np.random.Generator) -> np.ndarray:
    """The official pixel augmentations (§5.3) on a uint8 BGR crop; kernel sizes scale with S/256."""
    S = img.shape[0]
    s = S / 256.0
    x = img.astype(np.float32)
    if d.cutout:
        area = S * S * rng.uniform(0.2, 1.0) * 0.4
        ar = rng.uniform(0.3, 3.33)
        w, h = int(min(S, np.sqrt(area * ar))), int(min(S, np.sqrt(area / ar)))
        cx, cy = rng.uniform(2 * s, S - 2 * s, 2)
        x0, y0 = int(max(0, cx - w / 2)), int(max(0, cy - h / 2))
        patch = x[y0:y0 + h, x0:x0 + w]
        patch[...] = rng.uniform(0, 255, patch.shape) if rng.random() < 0.5 else rng.uniform(0, 255, 3)
    if d.blur:
        mode = rng.integers(3)
        if mode == 0:
            f = float(rng.choice([8 / 5, 2.0, 8 / 3]))
            small = cv2.resize(x, (max(1, int(S / f)), max(1, int(S / f))), interpolation=cv2.INTER_LINEAR)
            x = cv2.resize(small, (S, S), interpolation=cv2.INTER_LINEAR)
        elif mode == 1:
            k = _odd(rng.choice([7, 11, 15]) * s)
            x = cv2.GaussianBlur(x, (k, k), 0)
        else:
            k = _odd(rng.choice([3, 7, 11, 15]) * s)
            x = x + 2.0 * (x - cv2.GaussianBlur(x, (k, k), k))
    if d.noise:
        x = x + rng.normal(0.0, max(float(x.mean()) / 5.0, 1e-3), x.shape).astype(np.float32)
    if d.contrast:
        m = float(x.mean())
        x = (x - m) * rng.uniform(0.5, 1.7) + m + 0.5 * m * rng.uniform(-1, 1)
    x = np.clip(x, 0, 255)
    if d.hue:
        hsv = cv2.cvtColor(x.astype(np.uint8), cv2.COLOR_BGR2HSV).astype(np.float32)
        hsv[..., 0] = np.mod(hsv[..., 0] + rng.uniform(-40, 40), 180)
        smax = float(hsv[..., 1].max())
        if smax > 0:
            hsv[..., 1] *= rng.uniform(0, 1) * 255.0 / smax
        x = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR).astype(np.float32)
    if d.channel:
        if rng.random() < 0.5:
            x = np.repeat(x[..., int(rng.integers(3)), None], 3, -1)
        else:
            w = rng.random(3)
            x = np.repeat((x @ (w / w.sum()))[..., None], 3, -1)
    return np.clip(x, 0, 255).astype(np.uint8)
