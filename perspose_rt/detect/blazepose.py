"""MediaPipe BlazePose (``mediapipe==0.10.21``, ``solutions.pose``) as the product's detector.

Only ``model_complexity=1`` is used: its landmark model (``pose_landmark_full.tflite``) and the
person detector (``pose_detection.tflite``) ship inside the mediapipe wheel. Complexities 0 and 2
download their models from the internet when constructed, so this wrapper never requests them
and checks that the bundled files exist before starting MediaPipe.

Modes: ``static_image_mode=True`` runs the person detector on every image (photos);
``False`` tracks the person from frame to frame, re-detecting only when the track is lost
(video and live). MediaPipe's own landmark smoothing (``smooth_landmarks``) is a second temporal
filter: the pipeline turns it off whenever it runs its own smoother on the 3D joints, so that the
lag is the one its smoother promises (``perspose_rt/pipeline/build.py``).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Self

import numpy as np

from perspose_rt.detect.mediapipe_env import quiet_mediapipe
from perspose_rt.errors import InputError, WeightsError
from perspose_rt.types import Detection

MODEL_COMPLEXITY = 1
_BUNDLED_MODELS = ("modules/pose_landmark/pose_landmark_full.tflite",
                   "modules/pose_detection/pose_detection.tflite")
#: Body landmarks (shoulders … ankles) whose mean visibility is the detection score.
_BODY = (11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
_BOX_PAD = 0.1


def bundled_model_paths() -> list[Path]:
    """The two MediaPipe model files this detector needs, inside the installed wheel."""
    quiet_mediapipe()  # before mediapipe loads: its native log lines are noise to a user
    import mediapipe

    root = Path(mediapipe.__file__).resolve().parent
    return [root / p for p in _BUNDLED_MODELS]


def landmarks_box(keypoints: np.ndarray, conf: np.ndarray, width: int, height: int,
                  min_conf: float = 0.5, pad: float = _BOX_PAD) -> np.ndarray:
    """The box (xyxy) of the landmarks with ``conf ≥ min_conf`` (all if fewer than 2), padded by
    ``pad`` of its size on each side and clipped to the image."""
    sel = conf >= min_conf
    pts = keypoints[sel] if sel.sum() >= 2 else keypoints
    lo, hi = pts.min(0), pts.max(0)
    d = (hi - lo) * pad
    box = np.concatenate([lo - d, hi + d])
    return np.clip(box, 0, [width - 1, height - 1, width - 1, height - 1]).astype(np.float64)


def detection_from_landmarks(kp: np.ndarray, vis: np.ndarray, width: int, height: int) -> Detection:
    """A :class:`Detection` from 33 BlazePose landmarks ``(33, 2)`` px and visibilities ``(33,)``:
    box = the padded box of the visible landmarks, score = the 12 body landmarks' mean visibility."""
    return Detection(bbox_xyxy=landmarks_box(kp, vis, width, height), score=float(vis[list(_BODY)].mean()),
                     keypoints=kp, keypoint_conf=vis, keypoint_format="blazepose33", track_id=0)


class _SignallingGraph:
    """MediaPipe's calculator graph with ``computing`` set while :meth:`wait_until_idle` runs:
    the time the graph computes with the GIL released (``SolutionBase.process`` hands the frame
    over, then waits there; ``mediapipe==0.10.21`` is pinned)."""

    def __init__(self, graph: Any, computing: threading.Event) -> None:
        self._graph, self._computing = graph, computing

    def wait_until_idle(self) -> None:
        self._computing.set()
        try:
            self._graph.wait_until_idle()
        finally:
            self._computing.clear()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._graph, name)


class BlazePoseDetector:
    """One-person 2D landmark detector (33 BlazePose landmarks in pixels): a
    :class:`~perspose_rt.types.Detector` with ``max_people = 1``.

    Args:
        static_image_mode: ``True`` for unrelated photos, ``False`` to track through a video.
        min_detection_confidence: person-detector threshold in [0, 1].
        min_tracking_confidence: below it the tracker re-runs the person detector (video only).
        smooth_landmarks: MediaPipe's landmark smoothing (video only; default: on in video mode).

    Attributes:
        computing: a :class:`threading.Event` set while MediaPipe computes a frame with the GIL
            released: other threads' Python work then costs the detector nothing
            (:class:`~perspose_rt.pipeline.lifter_stages.YieldToDetector`).

    Use as a context manager or call :meth:`close`.
    """

    max_people = 1

    def __init__(self, static_image_mode: bool, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, smooth_landmarks: bool | None = None) -> None:
        for name, v in (("min_detection_confidence", min_detection_confidence),
                        ("min_tracking_confidence", min_tracking_confidence)):
            if not 0.0 <= v <= 1.0:
                raise InputError(f"{name} must be in [0, 1], got {v}")
        missing = [str(p) for p in bundled_model_paths() if not p.is_file()]
        if missing:
            raise WeightsError(f"MediaPipe's bundled pose models are missing ({', '.join(missing)}): "
                               "reinstall mediapipe==0.10.21")
        from mediapipe.python.solutions import pose as mp_pose

        self.static_image_mode = bool(static_image_mode)
        self.smooth_landmarks = (not self.static_image_mode if smooth_landmarks is None
                                 else bool(smooth_landmarks) and not self.static_image_mode)
        self._pose = mp_pose.Pose(
            static_image_mode=self.static_image_mode,
            model_complexity=MODEL_COMPLEXITY,
            smooth_landmarks=self.smooth_landmarks,
            enable_segmentation=False,
            min_detection_confidence=float(min_detection_confidence),
            min_tracking_confidence=float(min_tracking_confidence),
        )
        self.computing = threading.Event()
        self._pose._graph = _SignallingGraph(self._pose._graph, self.computing)

    def detect(self, frame_bgr: np.ndarray, timestamp_s: float | None = None) -> list[Detection]:
        """Find the person in a ``(H, W, 3)`` uint8 BGR image; ``[]`` when nobody is found.
        (``timestamp_s`` is accepted for the :class:`~perspose_rt.types.Detector` protocol;
        the legacy solution orders frames by its own clock.)

        Returns one :class:`~perspose_rt.types.Detection` with ``keypoint_format="blazepose33"``,
        ``keypoints`` (33, 2) pixels (may lie outside the image for occluded limbs),
        ``keypoint_conf`` the landmarks' visibilities, ``bbox_xyxy`` the padded box of the
        visible landmarks and ``score`` the mean visibility of the 12 body landmarks.
        """
        if self._pose is None:
            raise RuntimeError("BlazePoseDetector is closed")
        img = np.asarray(frame_bgr)
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise InputError(f"expected an (H, W, 3) uint8 BGR image, got {img.dtype} {img.shape}")
        import cv2

        h, w = img.shape[:2]
        result = self._pose.process(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        if result.pose_landmarks is None:
            return []
        lms = result.pose_landmarks.landmark
        kp = np.array([[p.x * w, p.y * h] for p in lms], dtype=np.float64)
        vis = np.clip(np.array([p.visibility for p in lms], dtype=np.float64), 0.0, 1.0)
        return [detection_from_landmarks(kp, vis, w, h)]

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

