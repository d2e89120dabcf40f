"""Typed records that flow between pipeline stages.

Conventions (the whole package follows them):

* Image pixels: OpenCV convention, pixel ``(0, 0)``'s centre at ``(0, 0)``; ``u`` right, ``v`` down.
  The PersPose crop's soft-argmax and PE grid use cell centres ``(j + 0.5) * stride`` as the
  official code does (see ``docs/GEOMETRY.md``).
* Camera frame: OpenCV (x right, y down, z forward), **metres**.
* Images are ``uint8`` BGR ``(H, W, 3)`` as OpenCV returns them, unless a name says ``rgb``.
* Boxes are ``xyxy`` in original-image pixels, float.
* Missing values are ``None`` or flagged by ``valid = False``; NaN is never used as data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # annotations only: keeps this module free of import cycles
    from perspose_rt.camera.model import CameraModel


@dataclass
class Frame:
    """One captured image.

    Attributes:
        index: 0-based frame number in its source (never reused; gaps mean dropped frames).
        timestamp: capture time in seconds (``time.perf_counter()`` clock for live sources,
            ``index / fps`` for files).
        image: ``(H, W, 3)`` uint8 BGR.
        camera: intrinsics of this frame (already scaled to the frame's resolution).
        source: human-readable name of the source (device, file name, …).
    """

    index: int
    timestamp: float
    image: np.ndarray
    camera: CameraModel
    source: str = ""


@dataclass
class Detection:
    """One person found in a frame.

    Attributes:
        bbox_xyxy: ``(4,)`` float box in original-image pixels.
        score: detector confidence in ``[0, 1]``.
        keypoints: ``(K, 2)`` float pixels, or ``None`` for box-only detectors.
        keypoint_conf: ``(K,)`` float in ``[0, 1]``, or ``None``.
        keypoint_format: name of the keypoint layout (``"blazepose33"``, ``"h36m17"``, …).
        track_id: stable identity across frames (``0`` for single-person tracking).
    """

    bbox_xyxy: np.ndarray
    score: float
    keypoints: np.ndarray | None = None
    keypoint_conf: np.ndarray | None = None
    keypoint_format: str = ""
    track_id: int = 0


@dataclass
class PoseResult:
    """The 3D pose of one person in one frame.

    Attributes:
        frame_index: index of the frame it came from.
        timestamp: capture timestamp of that frame (seconds).
        valid: ``False`` when nobody was found; then the arrays below are zeros, never NaN.
        joint_format: ``"h36m17"`` (lifter) or ``"perspose25"`` (image network).
        bbox_xyxy: ``(4,)`` person box in original pixels.
        K: ``(3, 3)`` intrinsics used.
        joints_2d: ``(J, 2)`` pixels in the original image.
        joints_cam: ``(J, 3)`` metres, original camera frame (absolute).
        joints_rel: ``(J, 3)`` metres, root-relative, original camera axes.
        confidence: ``(J,)`` in ``[0, 1]``.
        rotations: ``(J, 3, 3)`` local joint rotations, or ``None`` before IK.
        extras: estimator-specific arrays (e.g. PersPose's ``beta``).
    """

    frame_index: int
    timestamp: float
    valid: bool
    joint_format: str
    bbox_xyxy: np.ndarray
    K: np.ndarray
    joints_2d: np.ndarray
    joints_cam: np.ndarray
    joints_rel: np.ndarray
    confidence: np.ndarray
    rotations: np.ndarray | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)
