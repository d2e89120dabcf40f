"""The tracker: IoU, assignment, births and deaths with hysteresis, identities kept through a gap."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from perspose_rt.errors import UserError
from perspose_rt.pipeline.tracking import (
    _BIG,
    Candidate,
    Tracker,
    TrackerSettings,
    assign,
    box_iou,
    check_max_people,
)


def test_box_iou_known_answers() -> None:
    a = np.array([[0.0, 0, 10, 10]])
    b = np.array([[0.0, 0, 10, 10], [5.0, 0, 15, 10], [20.0, 20, 30, 30], [3.0, 3, 3, 8]])
    np.testing.assert_allclose(box_iou(a, b), [[1.0, 50 / 150, 0.0, 0.0]])


def test_max_people_bounds() -> None:
    assert check_max_people(1) == 1 and check_max_people(10) == 10
    for bad in (0, 11, -3, 2.5):
        with pytest.raises(UserError, match="--max-people must be an integer from 1 to 10"):
            check_max_people(bad)


def _box(x: float, y: float = 100.0, w: float = 60.0, h: float = 180.0) -> np.ndarray:
    return np.array([x, y, x + w, y + h])


def test_births_need_hits_and_deaths_wait() -> None:
    tr = Tracker(TrackerSettings(max_people=4, birth_hits=2, max_missed=3))
    out = tr.update(0, [Candidate(_box(100))])
    assert out[0] is not None and out[0][0].track_id == 0  # in view at the start: reported at once
    out = tr.update(1, [Candidate(_box(102)), Candidate(_box(400))])  # a newcomer: tentative
    assert out[0][0].track_id == 0 and not out[0][1] and out[1] is None
    out = tr.update(2, [Candidate(_box(104)), Candidate(_box(402))])
    assert out[1] is not None and out[1][0].track_id == 1 and out[1][1]  # born after 2 hits
    for f in range(3, 6):  # person 1 leaves for 3 frames: their track waits
        out = tr.update(f, [Candidate(_box(100 + 2 * f))])
        assert len(tr.tracks) == 2
    out = tr.update(6, [Candidate(_box(112)), Candidate(_box(404))])  # back nearby: same identity
    assert out[1][0].track_id == 1 and out[1][1]  # …and a new segment for the temporal state
    for f in range(7, 11):
        tr.update(f, [])
    assert tr.tracks == [] and tr.deaths == 2


def test_assignment_follows_motion_not_order() -> None:
    tr = Tracker(TrackerSettings(max_people=2))
    ids = None
    for f in range(10):
        a, b = Candidate(_box(100 + 10 * f)), Candidate(_box(500 - 10 * f))
        cands = [a, b] if f % 2 else [b, a]  # the detector's order changes every frame
        out = tr.update(f, cands)
        got = {round(float(c.box[0])): o[0].track_id for c, o in zip(cands, out, strict=True)}
        now = (got[100 + 10 * f], got[500 - 10 * f])
        assert ids is None or now == ids
        ids = now
    assert sorted(ids) == [0, 1]


# ---------------------------------------------------------------------------------------------
# Two Human3.6M people walking past each other, seen by a real Human3.6M camera.

def _project_h36m(X: np.ndarray, cam: dict) -> np.ndarray:
    """World points (..., 3) → pixels with the camera's distortion (the convention in cameras.json)."""
    R, C = np.asarray(cam["R_world_to_cam"]), np.asarray(cam["center_world_m"])
    xc = (X - C) @ R.T
    x = xc[..., :2] / xc[..., 2:3]
    k1, k2, k3 = cam["k"]
    p1, p2 = cam["p"]
    r2 = (x ** 2).sum(-1, keepdims=True)
    radial = 1 + k1 * r2 + k2 * r2 ** 2 + k3 * r2 ** 3 + p1 * x[..., 1:2] + p2 * x[..., 0:1]
    xd = x * radial + np.array([p2, p1]) * r2
    return xd * np.asarray(cam["f"]) + np.asarray(cam["c"])


def _two_walkers(h36m_dir, n: int = 100):
    """Keypoints (2, n, 17, 2) of S9 and S11 walking in opposite directions 1 m apart in depth,
    crossing mid-sequence, and the camera."""
    import json

    cam = json.loads((h36m_dir / "cameras.json").read_text())["cameras"]["S9"]["54138969"]
    poses = np.load(h36m_dir / "poses_3d_17j.npz")
    R = np.asarray(cam["R_world_to_cam"])
    side = R[0] * [1, 1, 0] / np.linalg.norm(R[0, :2])  # camera x axis on the floor
    ahead = R[2] * [1, 1, 0] / np.linalg.norm(R[2, :2])  # viewing direction on the floor
    s = np.linspace(-2.0, 2.0, n)[:, None]
    kps = []
    for key, depth, sign in (("S9/Walking 1", 0.6, 1.0), ("S11/Walking 1", -0.6, -1.0)):
        P = poses[key][: 2 * n: 2].astype(np.float64)  # 50 → 25 fps
        rel = P - P[:, :1] * [1, 1, 0]  # keep the height, drop the recorded walk
        root = sign * s * side + depth * ahead
        kps.append(_project_h36m(rel + root[:, None], cam))
    return np.stack(kps), cam


