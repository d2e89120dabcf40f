"""Several people at once: MediaPipe Tasks ``PoseLandmarker`` on the wheel's own models.

The bundle comes from :mod:`perspose_rt.detect.tasks_bundle` (built once into the user's cache,
never downloaded). Modes:

* ``"image"`` — unrelated photos: the person detector runs on every image (Tasks IMAGE mode);
* ``"video"`` — files and cameras: Tasks VIDEO mode, which tracks each person's region from
  frame to frame and re-runs the person detector only when fewer than ``max_people`` are
  tracked. Cameras go through the pipeline's newest-frame slot, so the landmarker is called
  synchronously on the newest frame (never the asynchronous LIVE_STREAM mode, whose callbacks
  would bypass the pipeline's ordering and timing). Timestamps must increase: they come from
  the frames (file: ``index / fps``; camera: capture time), made strictly increasing.

mediapipe is imported only when a detector is created.
"""

from __future__ import annotations

from typing import Self

import numpy as np

from perspose_rt.errors import InputError
from perspose_rt.types import Detection

MODES = ("image", "video")


class TasksPoseDetector:
    """Up to ``max_people`` people per frame (33 BlazePose landmarks each, pixels): a
    :class:`~perspose_rt.types.Detector`.

    Args:
        mode: ``"image"`` or ``"video"`` (see the module docstring).
        max_people: ``num_poses`` of the landmarker (1 … 10).
        min_detection_confidence: person-detector threshold in [0, 1].
        min_tracking_confidence: below it a tracked person is re-detected (video).
    """

    def __init__(self, mode: str, max_people: int, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        for name, v in (("min_detection_confidence", min_detection_confidence),
                        ("min_tracking_confidence", min_tracking_confidence)):
            if not 0.0 <= v <= 1.0:
                raise InputError(f"{name} must be in [0, 1], got {v}")
        from mediapipe.tasks.python.core.base_options import BaseOptions
        from mediapipe.tasks.python.vision import pose_landmarker
        from mediapipe.tasks.python.vision.core.vision_task_running_mode import VisionTaskRunningMode

        from perspose_rt.detect.tasks_bundle import ensure_bundle

        self.mode = mode
        self.max_people = int(max_people)
        self.bundle = ensure_bundle()
        opts = pose_landmarker.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.bundle)),
            running_mode=VisionTaskRunningMode.IMAGE if mode == "image" else VisionTaskRunningMode.VIDEO,
            num_poses=self.max_people,
            min_pose_detection_confidence=float(min_detection_confidence),
            min_pose_presence_confidence=float(min_detection_confidence),
            min_tracking_confidence=float(min_tracking_confidence),
            output_segmentation_masks=False)
        self._landmarker = pose_landmarker.PoseLandmarker.create_from_options(opts)
        self._last_ms = -1

    def detect(self, frame_bgr: np.ndarray, timestamp_s: float | None = None) -> list[Detection]:
        """The people in a ``(H, W, 3)`` uint8 BGR image (``[]`` when nobody is found), each a
        :class:`Detection` like :meth:`BlazePoseDetector.detect`'s; ``timestamp_s`` orders video
        frames (default: one millisecond after the previous call)."""
        if self._landmarker is None:
            raise RuntimeError("TasksPoseDetector is closed")
        img = np.asarray(frame_bgr)
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise InputError(f"expected an (H, W, 3) uint8 BGR image, got {img.dtype} {img.shape}")
        import cv2
        import mediapipe as mp

        from perspose_rt.detect.blazepose import detection_from_landmarks

        h, w = img.shape[:2]
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)))
        if self.mode == "image":
            result = self._landmarker.detect(image)
        else:
            ms = round(timestamp_s * 1000.0) if timestamp_s is not None else self._last_ms + 1
            ms = max(ms, self._last_ms + 1)  # strictly increasing, as VIDEO mode requires
            self._last_ms = ms
            result = self._landmarker.detect_for_video(image, ms)
        out = []
        for lms in result.pose_landmarks:
            kp = np.array([[p.x * w, p.y * h] for p in lms], dtype=np.float64)
            vis = np.clip(np.array([p.visibility for p in lms], dtype=np.float64), 0.0, 1.0)
            if np.all(np.isfinite(kp)):
                out.append(detection_from_landmarks(kp, vis, w, h))
        return out

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
