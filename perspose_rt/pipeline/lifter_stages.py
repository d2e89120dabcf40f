"""The default estimator as two stages: MediaPipe BlazePose (``detect``) and the lifter (``lift``).

``detect``: BlazePose landmarks → H36M-17 keypoints and confidences; the lifter gets them
undistorted when the camera has lens distortion (it assumes a pinhole), the result file keeps
them as detected in the image. MediaPipe tracks the person between frames
in video mode and re-runs its detector only when the track is lost.

``lift``: 2D keypoints + K → camera-space 3D joints (metres) with the shipped lifter, frame by
frame through its causal stream (reset when the person is lost).
"""

from __future__ import annotations

import numpy as np

from perspose_rt.metrics.joints import H36M17_NAMES
from perspose_rt.pipeline.post import ROOT, invalid_pose
from perspose_rt.pipeline.runner import Packet
from perspose_rt.types import PoseResult

JOINT_FORMAT = "h36m17"
NUM_JOINTS = len(H36M17_NAMES)


class DetectStage:
    """BlazePose on the full frame → ``packet.detection`` and H36M-17 keypoints in ``packet.data``.

    Args:
        static_image_mode: True for unrelated photos (detector on every image), False for video.
        min_detection_confidence: MediaPipe's person-detection threshold.
        smooth_landmarks: MediaPipe's own landmark smoothing (video only); off when the pipeline
            smooths the 3D joints itself, so the two filters' lags do not add up.
    """

    name = "detect"

    def __init__(self, static_image_mode: bool = False, min_detection_confidence: float = 0.5,
                 smooth_landmarks: bool | None = None) -> None:
        from perspose_rt.detect import BlazePoseDetector

        self.detector = BlazePoseDetector(static_image_mode=static_image_mode,
                                          min_detection_confidence=min_detection_confidence,
                                          smooth_landmarks=smooth_landmarks)

    def __call__(self, p: Packet) -> Packet:
        from perspose_rt.detect import blazepose_to_h36m

        det = self.detector.detect(p.frame.image)
        p.detection = det
        if det is not None and det.keypoints is not None:
            kp_img, conf = blazepose_to_h36m(np.asarray(det.keypoints), np.asarray(det.keypoint_conf))
            kp_img = np.asarray(kp_img, dtype=np.float64)
            cam = p.frame.camera
            kp = cam.undistort_points(kp_img) if cam.has_distortion else kp_img
            if np.all(np.isfinite(kp)):
                p.data["kp2d"], p.data["kp2d_image"] = kp, kp_img
                p.data["conf2d"] = np.asarray(conf, dtype=np.float64)
        return p

    def close(self) -> None:
        self.detector.close()


class LiftStage:
    """H36M-17 keypoints + K → :class:`PoseResult` (invalid row when nobody was detected).

    Args:
        lifter: a :class:`perspose_rt.lifter.Lifter` (``Lifter.load_default()``).
    """

    name = "lift"

    def __init__(self, lifter) -> None:
        self.lifter = lifter
        self.stream = lifter.stream()

    def __call__(self, p: Packet) -> Packet:
        frame = p.frame
        kp = p.data.get("kp2d")
        if kp is None:
            self.stream.reset()
            p.pose = invalid_pose(frame, NUM_JOINTS, JOINT_FORMAT)
            return p
        conf = p.data["conf2d"]
        K = np.asarray(frame.camera.K)
        joints = np.asarray(self.stream.push(kp, K, conf), dtype=np.float64)
        if not np.all(np.isfinite(joints)):
            self.stream.reset()
            p.pose = invalid_pose(frame, NUM_JOINTS, JOINT_FORMAT)
            return p
        kp_img = p.data["kp2d_image"]
        bbox = p.detection.bbox_xyxy if p.detection is not None else np.r_[kp_img.min(0), kp_img.max(0)]
        p.pose = PoseResult(
            frame_index=frame.index, timestamp=frame.timestamp, valid=True, joint_format=JOINT_FORMAT,
            bbox_xyxy=np.asarray(bbox, dtype=np.float64), K=K, joints_2d=kp_img, joints_cam=joints,
            joints_rel=joints - joints[ROOT], confidence=conf)
        return p

    def close(self) -> None:
        pass
