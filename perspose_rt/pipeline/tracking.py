"""Tracks with stable identities: Hungarian assignment of detections to tracks, births and deaths.

Each frame, the tracker predicts every track's box and keypoints (constant velocity of the box
centre, a running average that decays while the track is unseen), scores every (track, detection) pair and solves the
assignment with :func:`scipy.optimize.linear_sum_assignment` (:func:`assign`):

* **cost** = ``(1 − IoU(predicted box, box)) + kp_weight · d``, where ``d`` is the mean distance
  of the keypoints both sides see (confidence ≥ ``min_conf``) in units of the track's box height
  (the box centres' distance when there are no keypoints);
* **gating**: a pair with ``d > gate · (1 + gate_growth · misses)`` cannot be matched, so a track
  that has been unseen for a while accepts a person reappearing a little further away;
* **cascade**: confirmed tracks are matched first, tentative ones get the detections left over;
* **births** (hysteresis): a new detection starts a *tentative* track, reported (and given its
  identity) only after ``birth_hits`` consecutive frames with a match; on the first frame of
  a stream a track is confirmed at once, so the people already in view are not held back. A tentative track missed once is dropped.
* **deaths** (hysteresis): a confirmed track survives ``max_missed`` frames without a match and
  keeps its identity when the person reappears within the gate; then it is deleted.

:class:`TrackStage` is the pipeline stage that owns the tracker and its
:class:`~perspose_rt.pipeline.people.PersonState` registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from perspose_rt.errors import UserError
from perspose_rt.pipeline.people import PersonState
from perspose_rt.types import Keypoints2D

MAX_PEOPLE_LIMIT = 10
_BIG = 1e6


def assign(cost: np.ndarray) -> list[tuple[int, int]]:
    """The (row, column) pairs of the minimum-cost assignment of ``cost (T, D)``, pairs costing
    ``_BIG`` (gated out) left out.

    One track or one detection (every frame of a one-person run) is the cheapest entry of the
    row or column, the same answer as :func:`scipy.optimize.linear_sum_assignment` (the first
    of equal ones), without importing ``scipy.optimize``: 0.4 s of CPU on the first frame, on
    the detect thread, which is on the way to the first result.
    """
    if cost.size == 0:
        return []
    if cost.shape[0] == 1 or cost.shape[1] == 1:
        k = int(np.argmin(cost.ravel()))
        pairs = [(0, k)] if cost.shape[0] == 1 else [(k, 0)]
    else:
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(cost)
        pairs = [(int(r), int(c)) for r, c in zip(rows, cols, strict=True)]
    return [(r, c) for r, c in pairs if cost[r, c] < _BIG]


def check_max_people(n: int) -> int:
    """``n`` if it is a valid ``--max-people`` (1 … 10), else a :class:`UserError`."""
    if not isinstance(n, int | np.integer) or not 1 <= int(n) <= MAX_PEOPLE_LIMIT:
        raise UserError(f"--max-people must be an integer from 1 to {MAX_PEOPLE_LIMIT}, got {n}")
    return int(n)


@dataclass(frozen=True)
class TrackerSettings:
    """Association and life-cycle parameters (see the module docstring).

    Attributes:
        max_people: most tracks reported per frame.
        birth_hits: consecutive matched frames before a new track is reported.
        max_missed: frames a confirmed track survives unseen.
        gate: largest mean keypoint distance (box heights) for a match, one frame after a sighting.
        gate_growth: relative growth of the gate per missed frame.
        kp_weight: weight of the keypoint distance against ``1 − IoU`` in the cost.
        min_conf: keypoints below this confidence are not compared.
        velocity_weight: weight of the newest displacement in the damped velocity.
        velocity_decay: factor applied to the velocity for every missed frame.
    """

    max_people: int = 1
    birth_hits: int = 1
    max_missed: int = 30
    gate: float = 0.5
    gate_growth: float = 0.25
    kp_weight: float = 1.0
    min_conf: float = 0.3
    velocity_weight: float = 0.5
    velocity_decay: float = 0.9


@dataclass
class Candidate:
    """One detection offered to the tracker: ``box`` (4,) xyxy and optional keypoints ``(J, 2)``
    with confidences ``(J,)``, all in the tracker's pixels."""

    box: np.ndarray
    keypoints: np.ndarray | None = None
    confidence: np.ndarray | None = None


