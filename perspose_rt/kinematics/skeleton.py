"""Rest skeletons: joint names, parents and rest offsets in the canonical body frame.

Canonical (rest) frame, the one SMPL and BVH files use: **y up, x towards the person's left,
z forward** (the direction the person faces), metres. ``offsets[j]`` is the vector from
``parent(j)`` to ``j`` in the rest pose (``offsets[0]`` is the root's rest position, zero here).

Rotation convention (BVH and SMPL): the local rotation of joint ``j`` turns the bones from ``j``
to its children; the rest frame of every joint is the canonical frame, so a skeleton whose local
rotations are all the identity stands in its rest pose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perspose_rt.metrics.joints import H36M17_NAMES, H36M17_PARENTS, SMPL24_NAMES, SMPL24_PARENTS


@dataclass(frozen=True)
class Skeleton:
    """A kinematic tree with its rest pose.

    Attributes:
        name: ``"h36m17"`` or ``"smpl24"``.
        joint_names: (J,) names.
        parents: (J,) parent index per joint, -1 for the root (parents precede children).
        offsets: (J, 3) float64 rest bone vectors ``rest[j] - rest[parent(j)]`` in the canonical
            frame, metres; row 0 is the root's rest position.
    """

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray

    def __post_init__(self) -> None:
        off = np.asarray(self.offsets, dtype=np.float64)
        if off.shape != (len(self.parents), 3):
            raise ValueError(f"offsets must be ({len(self.parents)}, 3), got {off.shape}")
        if self.parents[0] != -1 or any(p >= j for j, p in enumerate(self.parents[1:], 1)):
            raise ValueError("parents must list the root first and every parent before its children")
        object.__setattr__(self, "offsets", off)

    @property
    def num_joints(self) -> int:
        return len(self.parents)

    @property
    def bone_lengths(self) -> np.ndarray:
        """(J,) rest bone lengths (0 for the root)."""
        lengths = np.linalg.norm(self.offsets, axis=-1)
        lengths[0] = 0.0
        return lengths

    def children(self, j: int) -> list[int]:
        return [c for c, p in enumerate(self.parents) if p == j]

    def rest_joints(self) -> np.ndarray:
        """(J, 3) joint positions of the rest pose (canonical frame, root at ``offsets[0]``)."""
        out = np.zeros_like(self.offsets)
        for j, p in enumerate(self.parents):
            out[j] = self.offsets[j] + (out[p] if p >= 0 else 0.0)
        return out


#: Median bone lengths (metres) of the Human3.6M training subjects S1, S5, S6, S7, S8, per
#: H36M-17 joint (length of the bone from its parent), left and right averaged.
H36M17_DEFAULT_LENGTHS: tuple[float, ...] = (
    0.0, 0.1359, 0.4486, 0.4424, 0.1359, 0.4486, 0.4424, 0.2335, 0.2554, 0.1194, 0.1150,
    0.1494, 0.2789, 0.2486, 0.1494, 0.2789, 0.2486,
)

# Unit rest directions of the H36M-17 bones: a T-pose (legs down, spine and head up, arms
# sideways) in the canonical frame, +x the person's left. The shoulders sit below and in front
# of the thorax as in the mean of the H36M training subjects (fit_h36m17_skeleton).
_H36M17_REST_DIRS = np.array([
    [0, 0, 0],
    [-1, 0, 0], [0, -1, 0], [0, -1, 0],       # right hip, knee, foot
    [1, 0, 0], [0, -1, 0], [0, -1, 0],        # left hip, knee, foot
    [0, 1, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0],  # spine, thorax, neck/nose, head
    [0.9283, -0.2618, 0.2641], [1, 0, 0], [1, 0, 0],     # left shoulder, elbow, wrist
    [-0.9283, -0.2618, 0.2641], [-1, 0, 0], [-1, 0, 0],  # right shoulder, elbow, wrist
], dtype=np.float64)
_H36M17_REST_DIRS /= np.maximum(np.linalg.norm(_H36M17_REST_DIRS, axis=-1, keepdims=True), 1e-12)

#: Hinge axes (canonical frame) of the knees and elbows in the T-pose: a positive rotation about
#: them bends the limb (knees backwards, elbows forwards). Indexed by the hinge joint.
H36M17_HINGE_AXES: dict[int, tuple[float, float, float]] = {
    2: (1.0, 0.0, 0.0), 5: (1.0, 0.0, 0.0), 12: (0.0, -1.0, 0.0), 15: (0.0, 1.0, 0.0),
}


def h36m17_skeleton(bone_lengths: np.ndarray | None = None) -> Skeleton:
    """The H36M-17 T-pose rest skeleton with the given (or the default) bone lengths.

    Args:
        bone_lengths: (17,) length of the bone ending at each joint (index 0 ignored), metres;
            default :data:`H36M17_DEFAULT_LENGTHS`.
    """
    lengths = np.asarray(H36M17_DEFAULT_LENGTHS if bone_lengths is None else bone_lengths, np.float64)
    if lengths.shape != (17,):
        raise ValueError(f"bone_lengths must be (17,), got {lengths.shape}")
    if np.any(~np.isfinite(lengths[1:])) or np.any(lengths[1:] <= 0):
        raise ValueError("bone lengths must be finite and positive")
    return Skeleton("h36m17", H36M17_NAMES, H36M17_PARENTS, _H36M17_REST_DIRS * lengths[:, None])


def _np_frame(a: np.ndarray, h: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    hp = h - (h * a).sum(-1, keepdims=True) * a
    hp = hp / np.linalg.norm(hp, axis=-1, keepdims=True)
    return np.stack([a, hp, np.cross(a, hp)], -1)


# The rigid torso: parent → ((middle, left, right) children, swing bone, twist line R → L).
_TORSO = {0: ((7, 4, 1), (0, 7), (1, 4)), 8: ((9, 11, 14), (8, 9), (14, 11))}
_MIRROR = np.array([-1.0, 1.0, 1.0])


def fit_h36m17_skeleton(joints: np.ndarray, valid: np.ndarray | None = None) -> Skeleton:
    """The rest skeleton of an H36M-17 sequence: its bone lengths and its torso shape.

    Bone lengths are medians (left/right averaged). The pelvis (hips and spine around the
    root) and the upper torso (neck and shoulders around the thorax) are rigid in the skeleton,
    so their rest directions are the mean directions seen in the frames of the pelvis
    (spine bone + hip line) and of the thorax (neck bone + shoulder line), mirrored and averaged
    between left and right. Limbs, spine, neck and head keep the T-pose directions.

    Args:
        joints: (N, 17, 3) positions (any frame), metres.
        valid: (N,) bool frames to use (default: all finite frames).
    """
    x = np.asarray(joints, dtype=np.float64)
    ok = np.all(np.isfinite(x), axis=(1, 2))
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool)
    lengths = fit_bone_lengths(x, H36M17_PARENTS, ok, ((1, 4), (2, 5), (3, 6), (11, 14), (12, 15), (13, 16)))
    x = x[ok]
    off = _H36M17_REST_DIRS * lengths[:, None]
    rest_frame = _np_frame(np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0]))
    for parent, (kids, (a0, a1), (h0, h1)) in _TORSO.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            F = _np_frame(x[:, a1] - x[:, a0], x[:, h1] - x[:, h0])         # (N, 3, 3)
        canon = np.einsum("ij,nkj,nck->nci", rest_frame, F, x[:, kids] - x[:, [parent]])
        with np.errstate(invalid="ignore", divide="ignore"):
            d = canon / np.linalg.norm(canon, axis=-1, keepdims=True)
        d = d[np.all(np.isfinite(d), axis=(1, 2))]  # frames with a degenerate torso say nothing
        if d.shape[0] == 0:
            continue  # keep the default torso directions
        mid, left, right = d.mean(0)
        side = 0.5 * (left + right * _MIRROR)
        for j, v in zip(kids, (mid, side, side * _MIRROR)):
            off[j] = v / np.linalg.norm(v) * lengths[j]
    return Skeleton("h36m17", H36M17_NAMES, H36M17_PARENTS, off)


def fit_bone_lengths(joints: np.ndarray, parents: tuple[int, ...], valid: np.ndarray | None = None,
                     flip_pairs: tuple[tuple[int, int], ...] = ()) -> np.ndarray:
    """Robust per-bone lengths of a sequence: the median over valid frames, left/right averaged.

    Args:
        joints: (N, J, 3) positions.
        parents: (J,) parent indices.
        valid: (N,) bool, frames to use (default all finite frames).
        flip_pairs: (left, right) joint pairs whose bone lengths are averaged (symmetric body).

    Returns:
        (J,) float64 lengths, 0 at the root.
    """
    x = np.asarray(joints, dtype=np.float64)
    ok = np.all(np.isfinite(x), axis=(1, 2))
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool)
    if not ok.any():
        raise ValueError("no valid frame to measure bone lengths from")
    par = np.asarray(parents)
    lengths = np.zeros(len(parents))
    lengths[1:] = np.median(np.linalg.norm(x[ok][:, 1:] - x[ok][:, par[1:]], axis=-1), axis=0)
    for a, b in flip_pairs:
        lengths[a] = lengths[b] = 0.5 * (lengths[a] + lengths[b])
    return lengths


# Generic SMPL-24 rest skeleton (T-pose) used when no SMPL model file is available: the joint
# layout of an average adult SMPL body, metres, canonical frame. Only directions matter to the
# IK; lengths are rescaled to the predicted bones.
_SMPL24_GENERIC_OFFSETS = np.array([
    [0.000, 0.000, 0.000],     # 0 pelvis
    [0.070, -0.090, 0.000],    # 1 left_hip
    [-0.070, -0.090, 0.000],   # 2 right_hip
    [0.000, 0.110, -0.020],    # 3 spine1
    [0.035, -0.375, 0.000],    # 4 left_knee
    [-0.035, -0.375, 0.000],   # 5 right_knee
    [0.000, 0.135, 0.010],     # 6 spine2
    [-0.005, -0.400, -0.040],  # 7 left_ankle
    [0.005, -0.400, -0.040],   # 8 right_ankle
    [0.000, 0.055, 0.000],     # 9 spine3
    [0.020, -0.055, 0.120],    # 10 left_foot
    [-0.020, -0.055, 0.120],   # 11 right_foot
    [0.000, 0.215, -0.030],    # 12 neck
    [0.075, 0.115, -0.005],    # 13 left_collar
    [-0.075, 0.115, -0.005],   # 14 right_collar
    [0.005, 0.090, 0.050],     # 15 head
    [0.100, 0.030, -0.010],    # 16 left_shoulder
    [-0.100, 0.030, -0.010],   # 17 right_shoulder
    [0.255, 0.000, -0.020],    # 18 left_elbow
    [-0.255, 0.000, -0.020],   # 19 right_elbow
    [0.250, 0.005, 0.000],     # 20 left_wrist
    [-0.250, 0.005, 0.000],    # 21 right_wrist
    [0.085, -0.010, -0.010],   # 22 left_hand
    [-0.085, -0.010, -0.010],  # 23 right_hand
], dtype=np.float64)


def smpl24_generic_skeleton(bone_lengths: np.ndarray | None = None) -> Skeleton:
    """A built-in SMPL-24 T-pose rest skeleton, optionally rescaled to the given bone lengths."""
    off = _SMPL24_GENERIC_OFFSETS.copy()
    if bone_lengths is not None:
        lengths = np.asarray(bone_lengths, dtype=np.float64)
        if lengths.shape != (24,) or np.any(lengths[1:] <= 0) or np.any(~np.isfinite(lengths[1:])):
            raise ValueError("bone_lengths must be (24,) finite and positive (index 0 ignored)")
        off[1:] *= (lengths[1:] / np.linalg.norm(off[1:], axis=-1))[:, None]
    return Skeleton("smpl24", SMPL24_NAMES, SMPL24_PARENTS, off)


def smpl24_skeleton_from_joints(rest_joints: np.ndarray) -> Skeleton:
    """The SMPL-24 rest skeleton of a model's rest joints ``J(β)`` (24, 3)."""
    j = np.asarray(rest_joints, dtype=np.float64)
    par = np.asarray(SMPL24_PARENTS)
    off = j.copy()
    off[1:] = j[1:] - j[par[1:]]
    return Skeleton("smpl24", SMPL24_NAMES, SMPL24_PARENTS, off)
