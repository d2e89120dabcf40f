"""Simulated close views cut from a wider video or photo: a desk camera (the upper body), a head or
a hand alone.

A desk webcam sees a seated person from the hips up; a person leaning in shows only a head, a
hand waved at the camera only a hand. :func:`cut_clip` makes such views from footage of a whole
person: BlazePose finds the person in every full frame, :func:`region_window` gives the window of
the region (for ``upper-body``: the frame's bottom edge at the hips), the windows are smoothed over
time (a steady virtual camera, not a shaking one) and each frame is cut and resized to the output
size with one affine warp.

**Intrinsics follow the crop.** Cutting and resizing is the pixel map ``u' = s·u + t`` (pixel
centres at integers, as everywhere in the package), so the view's camera is ``K' = A·K`` with
``A = [[s, 0, tx], [0, s, ty], [0, 0, 1]]``: the focal lengths scale by ``s`` and the principal
point moves with the crop (it usually leaves the image centre). Lens distortion acts in normalised
coordinates before ``K`` and is unchanged. Each frame has its own camera, and camera-space 3D from
the view is in the original camera's frame: the crop moves the pixels, not the camera.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from perspose_rt.errors import InputError

#: The views :func:`cut_clip` can make.
REGIONS = ("upper-body", "head", "hand")

_SHOULDERS, _HIPS = (11, 12), (23, 24)
_FACE = tuple(range(11))
_HANDS = {"left": (15, 17, 19, 21), "right": (16, 18, 20, 22)}  # wrist, pinky, index, thumb


@dataclass(frozen=True)
class Window:
    """A region of the original frame: centre ``(cx, cy)`` and size ``(w, h)`` in pixels
    (pixel centres at integers; the region spans ``cx ± w/2``, ``cy ± h/2``)."""

    cx: float
    cy: float
    w: float
    h: float


@dataclass
class SimClip:
    """A cut clip: ``images`` (BGR, all ``size``), each frame's ``cameras`` and ``windows`` in the
    original frames, and ``found`` (whether BlazePose found the person in that full frame; the
    other frames' windows are interpolated)."""

    images: list[np.ndarray]
    cameras: list
    windows: list[Window]
    found: np.ndarray
    region: str
    size: tuple[int, int]


def window_affine(win: Window, size: tuple[int, int]) -> np.ndarray:
    """``(2, 3)`` the map from original pixels to the view's pixels (``size`` = (w, h)) for a window
    of the view's aspect ratio: uniform scale ``s = w_out / win.w``, window centre → view centre."""
    s = size[0] / win.w
    return np.array([[s, 0.0, (size[0] - 1) / 2 - s * win.cx],
                     [0.0, s, (size[1] - 1) / 2 - s * win.cy]], dtype=np.float64)


def affine_camera(camera, M: np.ndarray, size: tuple[int, int], label: str):
    """The camera of an image made with the uniform-scale affine ``M`` (2, 3): ``K' = A·K``.

    ``source`` says where the intrinsics came from and that the view is cut (``label``)."""
    if abs(M[0, 0] - M[1, 1]) > 1e-12 * abs(M[0, 0]) or M[0, 1] != 0 or M[1, 0] != 0:
        raise ValueError(f"need a uniform scale and shift, got {M.tolist()}")
    A = np.vstack([M, [0.0, 0.0, 1.0]])
    return replace(camera, K=A @ camera.K, resolution=(int(size[0]), int(size[1])),
                   source=f"{camera.source} ({label})")


def region_window(kp33: np.ndarray, conf: np.ndarray, region: str, aspect: float) -> Window | None:
    """The window (of width / height = ``aspect``) of ``region`` for one BlazePose-33 person.

    ``upper-body``: bottom edge at the hips' midpoint, height 1.9 torso lengths (shoulders' to
    hips' midpoint: room for the head and raised hands), centred on the torso. ``head``: the face
    landmarks' centre, 0.6 torso lengths high (no shoulders). ``hand``: the better-seen hand's
    landmarks' centre, 0.45 torso lengths high. ``None`` when the torso is not found.
    """
    kp = np.asarray(kp33, dtype=np.float64)
    conf = np.asarray(conf, dtype=np.float64)
    sh, hip = kp[list(_SHOULDERS)].mean(0), kp[list(_HIPS)].mean(0)
    torso = float(np.linalg.norm(sh - hip))
    if not np.isfinite(torso) or torso < 4.0:
        return None
    if region == "upper-body":
        h = 1.9 * torso
        return Window(float((sh[0] + hip[0]) / 2), float(hip[1] - h / 2), h * aspect, h)
    if region == "head":
        c = kp[list(_FACE)].mean(0)
        h = 0.6 * torso
        return Window(float(c[0]), float(c[1] - 0.05 * torso), h * aspect, h)
    if region == "hand":
        side = max(_HANDS, key=lambda k: float(conf[list(_HANDS[k])].mean()))
        c = kp[list(_HANDS[side])[1:]].mean(0)
        h = 0.45 * torso
        return Window(float(c[0]), float(c[1]), h * aspect, h)
    raise ValueError(f"unknown region {region!r}; one of {', '.join(REGIONS)}")


def smooth_windows(windows: Sequence[Window | None], radius: int = 4) -> list[Window]:
    """Missing windows interpolated from their neighbours (held at the ends), then a centred moving
    average over ``2·radius + 1`` frames: a steady virtual camera. Raises ``ValueError`` if all
    are missing."""
    have = np.array([w is not None for w in windows])
    if not have.any():
        raise ValueError("no window to smooth")
    t = np.arange(len(windows))
    vals = np.array([[w.cx, w.cy, w.w, w.h] for w in windows if w is not None])
    a = np.stack([np.interp(t, t[have], vals[:, k]) for k in range(4)], axis=1)
    if radius > 0 and len(a) > 1:
        pad = np.pad(a, ((radius, radius), (0, 0)), mode="edge")
        kernel = np.ones(2 * radius + 1) / (2 * radius + 1)
        a = np.stack([np.convolve(pad[:, k], kernel, mode="valid") for k in range(4)], axis=1)
    return [Window(*map(float, row)) for row in a]


def keep_inside(win: Window, width: int, height: int) -> Window:
    """The window shifted (not resized) to lie inside a ``width × height`` frame where it fits: a
    real camera sees no black border. A window larger than the frame along an axis stays centred
    there."""
    def shift(c: float, half: float, n: int) -> float:
        lo, hi = half - 0.5, n - 0.5 - half
        return c if lo > hi else min(max(c, lo), hi)

    return Window(shift(win.cx, win.w / 2, width), shift(win.cy, win.h / 2, height), win.w, win.h)


def cut_clip(frames: Sequence[np.ndarray], camera, region: str, size: tuple[int, int] = (640, 480),
             *, static: bool = False, detector=None, smooth_radius: int = 4) -> SimClip:
    """Cut every frame of a clip of a whole person to ``region``'s view at ``size`` (w, h).

    Args:
        frames: BGR frames of one video (or one photo), all the same size.
        camera: their :class:`~perspose_rt.camera.CameraModel`.
        region: one of :data:`REGIONS`.
        static: the frames are unrelated photos (BlazePose's photo mode).
        detector: a :class:`~perspose_rt.types.Detector` to find the person (default: BlazePose,
            video mode unless ``static``; closed here only when made here).
        smooth_radius: frames on each side of the windows' moving average (0: none).

    Raises:
        InputError: nobody is found in any frame.
    """
    import cv2

    from perspose_rt.detect.search import plausible_body

    if region not in REGIONS:
        raise InputError(f"unknown view {region!r}: use one of {', '.join(REGIONS)}")
    own = detector is None
    if own:
        from perspose_rt.detect import BlazePoseDetector

        detector = BlazePoseDetector(static_image_mode=static)
    h0, w0 = frames[0].shape[:2]
    aspect = size[0] / size[1]
    raw: list[Window | None] = []
    try:
        for i, img in enumerate(frames):
            dets = [d for d in detector.detect(img, i / 30.0) if plausible_body(d, w0, h0)]
            d = max(dets, key=lambda d: d.score) if dets else None
            raw.append(None if d is None else region_window(d.keypoints, d.keypoint_conf, region, aspect))
    finally:
        if own:
            detector.close()
    found = np.array([w is not None for w in raw])
    if not found.any():
        raise InputError(f"no person found in the {len(frames)} frame(s) to cut the {region} view from")
    windows = [keep_inside(w, w0, h0) for w in smooth_windows(raw, smooth_radius)]
    images, cameras = [], []
    for img, win in zip(frames, windows, strict=True):
        M = window_affine(win, size)
        images.append(cv2.warpAffine(img, M, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT))
        cameras.append(affine_camera(camera, M, size, f"{region} view"))
    return SimClip(images, cameras, windows, found, region, (int(size[0]), int(size[1])))
