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

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from perspose_rt.geometry.camera_math import in_frame
from perspose_rt.metrics.joints import H36M17_NAMES
from perspose_rt.pipeline.people import PerPersonStage, PersonState
from perspose_rt.pipeline.post import ROOT
from perspose_rt.types import Detection, Detector, Frame, Keypoints2D, Person, PoseResult

if TYPE_CHECKING:
    from perspose_rt.detect.search import ExtendedSearch

JOINT_FORMAT = "h36m17"
NUM_JOINTS = len(H36M17_NAMES)
#: H36M-17 limb joints and the joint they hang from (knees from hips, ankles from knees, elbows
#: from shoulders, wrists from elbows).
LIMB_PARENTS = {2: 1, 3: 2, 5: 4, 6: 5, 12: 11, 13: 12, 15: 14, 16: 15}


def limbs_attached(inside: np.ndarray) -> np.ndarray:
    """``(..., 17)`` bool: the joint is inside the frame and, for a limb joint, so is every joint
    of its limb between it and the torso (:data:`LIMB_PARENTS`).

    A knee in the frame whose hip is outside it, or a wrist whose elbow is, is a joint BlazePose
    folded into a close-up of a head or a hand (a real limb enters the frame from its root), so
    it is not seen."""
    ok = np.asarray(inside, dtype=bool).copy()
    for j in sorted(LIMB_PARENTS):  # parents come first: 1 < 2 < 3, 4 < 5 < 6, 11 < 12 < 13, …
        ok[..., j] &= ok[..., LIMB_PARENTS[j]]
    return ok


def person_from_detection(det: Detection, camera, image_size: tuple[int, int] | None = None) -> Person | None:
    """A BlazePose detection → a :class:`Person` with H36M-17 keypoints (``None`` if not finite).

    ``image_size`` (w, h): joints outside the frame get confidence 0, as the lifter saw out-of-view
    joints in training (MediaPipe still places them, with a middling visibility), and so do limb
    joints whose limb leaves the frame between them and the torso (:func:`limbs_attached`)."""
    from perspose_rt.detect import blazepose_to_h36m

    if det.keypoints is None:
        return None
    kp_img, conf = blazepose_to_h36m(np.asarray(det.keypoints), np.asarray(det.keypoint_conf))
    kp_img = np.asarray(kp_img, dtype=np.float64)
    if image_size is not None:
        conf = np.where(limbs_attached(in_frame(kp_img, *image_size)), conf, 0.0)
    kp = camera.undistort_points(kp_img) if camera.has_distortion else kp_img
    if not np.all(np.isfinite(kp)):
        return None
    return Person(detection=det, keypoints=Keypoints2D(uv=kp, uv_image=kp_img,
                                                       confidence=np.asarray(conf, dtype=np.float64),
                                                       format=JOINT_FORMAT))


class DetectStage:
    """A detector on the full frame → ``packet.people`` (H36M-17 keypoints, no track yet).

    A detection that shows fewer than 4 body landmarks in the frame (a head or a hand alone) is
    not a person to lift and is dropped. On photos (``static``) with the extended search, each
    person must also survive a second, zoomed look
    (:meth:`~perspose_rt.detect.search.ExtendedSearch.confirm`): BlazePose can invent a whole,
    confident body around a blurred hand. (In a stream, limbs folded into a close-up are caught
    by :func:`limbs_attached`, and a second look on every frame would double the cost.) When
    nobody is left, the extended search looks again
    around the last box, on zoomed tiles and on the turned frame
    (:mod:`perspose_rt.detect.search`); it pays its cost only on such frames.

    Args:
        detector: a :class:`~perspose_rt.types.Detector` (closed with the stage).
        search: ``None``, or a function that makes the
            :class:`~perspose_rt.detect.search.ExtendedSearch` (called on the first frame that
            needs it, so runs that never miss anyone never load its detector).
        static: the frames are unrelated photos (each detection gets the second look).
    """

    name = "detect"

    def __init__(self, detector: Detector, search: Callable[[], ExtendedSearch] | None = None,
                 static: bool = False) -> None:
        self.detector = detector
        self._make_search = search
        self._search: ExtendedSearch | None = None
        self._last_box: np.ndarray | None = None
        self._static = static
        #: frames on which the extended search found someone the plain detector did not.
        self.found_by_search = 0
        #: detections of new people that a second look did not confirm.
        self.rejected_by_second_look = 0

    def _get_search(self) -> ExtendedSearch:
        if self._search is None:
            self._search = self._make_search()
        return self._search

    def __call__(self, p):
        from perspose_rt.detect.search import plausible_body

        image = p.frame.image
        h, w = image.shape[:2]
        found = [d for d in self.detector.detect(image, p.frame.timestamp) if plausible_body(d, w, h)]
        if found and self._static and self._make_search is not None:
            confirmed = [d for d in found if self._get_search().confirm(image, d)]
            self.rejected_by_second_look += len(found) - len(confirmed)
            found = confirmed
        if not found and self._make_search is not None:
            found = [d for d in self._get_search()(image, self._last_box).detections if plausible_body(d, w, h)]
            self.found_by_search += bool(found)
        elif found and self._search is not None:
            self._search.reset()
        if found:
            self._last_box = np.asarray(max(found, key=lambda d: d.score).bbox_xyxy, dtype=np.float64)
        cam = p.frame.camera
        people = [person_from_detection(d, cam, (w, h)) for d in found]
        p.people = [q for q in people if q is not None]
        return p

    def close(self) -> None:
        try:
            self.detector.close()
        finally:
            if self._search is not None:
                self._search.close()


class YieldToDetector:
    """First step of the ``pose`` thread: wait (at most ``timeout_s``) until the detector is
    computing the next frame before working on this one.

    The detect thread is the bottleneck. Right after it hands frame t over, it prepares frame
    t + 1 (colour conversion, MediaPipe's input packet), holding the GIL in short pieces; the pose
    thread's numpy for frame t, started at that same moment, made it wait for the GIL each time.
    Once MediaPipe computes (GIL released, ≈ 15 ms a frame) the pose work (≈ 3 ms) costs the
    detector nothing. Measured on 750 frames at 640×480 (shared 2-core machine, load 5–6, two
    alternating runs each): the detect thread's off-CPU time before MediaPipe's wait was 3.19 /
    3.10 ms a frame with the pose thread starting at once, 2.23 / 1.55 ms with it delayed 1.5 ms,
    1.62 / 1.57 ms without a pose thread. The timeout bounds the added latency when the detector
    is idle (a live camera between frames, the end of a file).

    Args:
        computing: the detector's event, set while it computes (``BlazePoseDetector.computing``).
        timeout_s: longest wait.
    """

    name = "wait"

    def __init__(self, computing, timeout_s: float = 0.002) -> None:
        self.computing = computing
        self.timeout_s = timeout_s

    def __call__(self, p):
        self.computing.wait(self.timeout_s)
        return p

    def close(self) -> None:
        pass


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
