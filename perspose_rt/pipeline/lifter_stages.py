"""The default estimator's own stages: MediaPipe BlazePose (``detect``) and the lifter (``lift``).

``detect``: a :class:`~perspose_rt.types.Detector` (BlazePose) on the full frame → one
:class:`~perspose_rt.types.Person` per detection with its H36M-17 keypoints: ``uv`` undistorted
when the camera has lens distortion (the lifter assumes a pinhole), ``uv_image`` as detected in
the image (what the result file keeps). MediaPipe tracks people between frames in video mode and
re-runs its person detector only when a track is lost.

``lift``: per person, 2D keypoints + K → camera-space 3D joints (metres) with the shipped lifter,
frame by frame through the person's own causal stream (restarted at each new track segment).
"""

from __future__ import annotations

import numpy as np

from perspose_rt.metrics.joints import H36M17_NAMES
from perspose_rt.pipeline.people import PerPersonStage, PersonState
from perspose_rt.pipeline.post import ROOT
from perspose_rt.types import Detection, Detector, Frame, Keypoints2D, Person, PoseResult

JOINT_FORMAT = "h36m17"
NUM_JOINTS = len(H36M17_NAMES)


def person_from_detection(det: Detection, camera) -> Person | None:
    """A BlazePose detection → a :class:`Person` with H36M-17 keypoints (``None`` if not finite)."""
    from perspose_rt.detect import blazepose_to_h36m

    if det.keypoints is None:
        return None
    kp_img, conf = blazepose_to_h36m(np.asarray(det.keypoints), np.asarray(det.keypoint_conf))
    kp_img = np.asarray(kp_img, dtype=np.float64)
    kp = camera.undistort_points(kp_img) if camera.has_distortion else kp_img
    if not np.all(np.isfinite(kp)):
        return None
    return Person(detection=det, keypoints=Keypoints2D(uv=kp, uv_image=kp_img,
                                                       confidence=np.asarray(conf, dtype=np.float64),
                                                       format=JOINT_FORMAT))


class DetectStage:
    """A detector on the full frame → ``packet.people`` (H36M-17 keypoints, no track yet).

    Args:
        detector: a :class:`~perspose_rt.types.Detector` (closed with the stage).
    """

    name = "detect"

    def __init__(self, detector: Detector) -> None:
        self.detector = detector

    def __call__(self, p):
        cam = p.frame.camera
        found = self.detector.detect(p.frame.image, p.frame.timestamp)
        people = [person_from_detection(d, cam) for d in found]
        p.people = [q for q in people if q is not None]
        return p

    def close(self) -> None:
        self.detector.close()


class LiftStage(PerPersonStage):
    """Per person: H36M-17 keypoints + K → a valid :class:`PoseResult` (the person is dropped from
    the frame, and its stream restarted, when the lifter gives non-finite joints).

    Args:
        lifter: a :class:`perspose_rt.lifter.Lifter` (``Lifter.load_default()``).
    """

    name = "lift"

    def __init__(self, lifter) -> None:
        self.lifter = lifter

    def process(self, person: Person, state: PersonState, frame: Frame) -> Person | None:
        kp = person.keypoints
        if kp is None:
            return None
        if state.lifter_stream is None:
            state.lifter_stream = self.lifter.stream()
        elif person.new_segment:
            state.lifter_stream.reset()
        K = np.asarray(frame.camera.K)
        joints = np.asarray(state.lifter_stream.push(kp.uv, K, kp.confidence), dtype=np.float64)
        if not np.all(np.isfinite(joints)):
            state.lifter_stream.reset()
            return None
        det = person.detection
        bbox = det.bbox_xyxy if det is not None else np.r_[kp.uv_image.min(0), kp.uv_image.max(0)]
        person.pose = PoseResult(
            frame_index=frame.index, timestamp=frame.timestamp, valid=True, joint_format=JOINT_FORMAT,
            bbox_xyxy=np.asarray(bbox, dtype=np.float64), K=K, joints_2d=kp.uv_image, joints_cam=joints,
            joints_rel=joints - joints[ROOT], confidence=kp.confidence)
        return person
