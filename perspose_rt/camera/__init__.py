"""Camera intrinsics: the model, profiles, EXIF, field of view, undistortion."""

from perspose_rt.camera.exif import IMAGE_SUFFIXES, camera_from_image, f35_from_filename, read_image
from perspose_rt.camera.model import DEFAULT_F35_MM, FULL_FRAME_DIAGONAL_MM, CameraModel, Undistorter
from perspose_rt.camera.profile import load_profile, profile_dict, save_profile
from perspose_rt.camera.resolve import load_image, resolve_camera

__all__ = [
    "DEFAULT_F35_MM", "FULL_FRAME_DIAGONAL_MM", "IMAGE_SUFFIXES", "CameraModel", "Undistorter",
    "camera_from_image", "f35_from_filename", "load_image", "load_profile", "profile_dict",
    "read_image", "resolve_camera", "save_profile",
]
