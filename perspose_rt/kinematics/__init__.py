"""Skeletons, forward kinematics, closed-form batched IK (H36M-17, SMPL-24), SMPL loading, BVH.

See docs/KINEMATICS.md. Heavy dependencies (torch, smplx) are imported only where used.
"""

from perspose_rt.kinematics.bvh import BvhExport, export_bvh, export_bvh_smpl24, write_bvh
from perspose_rt.kinematics.fk import forward_kinematics
from perspose_rt.kinematics.ik_h36m import IKResult, solve_ik_h36m17
from perspose_rt.kinematics.ik_smpl import SMPLIKResult, solve_ik_smpl24
from perspose_rt.kinematics.skeleton import (
    Skeleton,
    fit_bone_lengths,
    fit_h36m17_skeleton,
    h36m17_skeleton,
    smpl24_generic_skeleton,
)
from perspose_rt.kinematics.smpl_model import SMPLModel, find_smpl_model, load_smpl_model

__all__ = [
    "BvhExport", "IKResult", "SMPLIKResult", "SMPLModel", "Skeleton", "export_bvh", "export_bvh_smpl24",
    "find_smpl_model",
    "fit_bone_lengths", "fit_h36m17_skeleton", "forward_kinematics", "h36m17_skeleton", "load_smpl_model",
    "smpl24_generic_skeleton", "solve_ik_h36m17", "solve_ik_smpl24", "write_bvh",
]
