"""Typed records that flow between pipeline stages.

Conventions (the whole package follows them):

* Image pixels: OpenCV convention, pixel ``(0, 0)``'s centre at ``(0, 0)``; ``u`` right, ``v`` down.
  The PersPose crop's soft-argmax and PE grid use cell centres ``(j + 0.5) * stride`` as the
  official code does (see ``docs/GEOMETRY.md``).
* Camera frame: OpenCV (x right, y down, z forward), **metres**.
* Images are ``uint8`` BGR ``(H, W, 3)`` as OpenCV returns them, unless a name says ``rgb``.
* Boxes are ``xyxy`` in original-image pixels, float (as seen, with the lens's distortion).
* Missing values are ``None`` or flagged by ``valid = False``; NaN is never used as data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

#: A joint counts as seen (in the results' ``joint_in_view``, grey when unseen in the overlay
#: and the 3D view) when its confidence reaches this and it lies inside the frame.
SEEN_CONF = 0.5

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
        track_id: the detector's own identity, if it tracks (``0`` for MediaPipe's single-person
            tracker); the pipeline's identities are :attr:`Person.track_id`.
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
        joints_2d: ``(J, 2)`` pixels in the original image: the estimator's own 2D joints (the
            detector's keypoints for the lifter; the projection of the network's unsmoothed 3D
            for PersPose).
        joints_cam: ``(J, 3)`` metres, original camera frame (absolute).
        joints_rel: ``(J, 3)`` metres, root-relative, original camera axes.
        confidence: ``(J,)`` in ``[0, 1]``.
        rotations: ``(J, 3, 3)`` local joint rotations, or ``None`` before IK.
        extras: estimator-specific arrays (e.g. PersPose's ``beta``).
        joints_2d_proj: ``(J, 2)`` the projection of the final ``joints_cam`` (after smoothing and
            the rigid skeleton) through the camera, lens distortion included: the 2D that matches
            the 3D. Set by the pipeline's ``project`` stage; ``None`` before it.
        bone_lengths: ``(J,)`` metres: the track's skeleton whose forward kinematics
            ``joints_cam`` is (rigid IK only; ``None`` otherwise). Index ``j``: the bone from
            ``j``'s parent to ``j``.
        skeleton_settled: that skeleton is the track's final one (it no longer changes).
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
    joints_2d_proj: np.ndarray | None = None
    bone_lengths: np.ndarray | None = None
    skeleton_settled: bool = False


@dataclass
class Keypoints2D:
    """The 2D keypoints of one person in one frame, in the estimator's joint layout.

    Attributes:
        uv: ``(J, 2)`` pixels of an ideal pinhole camera with the frame's ``K`` (the keypoints
            undistorted when the camera has lens distortion): what the geometry and the lifter use.
        uv_image: ``(J, 2)`` pixels as seen in the image (with the lens's distortion).
        confidence: ``(J,)`` in ``[0, 1]`` (MediaPipe's visibility for BlazePose).
        format: joint layout, e.g. ``"h36m17"``.
    """

    uv: np.ndarray
    uv_image: np.ndarray
    confidence: np.ndarray
    format: str


@dataclass
class Person:
    """One person in one frame as it flows through the stages (see ``docs/DEVELOPING.md``).

    Attributes:
        track_id: identity across frames given by the tracking stage (``-1`` before it ran).
        detection: what the detector found (box in image pixels, raw landmarks), if it ran.
        keypoints: the 2D keypoints the estimator lifts (lifter), or ``None``.
        pose: the 3D result once the estimator ran (always ``valid``: a person whose pose could
            not be estimated is removed from the frame instead).
        joints_cam_raw: ``(J, 3)`` camera-space joints before smoothing.
        new_segment: the first frame of this track, or the first after frames where it was not
            seen: temporal state (lifter stream, smoother) starts again; the track's skeleton
            (rigid IK) is kept.
    """

    track_id: int = -1
    detection: Detection | None = None
    keypoints: Keypoints2D | None = None
    pose: PoseResult | None = None
    joints_cam_raw: np.ndarray | None = None
    new_segment: bool = True


class Detector(Protocol):
    """Finds people in a frame: ``detect(bgr, timestamp_s) -> list[Detection]`` (empty when
    nobody is seen), at most :attr:`max_people` of them, and ``close()``. ``timestamp_s`` (the
    frame's capture time) orders the frames of a video for detectors that track."""

    max_people: int

    def detect(self, frame_bgr: np.ndarray, timestamp_s: float | None = None) -> list[Detection]: ...

    def close(self) -> None: ...
