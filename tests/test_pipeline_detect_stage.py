"""The lifter's detect stage: heads and hands alone are not people, out-of-frame joints are not
seen, and the extended search runs only when nobody was found."""

from __future__ import annotations

import numpy as np

from perspose_rt.camera import CameraModel
from perspose_rt.detect.search import SearchResult
from perspose_rt.pipeline.lifter_stages import DetectStage
from perspose_rt.pipeline.runner import Packet
from perspose_rt.types import Detection, Frame

W, H = 640, 480
CAM = CameraModel.from_fov(60, (W, H))


def _body(conf_body: float = 0.9, shift=(0.0, 0.0)) -> Detection:
    """A standing BlazePose-33 body ~300 px tall in the middle of the frame."""
    kp = np.zeros((33, 2))
    kp[:11] = (320, 110)  # face
    kp[[11, 12]] = [(290, 150), (350, 150)]  # shoulders
    kp[[13, 14]] = [(280, 210), (360, 210)]
    kp[[15, 16]] = [(275, 260), (365, 260)]
    kp[17:23] = (320, 265)
    kp[[23, 24]] = [(300, 270), (340, 270)]  # hips
    kp[[25, 26]] = [(300, 350), (340, 350)]
    kp[[27, 28]] = [(300, 430), (340, 430)]
    kp[29:] = (320, 440)
    kp += shift
    conf = np.full(33, 0.95)
    conf[11:29] = conf_body
    return Detection(np.r_[kp.min(0), kp.max(0)], 0.9, kp, conf, "blazepose33")


class _Fixed:
    max_people = 1

    def __init__(self, dets):
        self.dets, self.calls, self.closed = dets, 0, False

    def detect(self, image, timestamp_s=None):
        self.calls += 1
        return list(self.dets)

    def close(self):
        self.closed = True


class _Search:
    def __init__(self, dets):
        self.dets, self.calls, self.closed, self.resets = dets, [], False, 0

    def __call__(self, image, last_box=None):
        self.calls.append(None if last_box is None else np.asarray(last_box).copy())
        return SearchResult(list(self.dets), "tiles2x2" if self.dets else "", 3)

    def reset(self):
        self.resets += 1

    def close(self):
        self.closed = True


def _packet(i: int = 0) -> Packet:
    return Packet(frame=Frame(i, i / 30, np.zeros((H, W, 3), np.uint8), CAM, "test"), t_capture=0.0)


def test_a_head_alone_is_not_a_person():
    head = _body(conf_body=0.1)  # BlazePose's invented body: low visibility everywhere below the face
    stage = DetectStage(_Fixed([head]))
    assert stage(_packet()).people == []


def test_joints_outside_the_frame_are_not_seen():
    desk = _body(shift=(0.0, 150.0))  # cut at the hips: knees and ankles below the bottom edge
    person = DetectStage(_Fixed([desk]))(_packet()).people[0]
    conf = person.keypoints.confidence
    below = person.keypoints.uv_image[:, 1] > H - 1
    assert below.sum() == 4 and np.all(conf[below] == 0) and np.all(conf[~below] > 0.5)


def test_the_search_runs_only_when_nobody_is_found_and_is_made_once():
    made = []
    search = _Search([_body(shift=(5.0, 0.0))])
    detector = _Fixed([_body()])

    def make():
        made.append(1)
        return search

    stage = DetectStage(detector, make)
    assert len(stage(_packet(0)).people) == 1 and made == []  # found: no search, none built
    detector.dets = []
    out = stage(_packet(1))
    assert len(out.people) == 1 and made == [1] and stage.found_by_search == 1
    np.testing.assert_allclose(search.calls[0], _body().bbox_xyxy)  # around the last box
    search.dets = []
    assert stage(_packet(2)).people == [] and made == [1]  # built once
    detector.dets = [_body()]
    stage(_packet(3))
    assert search.resets == 1 and len(search.calls) == 2  # found again: the search's back-off restarts
    stage.close()
    assert detector.closed and search.closed


def test_without_search_a_miss_is_a_miss():
    assert DetectStage(_Fixed([]))(_packet()).people == []


def test_a_limb_that_leaves_the_frame_is_not_seen_below_where_it_left():
    from perspose_rt.pipeline.lifter_stages import limbs_attached

    inside = np.ones(17, bool)
    inside[1] = False  # right hip outside: right knee and ankle are not attached
    inside[12] = False  # left elbow outside: left wrist is not attached
    ok = limbs_attached(inside)
    assert ok.tolist() == [j not in (1, 2, 3, 12, 13) for j in range(17)]
    batch = np.stack([inside, np.ones(17, bool)])
    assert limbs_attached(batch)[1].all() and (limbs_attached(batch)[0] == ok).all()


def test_legs_folded_into_a_head_close_up_are_not_seen():
    """BlazePose on a head close-up puts the hips below the frame and folds knees and ankles up
    into it (seen on the skating video): they get confidence 0."""
    det = _body(shift=(0.0, 250.0))  # hips and everything below them out of the frame ...
    det.keypoints[[25, 26]] = [(300, 400), (340, 400)]  # ... but the knees inside
    det.keypoints[[27, 28]] = [(300, 300), (340, 300)]  # and the ankles above them
    person = DetectStage(_Fixed([det]))(_packet()).people[0]
    conf = person.keypoints.confidence
    assert np.all(conf[[1, 2, 3, 4, 5, 6]] == 0) and np.all(conf[[11, 14]] > 0.5)


def test_photos_need_a_second_look_streams_do_not():
    class _Confirming(_Search):
        def __init__(self, ok):
            super().__init__([])
            self.ok, self.looks = ok, 0

        def confirm(self, image, det):
            self.looks += 1
            return self.ok

    for ok in (True, False):
        search = _Confirming(ok)
        stage = DetectStage(_Fixed([_body()]), lambda s=search: s, static=True)
        assert len(stage(_packet()).people) == int(ok) and search.looks == 1
        assert stage.rejected_by_second_look == int(not ok)
        assert len(search.calls) == int(not ok)  # rejected: nobody left, so the search looks again
    search = _Confirming(False)
    stage = DetectStage(_Fixed([_body()]), lambda: search)  # a stream: no second look
    assert len(stage(_packet()).people) == 1 and search.looks == 0


def test_the_second_look_compares_only_the_landmarks_the_first_look_saw():
    from perspose_rt.detect.search import ExtendedSearch

    desk = _body(shift=(0.0, 150.0))  # knees and ankles below the frame
    image = np.zeros((H, W, 3), np.uint8)

    def again(legs_moved: float, arms_moved: float):
        def detect(view_image):  # the body found again in the zoomed view, legs guessed elsewhere
            from perspose_rt.detect.search import apply_affine, around_box_view

            view = around_box_view(desk.bbox_xyxy, 1.5, 384)
            kp = desk.keypoints.copy()
            kp[25:29, 0] += legs_moved
            kp[13:17, 0] += arms_moved
            return [Detection(desk.bbox_xyxy, 0.9, apply_affine(view.M, kp), desk.keypoint_conf, "blazepose33")]
        return detect

    assert ExtendedSearch(again(200.0, 0.0)).confirm(image, desk)  # unseen legs may disagree
    assert not ExtendedSearch(again(0.0, 200.0)).confirm(image, desk)  # seen arms may not
