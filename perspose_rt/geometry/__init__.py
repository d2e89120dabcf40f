"""PersPose geometry: PR rotation, the crop homography, the PE map, lifting (numpy and torch).

Every function is pure, batched over leading dimensions and documents its shapes. Formulas
follow the paper and ``docs/GEOMETRY.md``.
"""

from perspose_rt.geometry.camera_math import apply_homography, in_frame, project_points, rays_from_pixels
from perspose_rt.geometry.crop import (
    CropGeometry,
    pr_rotation,
    prepare_box_crop,
    prepare_crop,
    prepare_crop_torch,
)
from perspose_rt.geometry.encoding import pe_map, pe_map_torch
from perspose_rt.geometry.lifting import lift_uvd, to_original_camera
from perspose_rt.geometry.rotation import (
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    matrix_to_quaternion,
    rot6d_to_matrix,
    rotation_angle,
    rotation_between,
    skew,
)
from perspose_rt.geometry.warp import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    normalize_crop,
    normalize_crop_torch,
    warp_crop,
    warp_crop_torch,
)

__all__ = [
    "IMAGENET_MEAN", "IMAGENET_STD", "CropGeometry", "apply_homography", "axis_angle_to_matrix", "in_frame",
    "lift_uvd", "matrix_to_axis_angle", "matrix_to_quaternion", "normalize_crop",
    "normalize_crop_torch", "pe_map", "pe_map_torch", "pr_rotation", "prepare_box_crop", "prepare_crop",
    "prepare_crop_torch", "project_points", "rays_from_pixels", "rot6d_to_matrix",
    "rotation_angle", "rotation_between", "skew", "to_original_camera", "warp_crop",
    "warp_crop_torch",
]
