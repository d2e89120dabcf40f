"""Closed-form, batched IK for the 17 Human3.6M joints (numpy or torch; no SVD, no iteration).

Every joint's local rotation is ``L = F(a, h) · F(a_rest, h_rest)ᵀ`` with
``F(a, h) = [â, ĥ⊥, â × ĥ⊥]``: the **swing** aligns the rest bone with the aimed bone ``a`` and
the hint ``h`` fixes the **twist** about it. Every bone is aimed along the *input* bone vector
(child − joint), so the joint angles depend only on the local geometry of the input and an
imperfect fit of the rigid torso moves a limb without bending it. The twist comes from:

* pelvis (root): the hip line (RHip → LHip) about the spine bone (Hip → Spine);
* thorax: the shoulder line (RShoulder → LShoulder) about the neck bone (Thorax → Neck/Nose);
* hips and shoulders: the plane of the limb (normal ``thigh × shin``, ``upper arm × forearm``),
  so that the knee and the elbow bend about their rest hinge axes. For near-straight limbs
  (below 20° of flexion) the twist angle from the twist-free prior fades out continuously (none
  left at 5°); in that zone a hyperextended knee is read as negative flexion, not a 180° twist;
* spine, neck, knees and elbows: no twist information: the minimal (twist-free) swing;
* feet, head and wrists are leaves: no child, so their rotation is undetermined: identity.

See docs/KINEMATICS.md for what the 17 joints cannot determine.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from perspose_rt.geometry._array import ops
from perspose_rt.geometry.rotation import matrix_to_axis_angle
from perspose_rt.kinematics._ik_h36m_scalar import scalar_plan, solve_frames
from perspose_rt.kinematics._rot import cross, dot, frame, norm, normalize, rotate, swing, transpose
from perspose_rt.kinematics.skeleton import (
    H36M17_HINGE_AXES,
    Skeleton,
    fit_h36m17_skeleton,
    h36m17_skeleton,
)
from perspose_rt.metrics.joints import H36M17_PARENTS

Array = Any

#: sin of the limb flexion below which the limb-plane twist fades out (5°) and above which it is
#: used alone (20°).
PLANE_SIN_LO = float(np.sin(np.radians(5.0)))
PLANE_SIN_HI = float(np.sin(np.radians(20.0)))
_LINE_SIN_LO, _LINE_SIN_HI = 0.05, 0.10
LEAVES = (3, 6, 10, 13, 16)
# Joints whose limb-plane hint opposing the prior near straight reads as hyperextension (the
# knee's hinge prior is reliable; the elbow's depends on where the arm swung, so not there).
_HYPEREXTENSION_RULE = (1, 4)
#: numpy batches up to this many frames run the same formulas on Python floats (faster than
#: numpy's per-call overhead for a live, one-person stream); larger batches are vectorised.
SCALAR_MAX_FRAMES = 4

# (joints, primary child, twist source) per level; the source is ("plane", grandchild),
# ("line", (a, b)) for the direction b → a, or None (twist-free swing).
_LEVELS = (
    ((1, 4, 7), (2, 5, 8), (("plane", 3), ("plane", 6), None)),
    ((2, 5, 8), (3, 6, 9), (None, None, ("line", (11, 14)))),
    ((9, 11, 14), (10, 12, 15), (None, ("plane", 13), ("plane", 16))),
    ((12, 15), (13, 16), (None, None)),
)
# Rest hint per joint (canonical frame), perpendicular to its rest primary bone: the hinge
# axis of the child for hips and shoulders, the hinge itself for knees and elbows, the rest
# shoulder line (+x) for the thorax, +x for the spine and neck.
_REST_HINT = {1: H36M17_HINGE_AXES[2], 4: H36M17_HINGE_AXES[5], 7: (1.0, 0.0, 0.0),
              2: H36M17_HINGE_AXES[2], 5: H36M17_HINGE_AXES[5], 8: (1.0, 0.0, 0.0),
              9: (1.0, 0.0, 0.0), 11: H36M17_HINGE_AXES[12], 14: H36M17_HINGE_AXES[15],
              12: H36M17_HINGE_AXES[12], 15: H36M17_HINGE_AXES[15]}


@dataclass(frozen=True)
class IKResult:
    """Joint rotations of a batch of poses.

    Attributes:
        local_rotmats: (N, J, 3, 3) local rotations; row 0 is the root's global rotation
            (``== root_orient``), leaves are the identity.
        axis_angle: (N, J, 3) the same rotations as axis × angle (radians).
        root_orient: (N, 3, 3) rotation from the canonical rest frame (y up, x left, z forward)
            to the camera frame.
        root_transl: (N, 3) root joint position in the camera frame, metres.
        rest: the rest skeleton used.
        joints: (N, J, 3) forward kinematics of the result (the skeleton's joints).
        twist_determined: (N, J) in [0, 1]: how much of each joint's twist came from the input
            (1) rather than the twist-free prior (0). Leaves and twist-free joints are 0.
    """

    local_rotmats: Array
    root_orient: Array
    root_transl: Array
    rest: Skeleton
    joints: Array
    twist_determined: Array

    @functools.cached_property
    def axis_angle(self) -> Array:
        """(N, J, 3) the local rotations as axis × angle (radians), computed on first use."""
        return matrix_to_axis_angle(self.local_rotmats)


def _smoothstep(x: Array) -> Array:
    xp = ops(x)
    t = xp.clip(x, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _hinted_rotation(a_loc: Array, hint_loc: Array, strength: Array, lo: Array, hi: Array,
                     flip: Array, rest_dir: Array, rest_hint: Array, rest_frame_t: Array) -> tuple[Array, Array]:
    """``F(a, h) F(a_rest, h_rest)ᵀ``, the hint's twist faded in over the twist-free prior.

    The twist angle θ from the prior (where the rest hint goes with a twist-free swing) to the
    hint, about the bone, is applied as ``w·θ``: continuous in ``w`` for every θ in (−π, π).
    With ``flip`` (hips: the knee is a reliable hinge), a hint opposing the prior inside the
    fading zone is read as hyperextension (negative flexion) rather than as a half turn.

    Args:
        a_loc: (N, k, 3) aimed bone in the parent's frame.
        hint_loc: (N, k, 3) twist hint in the parent's frame (any length; zero for none).
        strength: (N, k) how well the hint is defined (sin of an angle).
        lo, hi: (k,) strengths where the hint starts to count and where it is used alone.
        flip: (k,) bool, the hyperextension rule.
        rest_dir, rest_hint: (k, 3) rest bone direction and rest hint.
        rest_frame_t: (k, 3, 3) ``F(a_rest, h_rest)ᵀ``.

    Returns:
        (N, k, 3, 3) local rotations and (N, k) weights of the hint.
    """
    xp = ops(a_loc)
    # a zero-length target bone does not say where the bone points: keep the rest direction
    a_loc = a_loc + (norm(a_loc) < 1e-9)[..., None] * rest_dir
    u = normalize(a_loc)
    p = rotate(swing(rest_dir, a_loc), rest_hint)  # where the rest hint goes with no twist
    p = normalize(p - dot(p, u)[..., None] * u)
    w = _smoothstep((strength - lo) / (hi - lo))
    n = normalize(hint_loc - dot(hint_loc, u)[..., None] * u)
    n = xp.where((flip & (w < 1.0) & (dot(n, p) < 0.0))[..., None], -n, n)
    q = cross(u, p)
    phi = w * _atan2(dot(n, q), dot(n, p) + 1e-30)  # never atan2(0, 0): ONNX's Atan2 gives NaN there
    h = _cos(phi)[..., None] * p + _sin(phi)[..., None] * q
    return frame(a_loc, h) @ rest_frame_t, w


def _atan2(y: Array, x: Array) -> Array:
    return np.arctan2(y, x) if ops(y).name == "numpy" else ops(y).t.atan2(y, x)


def _cos(x: Array) -> Array:
    return np.cos(x) if ops(x).name == "numpy" else x.cos()


def _sin(x: Array) -> Array:
    return np.sin(x) if ops(x).name == "numpy" else x.sin()


@dataclass(frozen=True)
class _Level:
    joints: list[int]
    parents: list[int]
    children: list[int]          # primary child per joint
    planes: list[tuple[int, int]]  # (position in level, grandchild) of limb-plane joints
    lines: list[tuple[int, int, int]]  # (position, a, b): hint b → a
    free: list[int]
    lo: np.ndarray
    hi: np.ndarray
    flip: np.ndarray             # hyperextension rule per joint (hips)
    rest_dir: np.ndarray
    rest_hint: np.ndarray
    rest_frame_t: np.ndarray
    all_children: list[int]      # every child of the level's joints
    child_owner: list[int]       # position in level of each child's parent
    owner_joints: list[int]      # joint index of each child's parent
    child_offsets: np.ndarray


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _np_frame(a: np.ndarray, h: np.ndarray) -> np.ndarray:
    a = _unit(a)
    hp = _unit(h - (h * a).sum(-1, keepdims=True) * a)
    return np.stack([a, hp, np.cross(a, hp)], -1)


def _plan(rest: Skeleton) -> tuple[_Level, ...]:
    off = rest.offsets
    levels = []
    root = _Level([0], [-1], [7], [], [(0, 4, 1)], [], np.array([_LINE_SIN_LO]),
                  np.array([_LINE_SIN_HI]), np.array([False]), _unit(off[[7]]), (off[4] - off[1])[None],
                  _np_frame(off[[7]], (off[4] - off[1])[None]).swapaxes(-1, -2), [1, 4, 7],
                  [0, 0, 0], [0, 0, 0], off[[1, 4, 7]])
    levels.append(root)
    for js, cs, sources in _LEVELS:
        planes, lines, free = [], [], []
        lo, hi = np.full(len(js), 2.0), np.full(len(js), 3.0)  # twist-free: weight 0
        for i, src in enumerate(sources):
            if src is None:
                free.append(i)
            elif src[0] == "plane":
                planes.append((i, src[1]))
                lo[i], hi[i] = PLANE_SIN_LO, PLANE_SIN_HI
            else:
                lines.append((i, *src[1]))
                lo[i], hi[i] = _LINE_SIN_LO, _LINE_SIN_HI
        rest_dir = _unit(off[list(cs)])
        rest_hint = np.array([_REST_HINT[j] for j in js], dtype=np.float64)
        kids = [(i, c) for i, j in enumerate(js) for c in rest.children(j)]
        flip = np.array([j in _HYPEREXTENSION_RULE for j in js])
        levels.append(_Level(list(js), [H36M17_PARENTS[j] for j in js], list(cs), planes, lines,
                             free, lo, hi, flip, rest_dir, rest_hint,
                             _np_frame(rest_dir, rest_hint).swapaxes(-1, -2),
                             [c for _, c in kids], [i for i, _ in kids], [js[i] for i, _ in kids],
                             off[[c for _, c in kids]]))
    return tuple(levels)


def solve_ik_h36m17(joints: Array, rest: Skeleton | str | None = None) -> IKResult:
    """Local joint rotations that pose ``rest`` onto H36M-17 joints (closed form, batched).

    Args:
        joints: (N, 17, 3) positions in the camera frame (OpenCV axes), metres; numpy float32 or
            float64, or a torch tensor (any device). Non-finite frames give NaN rotations.
        rest: the rest skeleton; ``None`` for :func:`h36m17_skeleton` with the default bone
            lengths, ``"fit"`` for :func:`fit_h36m17_skeleton` of these joints (their bone lengths
            and torso shape).

    Returns:
        :class:`IKResult` (numpy float64 for numpy input, the input's dtype for tensors).
    """
    xp = ops(joints)
    if joints.ndim != 3 or tuple(int(d) for d in joints.shape[1:]) != (17, 3):
        raise ValueError(f"joints must be (N, 17, 3), got {tuple(joints.shape)}")
    if xp.name == "numpy":
        P = np.asarray(joints, dtype=np.float64)
    else:
        P = joints if joints.dtype.is_floating_point else joints.double()
    if rest is None:
        rest = _DEFAULT_REST
    elif isinstance(rest, str):
        if rest != "fit":
            raise ValueError(f"rest must be a Skeleton, None or 'fit', got {rest!r}")
        Pn = P if xp.name == "numpy" else P.detach().cpu().double().numpy()
        rest = fit_h36m17_skeleton(Pn)
    if rest.name != "h36m17":
        raise ValueError(f"solve_ik_h36m17 needs an h36m17 rest skeleton, got {rest.name!r}")
    plan = _PLANS.get(id(rest))
    if plan is None or plan[0] is not rest:
        levels = _plan(rest)
        plan = (rest, levels, scalar_plan(levels))
        if len(_PLANS) > 64:
            _PLANS.clear()
        _PLANS[id(rest)] = plan
    if xp.name == "numpy" and P.shape[0] <= SCALAR_MAX_FRAMES:
        L, G, Q, W = solve_frames(P, plan[2])
        return IKResult(local_rotmats=L, root_orient=G[:, 0], root_transl=P[:, 0].copy(), rest=rest,
                        joints=Q, twist_determined=W)
    G = xp.zeros_like(P[:, :, :, None] * P[:, :1, None, :])             # (N, 17, 3, 3)
    L = G + xp.eye(3, P)                                                # leaves stay identity
    Q = xp.zeros_like(P)
    W = xp.zeros_like(P[..., 0])
    Q[:, 0] = P[:, 0]
    if xp.name == "numpy":
        c = cb = lambda a: a
    else:
        c = lambda a: xp.asarray(a, like=P)
        cb = lambda a: xp.t.as_tensor(a, device=P.device)
    for lev in plan[1]:
        a_t = P[:, lev.children] - P[:, lev.joints]
        hint = xp.zeros_like(a_t)
        strength = xp.zeros_like(a_t[..., 0])
        if lev.planes:
            pos = [i for i, _ in lev.planes]
            b_t = P[:, [g for _, g in lev.planes]] - P[:, [lev.children[i] for i in pos]]
            n = cross(a_t[:, pos], b_t)
            hint[:, pos] = n
            strength[:, pos] = norm(n) / xp.maximum(norm(a_t[:, pos]) * norm(b_t), 1e-12)
        if lev.lines:
            pos = [i for i, _, _ in lev.lines]
            n = P[:, [a for _, a, _ in lev.lines]] - P[:, [b for _, _, b in lev.lines]]
            hint[:, pos] = n
            strength[:, pos] = norm(cross(normalize(a_t[:, pos]), normalize(n)))
        if lev.parents[0] < 0:
            Gp = None
            a_loc, h_loc = a_t, hint
        else:
            Gp = G[:, lev.parents]                                      # (N, k, 3, 3)
            Gp_t = transpose(Gp)
            a_loc, h_loc = rotate(Gp_t, a_t), rotate(Gp_t, hint)
        Lk, wk = _hinted_rotation(a_loc, h_loc, strength, c(lev.lo), c(lev.hi), cb(lev.flip), c(lev.rest_dir),
                                  c(lev.rest_hint), c(lev.rest_frame_t))
        Gk = Lk if Gp is None else Gp @ Lk
        L[:, lev.joints] = Lk
        G[:, lev.joints] = Gk
        W[:, lev.joints] = wk
        Q[:, lev.all_children] = Q[:, lev.owner_joints] + rotate(Gk[:, lev.child_owner], c(lev.child_offsets))
    return IKResult(local_rotmats=L, root_orient=G[:, 0],
                    root_transl=P[:, 0], rest=rest, joints=Q, twist_determined=W)


_DEFAULT_REST = h36m17_skeleton()
_PLANS: dict[int, tuple[Skeleton, tuple[_Level, ...], list]] = {}
