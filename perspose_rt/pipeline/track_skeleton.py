"""One skeleton per track: bone lengths from the seen bones, then frozen once they settle.

The rule (docs/KINEMATICS.md, "One skeleton per track"):

1. Every frame of the track until it settles adds its joints and which bones were seen (both
   joints with confidence ≥ ``SEEN_CONF`` inside the frame) to the track's history, and the bone
   lengths are estimated again from it by
   :func:`~perspose_rt.kinematics.bone_prior.estimate_bone_lengths`: seen bones keep their
   measured median, weighted by their seen-frame count; bones seen rarely or never take the
   population's proportion of the seen bones. The lifter's guesses of unseen joints never enter.
2. **Settled**: after at least ``min_frames`` frames, when no bone length has changed by more
   than ``settle_tol`` metres over the last ``settle_frames`` frames and the size those frames
   show on their own (their ``scale``) is within ``scale_tol`` of the whole history's (a median
   does not move until new evidence is the majority: this keeps a track from settling while its
   latest frames disagree, e.g. after a cut), or at the latest after ``max_frames`` frames (2 s
   at 25 fps by default), the skeleton is frozen: from that frame on, for the rest of the track,
   its joints are the forward kinematics of this one skeleton, and nothing is refitted.
3. **Lost frames and shot cuts** (a new segment of the same track) keep everything: the history
   of an unsettled track goes on growing, so the scale after a cut is the median over all the
   evidence before and after it, and moves only as far as the new frames outweigh the old; a
   settled skeleton does not change at all. A different person is a different track (the
   tracker's decision), which starts a new skeleton.

Before any bone was seen, the lengths are the population skeleton scaled to the torso the lifter
gives (spine bones, every frame): the only size there is; such a skeleton does not settle.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from perspose_rt.kinematics.bone_prior import BoneEstimate, estimate_bone_lengths
from perspose_rt.kinematics.skeleton import Skeleton, h36m17_skeleton
from perspose_rt.metrics.joints import H36M17_FLIP_PAIRS, H36M17_PARENTS

_TORSO = [7, 8]  # hip→spine, spine→thorax


class TrackSkeleton:
    """The bone lengths of one H36M-17 track (see the module doc for the rule).

    Args:
        population: (17,) population bone lengths (the H36M mean skeleton), metres.
        prior_frames: weight of the population prediction, in frames.
        min_frames: frames before the skeleton may settle.
        settle_frames: frames over which the lengths must have stayed within ``settle_tol``.
        settle_tol: largest change of any bone (metres) over ``settle_frames`` frames that
            counts as settled.
        max_frames: frames after which the skeleton settles whatever its changes.
        scale_tol: largest relative difference between the last ``settle_frames`` frames' scale
            and the history's that counts as settled.

    Attributes:
        lengths: (17,) current bone lengths (None before the first frame).
        rest: the H36M-17 rest skeleton with these lengths (None before the first frame).
        settled: the skeleton is frozen.
        frames: frames added so far (until it settled).
        estimate: the last :class:`BoneEstimate` (None before any bone was seen).
    """

    def __init__(self, population: np.ndarray, prior_frames: int = 30,
                 min_frames: int = 15, settle_frames: int = 10, settle_tol: float = 0.005,
                 max_frames: int = 50, scale_tol: float = 0.1) -> None:
        self.population = np.asarray(population, dtype=np.float64)
        self.prior_frames = int(prior_frames)
        self.min_frames, self.settle_frames = int(min_frames), int(settle_frames)
        self.settle_tol, self.max_frames = float(settle_tol), int(max_frames)
        self.scale_tol = float(scale_tol)
        self._joints: deque[np.ndarray] = deque(maxlen=int(max_frames))
        self._seen: deque[np.ndarray] = deque(maxlen=int(max_frames))
        self._recent: deque[np.ndarray] = deque(maxlen=self.settle_frames + 1)
        self.lengths: np.ndarray | None = None
        self.settled = False
        self.frames = 0
        self.estimate: BoneEstimate | None = None
        self.rest: Skeleton | None = None

    def update(self, joints: np.ndarray, bone_seen: np.ndarray) -> np.ndarray:
        """Add one frame ((17, 3) joints, (17,) bones seen) unless settled; the current lengths."""
        if self.settled:
            return self.lengths
        self._joints.append(np.asarray(joints, dtype=np.float64))
        self._seen.append(np.asarray(bone_seen, dtype=bool))
        self.frames += 1
        X, S = np.stack(self._joints), np.stack(self._seen)
        est = estimate_bone_lengths(X, S, H36M17_PARENTS, self.population, self.prior_frames, H36M17_FLIP_PAIRS)
        if np.isfinite(est.scale):
            self.estimate, lengths = est, est.lengths
        else:  # nothing seen yet: the lifter's torso is the only size
            torso = np.median(np.linalg.norm(X[:, _TORSO] - X[:, [0, 7]], axis=-1), axis=0).sum()
            self.estimate, lengths = None, self.population * (torso / self.population[_TORSO].sum())
        self.lengths = lengths
        self.rest = h36m17_skeleton(lengths)
        self._recent.append(lengths)
        if self.estimate is not None and self.frames >= self.min_frames:
            change = max(np.max(np.abs(r - lengths)) for r in self._recent)
            full = len(self._recent) == self._recent.maxlen
            if full and change <= self.settle_tol:
                k = self.settle_frames
                latest = estimate_bone_lengths(X[-k:], S[-k:], H36M17_PARENTS, self.population, self.prior_frames,
                                               H36M17_FLIP_PAIRS).scale
                full = abs(latest / est.scale - 1.0) <= self.scale_tol  # NaN (nothing seen lately): False
            if (full and change <= self.settle_tol) or self.frames >= self.max_frames:
                self.settled = True
                self._joints.clear()
                self._seen.clear()
        return self.lengths
