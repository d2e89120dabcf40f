"""Per-person state and the shape of the stages that work on one person at a time.

The tracking stage (:mod:`perspose_rt.pipeline.tracking`) owns one :class:`PersonState` per
track and hands each packet a snapshot ``packet.states`` (track id → state) of the tracks in it.
The stages after it are :class:`PerPersonStage` subclasses: for every person of a frame they get
``(person, state, frame)`` and return the person (or ``None`` to drop it from the frame, e.g.
when its pose cannot be estimated). Each stage keeps its temporal object in its own field of the
state (``lifter_stream``, ``smoother``, ``skeleton``), so two people never share a filter and a
stage never needs to know how many people there are.

Threads: stage *k* handles frame *t* while stage *k − 1* handles frame *t + 1*, but each field of
a state is read and written by one stage only, so no lock is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from perspose_rt.types import Frame, Keypoints2D, Person

if TYPE_CHECKING:
    from perspose_rt.pipeline.runner import Packet


@dataclass(eq=False)
class PersonState:
    """Everything remembered about one tracked person between frames.

    Attributes:
        track_id: the track's identity (``-1`` while the track is tentative).
        box: ``(4,)`` last box (xyxy, the tracker's pixels).
        keypoints: the last 2D keypoints (association by keypoint distance), or ``None``.
        velocity: ``(2,)`` box-centre motion in pixels per frame (damped running estimate).
        first_seen, last_seen: frame indices.
        hits: consecutive frames with a detection; misses: consecutive frames without one.
        confirmed: reported (born after ``birth_hits`` hits).
        interrupted: the estimator could not give this person a pose after the last match (the
            next match starts a new segment, as after a miss).
        next_box: ``perspose``: the box predicted from this frame's 3D for the next frame.
        lifter_stream: the lifter's causal stream (``lift`` stage).
        smoother: the temporal filter (``smooth`` stage).
        skeleton: the track's one skeleton (``ik`` stage, :class:`~perspose_rt.pipeline.track_skeleton.TrackSkeleton`).
    """

    track_id: int
    box: np.ndarray
    keypoints: Keypoints2D | None = None
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    first_seen: int = 0
    last_seen: int = 0
    hits: int = 1
    misses: int = 0
    confirmed: bool = False
    interrupted: bool = False
    next_box: np.ndarray | None = None
    lifter_stream: Any = None
    smoother: Any = None
    skeleton: Any = None


class PerPersonStage:
    """A stage that maps ``(person, state, frame) → person | None`` over the people of a packet.

    Subclasses set :attr:`name` and implement :meth:`process`.
    """

    name = "per-person"

    def __call__(self, p: Packet) -> Packet:
        out = []
        for person in p.people:
            state = p.states.get(person.track_id)
            if state is None:
                raise RuntimeError(f"stage {self.name}: person {person.track_id} has no state "
                                   "(the tracking stage must run first)")
            res = self.process(person, state, p.frame)
            if res is not None:
                out.append(res)
        p.people = out
        return p

    def process(self, person: Person, state: PersonState, frame: Frame) -> Person | None:
        raise NotImplementedError

    def close(self) -> None:
        pass