def _box_of(kp: np.ndarray) -> np.ndarray:
    lo, hi = kp.min(0), kp.max(0)
    pad = 0.1 * (hi - lo)
    return np.r_[lo - pad, hi + pad]


def test_two_people_crossing_keep_their_ids(h36m_dir) -> None:
    """Two real poses walking past each other, with frames where the farther person is hidden by
    the nearer one and frames where the detector misses someone: 0 ID switches while apart,
    at most 1 through the crossing."""
    from perspose_rt.camera import CameraModel
    from perspose_rt.pipeline.runner import Packet
    from perspose_rt.pipeline.tracking import TrackStage
    from perspose_rt.types import Detection, Frame, Keypoints2D, Person

    n = 100
    kps, cam = _two_walkers(h36m_dir, n)
    rng = np.random.default_rng(0)
    kps = kps + rng.normal(0, 2.0, kps.shape)  # detector noise, px
    boxes = np.array([[_box_of(kps[k, i]) for i in range(n)] for k in (0, 1)])
    overlap = np.array([box_iou(boxes[0, i][None], boxes[1, i][None])[0, 0] for i in range(n)])
    assert overlap.max() > 0.3 and overlap[0] == 0 and overlap[-1] == 0  # they do cross
    seen = np.ones((2, n), bool)
    seen[0, overlap > 0.2] = False  # S9 walks behind S11: hidden while they overlap
    seen[0, 15:18] = False  # detector misses
    seen[1, 70:72] = False
    near = np.convolve(overlap > 0, np.ones(11), "same") > 0  # the crossing, ±5 frames
    camera = CameraModel.from_focal_px(float(np.mean(cam["f"])), tuple(cam["resolution_wh"]), source="h36m")
    stage = TrackStage(TrackerSettings(max_people=4, birth_hits=2))
    assigned = np.full((2, n), -1)
    for i in range(n):
        order = [k for k in (1, 0) if seen[k, i]] if i % 2 else [k for k in (0, 1) if seen[k, i]]
        people = [Person(detection=Detection(bbox_xyxy=boxes[k, i], score=0.9),
                         keypoints=Keypoints2D(uv=kps[k, i], uv_image=kps[k, i], confidence=np.ones(17),
                                               format="h36m17")) for k in order]
        p = stage(Packet(frame=Frame(i, i / 25, np.zeros((2, 2, 3), np.uint8), camera), t_capture=0.0,
                         people=people))
        for person in p.people:
            k = order[people.index(person)]
            assigned[k, i] = person.track_id
    switches = {"apart": 0, "crossing": 0}
    for k in (0, 1):
        frames = np.flatnonzero(assigned[k] >= 0)
        for a, b in itertools.pairwise(frames):
            if assigned[k, b] != assigned[k, a]:
                switches["crossing" if near[a:b + 1].any() else "apart"] += 1
    print(f"\nID switches: {switches['apart']} while apart, {switches['crossing']} through the crossing; "
          f"tracks born {stage.tracker.births}; S9 hidden {int((~seen[0]).sum())} frames, S11 "
          f"{int((~seen[1]).sum())}")
    assert (assigned[0, seen[0]] >= 0).mean() > 0.95 and (assigned[1, seen[1]] >= 0).mean() > 0.95
    assert switches["apart"] == 0
    assert switches["crossing"] <= 1
    assert assigned[0, 0] != assigned[1, 0]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 2), st.integers(1, 5), st.integers(0, 2**31 - 1), st.booleans())
def test_assign_matches_scipy(rows: int, cols: int, seed: int, transpose: bool) -> None:
    rng = np.random.default_rng(seed)
    cost = rng.integers(0, 4, size=(rows, cols)).astype(float)  # small integers: ties happen
    cost[rng.random(cost.shape) < 0.3] = _BIG  # gated-out pairs
    cost = cost.T if transpose else cost
    r, c = linear_sum_assignment(cost)
    want = [(int(i), int(j)) for i, j in zip(r, c, strict=True) if cost[i, j] < _BIG]
    assert assign(cost) == want


def test_one_person_tracking_does_not_import_scipy_optimize() -> None:
    code = ("import sys, numpy as np\n"
            "from perspose_rt.pipeline.tracking import Candidate, Tracker, TrackerSettings\n"
            "tr = Tracker(TrackerSettings(max_people=1))\n"
            "for f in range(3):\n"
            "    assert tr.update(f, [Candidate(np.array([10.0 + f, 10, 70, 190]))])[0] is not None\n"
            "print('scipy.optimize' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
