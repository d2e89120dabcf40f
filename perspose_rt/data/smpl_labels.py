"""Labels of the SMPL loss terms (design doc §5.4 rows 9–11) from SMPL parameters.

* ortho-twist of joint ``j`` (the bone parent(j) → j): ``G[parent(j)] · t_rest(j)``, with ``G``
  the global rotations of the posed body and ``t_rest`` the rest ortho-twist of the rest bone
  ``J(β)[j] − J(β)[parent(j)]`` (:func:`perspose_rt.kinematics.ik_smpl.ortho_twist_rest`); the
  IK (:func:`~perspose_rt.kinematics.ik_smpl.solve_ik_smpl24`) inverts exactly this;
* leaf rotations: the relative rotations of SMPL joints 22, 23, 10, 11, 15 (``LEAF_JOINTS``);
* β, padded with zeros to the network's 11.

The official code computes the twist with the annotated gender's SMPL; here the neutral model
is used for every sample (as for the joints, docs/TRAINING.md).
"""

from __future__ import annotations

import numpy as np

from perspose_rt.kinematics.ik_smpl import LEAF_JOINTS, ortho_twist_rest
from perspose_rt.metrics.joints import SMPL24_PARENTS

#: Joints whose twist is supervised (design doc §5.4 row 9: 4–11 and 15–23, 17 joints).
TWIST_JOINTS: tuple[int, ...] = (*range(4, 12), *range(15, 24))
NUM_BETAS = 11


def global_rotations(local: np.ndarray) -> np.ndarray:
    """(N, 24, 3, 3) relative SMPL rotations (row 0 the global orientation) → global rotations."""
    G = np.empty_like(local)
    G[:, 0] = local[:, 0]
    for j in range(1, 24):
        G[:, j] = G[:, SMPL24_PARENTS[j]] @ local[:, j]
    return G


def ortho_twists(rest_joints: np.ndarray, local: np.ndarray) -> np.ndarray:
    """(N, 24, 3) unit ortho-twist of every bone in the posed body's frame (joint 0: zeros).

    Args:
        rest_joints: (N, 24, 3) ``J(β)``.
        local: (N, 24, 3, 3) relative rotations θ.
    """
    G = global_rotations(local)
    par = list(SMPL24_PARENTS[1:])
    t_rest = ortho_twist_rest(rest_joints[:, 1:] - rest_joints[:, par])  # (N, 23, 3)
    tw = np.zeros_like(rest_joints)
    tw[:, 1:] = (G[:, par] @ t_rest[..., None])[..., 0]
    return tw


def leaf_rotations(local: np.ndarray) -> np.ndarray:
    """(N, 5, 3, 3) the relative rotations of :data:`LEAF_JOINTS`, in the network's order."""
    return local[:, list(LEAF_JOINTS)]


def padded_betas(beta: np.ndarray) -> np.ndarray:
    """(N, B ≤ 11) → (N, 11): shapes with 10 coefficients get an 11th of 0 (as the official code)."""
    out = np.zeros((len(beta), NUM_BETAS))
    n = min(NUM_BETAS, beta.shape[-1])
    out[:, :n] = beta[:, :n]
    return out
