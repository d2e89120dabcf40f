"""Skeletons, forward kinematics, closed-form batched IK (H36M-17, SMPL-24), SMPL loading, BVH."""

from perspose_rt.kinematics.fk import forward_kinematics
from perspose_rt.kinematics.ik_h36m import IKResult, solve_ik_h36m17
from perspose_rt.kinematics.skeleton import (
    Skeleton,
    fit_bone_lengths,
    h36m17_skeleton,
    smpl24_generic_skeleton,
)

__all__ = [
    "IKResult", "Skeleton", "fit_bone_lengths", "forward_kinematics", "h36m17_skeleton",
    "smpl24_generic_skeleton", "solve_ik_h36m17",
]
