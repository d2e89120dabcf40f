"""Twist-and-swing IK for PersPose's 24 SMPL joints (design doc §7), closed form and batched.

Steps, as in the official ``SMPL.ik_w_ortho_twist``, without its per-frame CPU SVD:

1. **β0 search** (with an SMPL model): for the 40 candidates β0 ∈ {−2.0, −1.9, …, 1.9} the rest
   joints ``J(β)`` are posed onto the input by the position pass below (xy-priority variant) and
   the candidate with the smallest mean image-plane (xy) error wins, per sample. All candidates
   run as one batch.
2. **Position pass** (``batch_hybrIK``): the pelvis triangle (joints 1, 2, 3) by swinging its
   normal and twisting by the circular mean of the three in-plane angles; the chest (9 → 12, 13,
   14) the same way about joint 9 (the official code uses an SVD Kabsch here; both are exact on
   consistent input); every other bone keeps its rest length and points from the solved parent
   towards the input joint (``big_diff``: towards the input bone when they differ by ≥ 15 mm).
3. **Rotations** (``compose_rot``): the global rotation of every joint with one child maps the
   rest frame [bone, rest ortho-twist] onto [solved bone, predicted twist] (Gram–Schmidt); the
   pelvis and chest keep their triangle rotations; leaves (10, 11, 15, 22, 23) take the
   network's leaf rotations (relative), or the identity.

Without twist predictions the twist of every bone is the twist-free swing from its parent.
Without an SMPL model the rest skeleton is :func:`smpl24_generic_skeleton` scaled to each
sample's own bone lengths (no β search).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from perspose_rt.geometry._array import ops
from perspose_rt.geometry.rotation import axis_angle_to_matrix, matrix_to_axis_angle
from perspose_rt.kinematics._rot import cross, dot, frame, norm, normalize, rotate, swing, transpose
from perspose_rt.kinematics.skeleton import Skeleton, smpl24_generic_skeleton
from perspose_rt.metrics.joints import SMPL24_PARENTS

Array = Any
PARENTS = SMPL24_PARENTS
CHILDREN = (3, 4, 5, 6, 7, 8, 9, 10, 11, 12, -1, -1, 15, 16, 17, -1, 18, 19, 20, 21, 22, 23, -1, -1)
#: SMPL joints of the network's ``leaf_rot`` output, in its order.
LEAF_JOINTS = (22, 23, 10, 11, 15)
#: β0 candidates of the official search.
BETA0_GRID = np.round(-2.0 + 0.1 * np.arange(40), 10)
# Joints of the position pass by tree depth (each from its parent; 12 stands for the chest).
_LEVELS = ([4, 5, 6], [7, 8, 9], [10, 11, 12, 13, 14], [15, 16, 17], [18, 19], [20, 21], [22, 23])
# Joints whose global rotation comes from their single child's bone, and those children.
_ONE_CHILD = [i for i in range(1, 24) if i != 9 and CHILDREN[i] >= 0]
_ONE_CHILD_KIDS = [CHILDREN[i] for i in _ONE_CHILD]
_ONE_CHILD_LEVELS = ([1, 2, 3], [4, 5, 6], [7, 8], [12, 13, 14], [16, 17], [18, 19], [20, 21])
_BIG_DIFF_M = 0.015


@dataclass(frozen=True)
class SMPLIKResult:
    """SMPL-24 rotations of a batch.

    Attributes:
        local_rotmats: (N, 24, 3, 3) SMPL θ: row 0 the global orientation, the others relative
            to their parent (smplx's ``global_orient`` and ``body_pose``).
        axis_angle: (N, 24, 3) the same as axis × angle.
        root_orient: (N, 3, 3) == ``local_rotmats[:, 0]``.
        root_transl: (N, 3) solved pelvis position (input frame, metres).
        smpl_transl: (N, 3) smplx's ``transl`` (pelvis − J_0(β)).
        rest_joints: (N, 24, 3) rest joints used (``J(β)`` or the scaled generic skeleton).
        betas: (N, B) betas with β0 from the search, or None without an SMPL model.
        joints: (N, 24, 3) solved joints (forward kinematics of the result).
    """

    local_rotmats: Array
    root_orient: Array
    root_transl: Array
    smpl_transl: Array
    rest_joints: Array
    betas: Array | None
    joints: Array

    @functools.cached_property
    def axis_angle(self) -> Array:
        """(N, 24, 3) θ as axis × angle (radians), computed on first use."""
        return matrix_to_axis_angle(self.local_rotmats)


def ortho_twist_rest(bone: Array) -> Array:
    """Rest ortho-twist direction of a bone (design doc §5.4), unit, perpendicular to it.

    ``t ∝ −[−BxBz/(Bx²+By²), −ByBz/(Bx²+By²), 1]``.
    """
    xp = ops(bone)
    bx, by, bz = bone[..., 0], bone[..., 1], bone[..., 2]
    d = xp.maximum(bx * bx + by * by, 1e-12)
    return normalize(-xp.stack([-bx * bz / d, -by * bz / d, xp.ones_like(bz)], -1))


def _atan2(y: Array, x: Array) -> Array:
    xp = ops(y)
    return np.arctan2(y, x) if xp.name == "numpy" else xp.t.atan2(y, x)


def _mean2(a: Array, b: Array) -> Array:
    """Circular mean of two angles (shift by ∓π when they are more than π apart)."""
    xp = ops(a)
    m = 0.5 * (a + b)
    far = xp.abs(a - b) > np.pi
    return xp.where(far, xp.where(m > 0, m - np.pi, m + np.pi), m)


def _triangle_rotation(p: Array, q: Array, centred: bool) -> tuple[Array, Array, Array]:
    """Rotation of the rest triangle ``p`` (M, 3, 3 points) onto the aimed one ``q``.

    Swing of the triangle normal, then twist about the aimed normal by the circular mean of the
    three signed in-plane angles. Returns ``(R, c_p, c_q)``; with ``centred`` the angles (and
    ``c``) use the centroids, else the origin.
    """
    xp = ops(p)
    n1 = cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    n2 = cross(q[:, 1] - q[:, 0], q[:, 2] - q[:, 0])
    r1 = swing(n1, n2)
    cp = p.mean(1) if centred else xp.zeros_like(p[:, 0])
    cq = q.mean(1) if centred else xp.zeros_like(q[:, 0])
    n = normalize(n2)[:, None]
    u = rotate(r1[:, None], p - cp[:, None])
    w = q - cq[:, None]
    u = u - dot(u, n)[..., None] * n  # in-plane parts (uncentred points leave the plane)
    w = w - dot(w, n)[..., None] * n
    ang = _atan2(dot(cross(u, w), n), dot(u, w))
    twist = _mean2(_mean2(ang[:, 0], ang[:, 1]), ang[:, 2])
    R = axis_angle_to_matrix(n[:, 0] * twist[:, None]) @ r1
    return R, cp, cq


def hybrik_positions(aim: Array, rest: Array, xy_priority: bool = False,
                     big_diff: bool = False) -> tuple[Array, Array, Array]:
    """Position pass: pose the rest joints onto the aimed joints, bone lengths kept.

    Joints are visited as in the official code (each from its solved parent), vectorised over
    the joints of one tree depth.

    Args:
        aim: (M, 24, 3) input joints.
        rest: (M, 24, 3) rest joints.
        xy_priority: keep each bone's image-plane (xy) direction and fit z to the bone length.
        big_diff: follow the input bone itself where it differs by ≥ 15 mm.

    Returns:
        ``(Q, R0, R9)``: (M, 24, 3) solved joints relative to the input root, and the pelvis and
        chest global rotations (M, 3, 3).
    """
    xp = ops(aim)
    a = aim - aim[:, :1]
    r = rest - rest[:, :1]
    Q = xp.zeros_like(a)
    R0, cp, cq = _triangle_rotation(r[:, 1:4], a[:, 1:4], centred=True)
    t = cq - rotate(R0, cp)
    Q[:, 0] = t
    Q[:, 1:4] = rotate(R0[:, None], r[:, 1:4]) + t[:, None]
    R9 = None
    for js in _LEVELS:
        if 12 in js:  # the chest: 12, 13, 14 as one rigid triangle about joint 9
            p = r[:, 12:15] - r[:, 9:10]
            R9, _, _ = _triangle_rotation(p, a[:, 12:15] - Q[:, 9:10], centred=False)
            Q[:, 12:15] = Q[:, 9:10] + rotate(R9[:, None], p)
            js = [j for j in js if j not in (12, 13, 14)]
        par = [PARENTS[j] for j in js]
        length = norm(r[:, js] - r[:, par])[..., None]                  # (M, k, 1)
        d = a[:, js] - Q[:, par]
        rel = length * normalize(d)
        if xy_priority:
            z = xp.sqrt(xp.maximum(length[..., 0] ** 2 - dot(d[..., :2], d[..., :2]), 0.0))
            sign = xp.where(d[..., 2] < 0, -xp.ones_like(z), xp.ones_like(z))
            xyz = xp.stack([d[..., 0], d[..., 1], sign * z], -1)
            rel = xp.where((z > 0)[..., None], xyz, rel)
        if big_diff:
            own = length * normalize(a[:, js] - a[:, par])
            rel = xp.where((norm(own - rel) >= _BIG_DIFF_M)[..., None], own, rel)
        Q[:, js] = Q[:, par] + rel
    return Q, R0, R9


def compose_rotations(Q: Array, rest: Array, R0: Array, R9: Array, twist: Array | None,
                      leaf_rotmats: Array | None) -> Array:
    """Relative SMPL rotations θ (M, 24, 3, 3) from solved joints and twists.

    Args:
        Q: (M, 24, 3) solved joints; rest: (M, 24, 3) rest joints.
        R0, R9: (M, 3, 3) pelvis and chest global rotations.
        twist: (M, 24, 3) predicted ortho-twist of the bone ending at each joint (camera frame),
            or None for twist-free swings.
        leaf_rotmats: (M, 5, 3, 3) relative rotations of :data:`LEAF_JOINTS`, or None (identity).
    """
    xp = ops(Q)
    G = xp.zeros_like(Q[:, :, :, None] * Q[:, :1, None, :])              # (M, 24, 3, 3)
    G[:, 0] = R0
    G[:, 9] = R9
    if twist is not None:
        rb = rest[:, _ONE_CHILD_KIDS] - rest[:, _ONE_CHILD]
        G[:, _ONE_CHILD] = (frame(Q[:, _ONE_CHILD_KIDS] - Q[:, _ONE_CHILD], twist[:, _ONE_CHILD_KIDS])
                            @ transpose(frame(rb, ortho_twist_rest(rb))))
    else:  # twist-free swing from the parent, one tree depth at a time
        for js in _ONE_CHILD_LEVELS:
            par, kid = [PARENTS[j] for j in js], [CHILDREN[j] for j in js]
            Gp = G[:, par]
            G[:, js] = Gp @ swing(rest[:, kid] - rest[:, js], rotate(transpose(Gp), Q[:, kid] - Q[:, js]))
    theta = transpose(G[:, list(PARENTS[1:])]) @ G[:, 1:]
    theta = xp.cat([R0[:, None], theta], 1)
    leaves = xp.broadcast_to(xp.eye(3, Q), (Q.shape[0], 5, 3, 3)) if leaf_rotmats is None else leaf_rotmats
    theta[:, list(LEAF_JOINTS)] = leaves
    return theta


def solve_ik_smpl24(joints: Array, twist: Array | None = None, leaf_rotmats: Array | None = None,
                    model: Any = None, betas: Array | None = None, rest: Skeleton | None = None) -> SMPLIKResult:
    """SMPL θ for 24 predicted joints (numpy or torch, batched, closed form).

    Args:
        joints: (N, 24, 3) absolute joints (metres, camera frame).
        twist: (N, 24, 3) predicted ortho-twist directions (any length), or None.
        leaf_rotmats: (N, 5, 3, 3) predicted relative rotations of :data:`LEAF_JOINTS`, or None.
        model: an :class:`~perspose_rt.kinematics.smpl_model.SMPLModel` for the β0 search and the
            rest joints J(β); None for the generic skeleton scaled to each sample's bones.
        betas: (N, B) predicted betas (β0 is replaced by the search); 11 zeros when None.
        rest: without a model, a fixed SMPL-24 rest skeleton (e.g. for a BVH file) instead of
            the generic one scaled to each sample's bones.
    """
    xp = ops(joints)
    if joints.ndim != 3 or tuple(joints.shape[1:]) != (24, 3):
        raise ValueError(f"joints must be (N, 24, 3), got {tuple(joints.shape)}")
    P = np.asarray(joints, np.float64) if xp.name == "numpy" else joints
    N = P.shape[0]
    if model is None and rest is not None:
        if rest.num_joints != 24:
            raise ValueError(f"rest must be an SMPL-24 skeleton, got {rest.num_joints} joints")
        rest_j = xp.asarray(rest.rest_joints(), like=P) + 0 * P
        out_betas = None
    elif model is None:
        rest_off = xp.asarray(smpl24_generic_skeleton().offsets, like=P)
        par = list(PARENTS)
        lengths = norm(P[:, 1:] - P[:, par[1:]])                        # (N, 23)
        unit = normalize(rest_off[1:])
        rel = [xp.zeros_like(P[:, 0])]
        for j in range(1, 24):
            rel.append(rel[PARENTS[j]] + lengths[:, j - 1:j] * unit[j - 1])
        rest_j = xp.stack(rel, 1)
        out_betas = None
    else:
        B = model.num_betas
        if betas is None:
            b = 0 * P[:, :1, 0] + xp.asarray(np.zeros(min(B, 11)), like=P)
        else:
            b = xp.asarray(betas, like=P)[:, :B]
        grid = xp.asarray(BETA0_GRID, like=P)
        K = grid.shape[0]
        cand = xp.cat([grid.reshape(1, K, 1) + 0 * b[:, None, :1], (b[:, None, 1:] + 0 * grid.reshape(1, K, 1))], -1)
        cand = cand.reshape(N * K, -1)
        rest_c = model.rest_joints(cand)
        aim_c = (P[:, None] + 0 * grid.reshape(1, K, 1, 1)).reshape(N * K, 24, 3)
        Qc, _, _ = hybrik_positions(aim_c, rest_c, xy_priority=True)
        err = norm(xp.cat([Qc[..., :2] - (aim_c - aim_c[:, :1])[..., :2], 0 * Qc[..., :1]], -1)).mean(-1)
        best = err.reshape(N, K).argmin(1) if xp.name == "torch" else np.argmin(err.reshape(N, K), 1)
        out_betas = cand.reshape(N, K, -1)[xp.arange(N, like=P).long() if xp.name == "torch"
                                           else np.arange(N), best]
        rest_j = model.rest_joints(out_betas)
    Q, R0, R9 = hybrik_positions(P, rest_j, big_diff=model is not None)
    theta = compose_rotations(Q, rest_j, R0, R9, twist, leaf_rotmats)
    joints_out = Q + P[:, :1]
    return SMPLIKResult(local_rotmats=theta, root_orient=R0,
                        root_transl=joints_out[:, 0], smpl_transl=joints_out[:, 0] - rest_j[:, 0],
                        rest_joints=rest_j, betas=out_betas, joints=joints_out)
