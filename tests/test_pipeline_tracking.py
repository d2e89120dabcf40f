"""The tracker: IoU, assignment, births and deaths with hysteresis, identities kept through a gap."""

from __future__ import annotations

import numpy as np
import pytest

from perspose_rt.errors import UserError
from perspose_rt.pipeline.tracking import Candidate, Tracker, TrackerSettings, box_iou, check_max_people


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