def _area(x: np.ndarray) -> np.ndarray:
    return np.clip(x[..., 2] - x[..., 0], 0, None) * np.clip(x[..., 3] - x[..., 1], 0, None)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes ``a (A, 4)`` and ``b (B, 4)`` (xyxy) → ``(A, B)``; 0 for empty boxes."""
    a, b = np.asarray(a, np.float64)[:, None], np.asarray(b, np.float64)[None]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    union = _area(a) + _area(b) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def _centre(box: np.ndarray) -> np.ndarray:
    return (np.asarray(box[:2]) + np.asarray(box[2:])) / 2.0


class Tracker:
    """Assign detections to tracks frame by frame (see the module docstring).

    :meth:`update` returns, for each candidate, ``(state, new_segment)`` when it belongs to a
    reported (confirmed) track, else ``None``.
    """

    def __init__(self, settings: TrackerSettings | None = None) -> None:
        self.settings = settings or TrackerSettings()
        self.tracks: list[PersonState] = []
        self._next_id = 0
        self._frames = 0
        self.births = 0
        self.deaths = 0

    def reset(self) -> None:
        """Forget every track and restart the identities at 0 (unrelated photos)."""
        self.tracks.clear()
        self._next_id = 0
        self._frames = 0

    # ------------------------------------------------------------------ costs
    def _predict(self, t: PersonState) -> tuple[np.ndarray, np.ndarray | None]:
        shift = t.velocity * (t.misses + 1)
        box = t.box + np.r_[shift, shift]
        kp = None if t.keypoints is None else t.keypoints.uv + shift
        return box, kp

    def _distance(self, t: PersonState, kp_pred: np.ndarray | None, box_pred: np.ndarray, c: Candidate) -> float:
        s = self.settings
        height = max(float(box_pred[3] - box_pred[1]), 1.0)
        if kp_pred is not None and c.keypoints is not None and kp_pred.shape == c.keypoints.shape:
            ok = np.ones(len(kp_pred), bool)
            if t.keypoints is not None:
                ok &= t.keypoints.confidence >= s.min_conf
            if c.confidence is not None:
                ok &= c.confidence >= s.min_conf
            if ok.sum() >= 3:
                return float(np.linalg.norm(c.keypoints[ok] - kp_pred[ok], axis=-1).mean() / height)
        return float(np.linalg.norm(_centre(c.box) - _centre(box_pred)) / height)

    def _cost(self, tracks: Sequence[PersonState], cands: Sequence[Candidate]) -> np.ndarray:
        s = self.settings
        cost = np.full((len(tracks), len(cands)), _BIG)
        if not tracks or not cands:
            return cost
        preds = [self._predict(t) for t in tracks]
        iou = box_iou(np.stack([b for b, _ in preds]), np.stack([c.box for c in cands]))
        for i, (t, (box, kp)) in enumerate(zip(tracks, preds, strict=True)):
            gate = s.gate * (1.0 + s.gate_growth * t.misses)
            for j, c in enumerate(cands):
                d = self._distance(t, kp, box, c)
                if d <= gate:
                    cost[i, j] = (1.0 - iou[i, j]) + s.kp_weight * d
        return cost

    @staticmethod
    def _assign(cost: np.ndarray) -> list[tuple[int, int]]:
        return assign(cost)

    # ------------------------------------------------------------------ update
    def update(self, frame_index: int, candidates: Sequence[Candidate]) -> list[tuple[PersonState, bool] | None]:
        """Advance one frame with its detections (in the same pixels every frame)."""
        s = self.settings
        self._frames += 1
        out: list[tuple[PersonState, bool] | None] = [None] * len(candidates)
        free = list(range(len(candidates)))
        matched: set[int] = set()
        for group in ([t for t in self.tracks if t.confirmed], [t for t in self.tracks if not t.confirmed]):
            if not group or not free:
                continue
            pairs = self._assign(self._cost(group, [candidates[j] for j in free]))
            taken = []
            for r, c in pairs:
                t, j = group[r], free[c]
                out[j] = self._hit(t, candidates[j], frame_index)
                matched.add(id(t))
                taken.append(j)
            free = [j for j in free if j not in taken]
        for t in list(self.tracks):
            if id(t) not in matched:
                self._miss(t)
        for j in free:
            t = PersonState(track_id=-1, box=np.asarray(candidates[j].box, np.float64).copy(),
                            keypoints=self._kp(candidates[j]), first_seen=frame_index, last_seen=frame_index)
            self.tracks.append(t)
            out[j] = self._maybe_confirm(t)
        # report at most max_people (the longest-lived tracks first)
        reported = sorted((j for j, o in enumerate(out) if o is not None), key=lambda j: out[j][0].first_seen)
        for j in reported[s.max_people:]:
            out[j] = None
        return out

    @staticmethod
    def _kp(c: Candidate) -> Keypoints2D | None:
        if c.keypoints is None:
            return None
        kp = np.asarray(c.keypoints, np.float64)
        conf = np.ones(len(kp)) if c.confidence is None else np.asarray(c.confidence, np.float64)
        return Keypoints2D(uv=kp, uv_image=kp, confidence=conf, format="")

    def _hit(self, t: PersonState, c: Candidate, frame_index: int) -> tuple[PersonState, bool] | None:
        s = self.settings
        box = np.asarray(c.box, np.float64)
        if np.all(box[2:] - box[:2] >= 1.0):  # a degenerate box would wreck the next predictions
            gap = max(frame_index - t.last_seen, 1)
            step = (_centre(box) - _centre(t.box)) / gap
            t.velocity = s.velocity_weight * step + (1 - s.velocity_weight) * t.velocity
            t.box = box.copy()
        was_missing = t.misses > 0 or t.interrupted
        t.interrupted = False
        t.keypoints = self._kp(c)
        t.last_seen = frame_index
        t.hits += 1
        t.misses = 0
        if not t.confirmed:
            return self._maybe_confirm(t)
        return t, was_missing

    def _maybe_confirm(self, t: PersonState) -> tuple[PersonState, bool] | None:
        s = self.settings
        if t.hits >= s.birth_hits or self._frames == 1:
            t.confirmed = True
            t.track_id = self._next_id
            self._next_id += 1
            self.births += 1
            return t, True
        return None

    def _miss(self, t: PersonState) -> None:
        t.misses += 1
        t.hits = 0
        t.velocity = t.velocity * self.settings.velocity_decay  # do not extrapolate a stale motion for ever
        if not t.confirmed or t.misses > self.settings.max_missed:
            self.tracks.remove(t)
            self.deaths += t.confirmed


class TrackStage:
    """The ``track`` stage: gives each detected person a stable ``track_id`` and its state.

    Reads ``packet.people`` (with ``detection`` and ``keypoints`` in image pixels), keeps only
    the people of reported tracks, sets ``track_id`` and ``new_segment`` and puts the states of
    this frame's tracks into ``packet.states``.

    Args:
        settings: the tracker's parameters.
        static: unrelated photos: every image starts from no track (identities 0, 1, … per photo).
    """

    name = "track"

    def __init__(self, settings: TrackerSettings | None = None, static: bool = False) -> None:
        self.tracker = Tracker(settings)
        self.static = static

    def __call__(self, p):
        if self.static:
            self.tracker.reset()
        cands = []
        for person in p.people:
            kp = person.keypoints
            box = person.detection.bbox_xyxy if person.detection is not None else np.r_[
                kp.uv_image.min(0), kp.uv_image.max(0)]
            cands.append(Candidate(np.asarray(box, np.float64), None if kp is None else kp.uv_image,
                                   None if kp is None else kp.confidence))
        res = self.tracker.update(p.frame.index, cands)
        people, states = [], {}
        for person, r in zip(p.people, res, strict=True):
            if r is None:
                continue
            state, new_segment = r
            person.track_id, person.new_segment = state.track_id, new_segment
            people.append(person)
            states[state.track_id] = state
        p.people = sorted(people, key=lambda q: q.track_id)
        p.states = states
        return p

    def close(self) -> None:
        pass
