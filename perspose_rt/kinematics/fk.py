"""Batched forward kinematics (numpy or torch)."""

from __future__ import annotations

from typing import Any

import numpy as np

from perspose_rt.geometry._array import ops
from perspose_rt.kinematics._rot import rotate
from perspose_rt.kinematics.skeleton import Skeleton

Array = Any


def forward_kinematics(local_rotmats: Array, rest: Skeleton, root_orient: Array | None = None,
                       root_transl: Array | None = None, return_global: bool = False) -> Array:
    """Joint positions of a skeleton posed by local rotations.

    ``G_0 = root_orient`` (or ``local_rotmats[..., 0]`` when ``root_orient`` is None),
    ``G_j = G_parent(j) · L_j`` and ``p_j = p_parent(j) + G_parent(j) · offset_j``, with
    ``p_0 = root_transl`` (or ``G_0 · offsets[0]`` when it is None).

    Args:
        local_rotmats: (..., J, 3, 3) local rotations (row 0: the root's global rotation, which
            ``root_orient`` replaces when given; :func:`solve_ik_h36m17` stores the same matrix in
            both).
        rest: the rest skeleton (offsets in the canonical frame).
        root_orient: (..., 3, 3) rotation from the canonical frame to the output frame.
        root_transl: (..., 3) position of the root joint in the output frame.
        return_global: also return the (..., J, 3, 3) global rotations.

    Returns:
        (..., J, 3) joint positions (and the global rotations when asked), same array type and
        dtype as ``local_rotmats``.
    """
    xp = ops(local_rotmats)
    L = local_rotmats
    J = rest.num_joints
    if tuple(L.shape[-3:]) != (J, 3, 3):
        raise ValueError(f"local_rotmats must be (..., {J}, 3, 3), got {tuple(L.shape)}")
    off = xp.asarray(np.asarray(rest.offsets), like=L)
    G = [L[..., 0, :, :] if root_orient is None else root_orient]
    if root_transl is None:
        P = [rotate(G[0], xp.broadcast_to(off[0], G[0].shape[:-1]))]
    else:
        P = [xp.broadcast_to(root_transl, G[0].shape[:-1])]
    for j in range(1, J):
        p = rest.parents[j]
        G.append(G[p] @ L[..., j, :, :])
        P.append(P[p] + rotate(G[p], xp.broadcast_to(off[j], G[p].shape[:-1])))
    joints = xp.stack(P, -2)
    return (joints, xp.stack(G, -3)) if return_global else joints
