"""Bone lengths of a track from the bones the camera saw, the rest from population ratios.

A 2D→3D lifter places joints the camera did not see (off the frame, hidden) where its training
data makes them likely, and it draws such limbs short: unseen legs come out 15–40 % shorter
than seen ones. A skeleton fitted to every frame's joints inherits that. Here a bone's length
comes only from the frames in which **both its joints were seen**; bones seen in few frames or in
none take their length from the seen bones through the proportions of the population (the
Human3.6M mean skeleton, :data:`~perspose_rt.kinematics.skeleton.H36M17_DEFAULT_LENGTHS`):

* ``measured[b]``: the median length of bone ``b`` over the frames where it was seen (a left/right
  pair pools the samples of both sides; its count is the sum of both sides' frames);
* ``scale``: the weighted median, over the seen bones, of ``measured_b / population_b`` with
  weights ``n_b · population_b`` (``n_b`` their seen-frame counts): the person's size relative to
  the population, each bone weighted by how often it was seen and by its length (long bones are
  measured with less relative error). A median, because a lifter distorts some seen bones too:
  with the pelvis at the frame's edge, the shipped lifter draws the hips at 0.4 times their
  length and the shoulders at 0.7 (the shared skating video cut at the hips), and a mean would
  carry that into every bone predicted from the scale;
* ``predicted[b] = scale · population[b]``;
* ``length[b] = (n_b · measured[b] + k · predicted[b]) / (n_b + k)``, ``k = prior_frames``: a bone
  seen in many more than ``k`` frames keeps its own length, a bone never seen takes the
  population's proportion of the person's seen bones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BoneEstimate:
    """Bone lengths of a sequence (index ``j``: the bone from ``parent(j)`` to ``j``; 0 at the root).

    Attributes:
        lengths: (J,) the blended lengths, metres.
        measured: (J,) medians over the frames where the bone was seen (0 where never seen).
        counts: (J,) int, frames (samples, for left/right pairs) in which the bone was seen.
        predicted: (J,) ``scale · population``.
        scale: the person's size relative to the population skeleton (NaN when no bone was seen;
            then ``lengths`` is NaN too).
    """

    lengths: np.ndarray
    measured: np.ndarray
    counts: np.ndarray
    predicted: np.ndarray
    scale: float


def bone_seen(joint_seen: np.ndarray, parents: tuple[int, ...]) -> np.ndarray:
    """(…, J) bool: both joints of the bone ending at ``j`` were seen (False at the root).

    Args:
        joint_seen: (…, J) bool per joint (confidence ≥ ``SEEN_CONF`` and inside the frame).
        parents: (J,) parent indices, -1 for the root.
    """
    s = np.asarray(joint_seen, dtype=bool)
    par = np.asarray(parents)
    out = np.zeros_like(s)
    out[..., 1:] = s[..., 1:] & s[..., par[1:]]
    return out


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The lower weighted median: the smallest value whose cumulative weight (values sorted)
    reaches half the total. Entries of zero weight are ignored; NaN when none is left."""
    v, w = np.asarray(values, dtype=np.float64), np.asarray(weights, dtype=np.float64)
    keep = w > 0
    if not keep.any():
        return float("nan")
    order = np.argsort(v[keep], kind="stable")
    cum = np.cumsum(w[keep][order])
    return float(v[keep][order][np.searchsorted(cum, 0.5 * cum[-1])])


def estimate_bone_lengths(joints: np.ndarray, seen: np.ndarray, parents: tuple[int, ...],
                          population: np.ndarray, prior_frames: float,
                          flip_pairs: tuple[tuple[int, int], ...] = ()) -> BoneEstimate:
    """Bone lengths from the seen bones, blended with the population proportions (module doc).

    Args:
        joints: (N, J, 3) positions, metres (non-finite frames are left out).
        seen: (N, J) bool: the bone ending at ``j`` was seen in that frame (:func:`bone_seen`).
        parents: (J,) parent indices.
        population: (J,) population bone lengths (0 at the root), metres.
        prior_frames: ``k``, the weight of the population prediction in frames.
        flip_pairs: (left, right) joints whose bones pool their samples.
    """
    x = np.asarray(joints, dtype=np.float64)
    par = np.asarray(parents)
    pop = np.asarray(population, dtype=np.float64)
    J = len(parents)
    if x.ndim != 3 or x.shape[1:] != (J, 3) or np.shape(seen) != x.shape[:2] or pop.shape != (J,):
        raise ValueError(f"expected joints (N, {J}, 3), seen (N, {J}) and population ({J},), "
                         f"got {x.shape}, {np.shape(seen)}, {pop.shape}")
    ok = np.asarray(seen, dtype=bool) & np.all(np.isfinite(x), axis=(1, 2))[:, None]
    ok[:, 0] = False
    bones = np.zeros(x.shape[:2])
    bones[:, 1:] = np.linalg.norm(x[:, 1:] - x[:, par[1:]], axis=-1)
    groups = [(a, b) for a, b in flip_pairs]
    paired = {j for g in groups for j in g}
    groups += [(j,) for j in range(1, J) if j not in paired]
    measured = np.zeros(J)
    counts = np.zeros(J, dtype=np.int64)
    for g in groups:
        samples = np.concatenate([bones[ok[:, j], j] for j in g])
        if samples.size:
            measured[list(g)] = np.median(samples)
            counts[list(g)] = samples.size
    w = counts.astype(np.float64)
    scale = weighted_median(measured[1:] / np.where(pop[1:] > 0, pop[1:], np.inf), (w * pop)[1:])
    predicted = scale * pop
    k = float(prior_frames)
    with np.errstate(invalid="ignore"):
        lengths = (w * measured + k * predicted) / (w + k) if k > 0 else np.where(w > 0, measured, predicted)
    lengths[0] = 0.0
    predicted[0] = 0.0
    return BoneEstimate(lengths, measured, counts, predicted, scale)
