"""Choosing a camera model from what the user gave, in one documented order of precedence.

1. an explicit calibration profile (``--calib``), scaled to the stream's resolution;
2. the image's EXIF (photos);
3. the ``_<f35>_f35`` file-name tag (photos);
4. a ``--fov`` or ``--f35`` flag;
5. the default (35 mm-equivalent 50 mm), with a warning.

The chosen source is recorded in ``CameraModel.source`` and in every result file.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from perspose_rt.camera.exif import camera_from_image, read_image
from perspose_rt.camera.model import CameraModel
from perspose_rt.camera.profile import load_profile
from perspose_rt.errors import UserError

log = logging.getLogger(__name__)


def resolve_camera(resolution: tuple[int, int], *, calib: str | Path | None = None,
                   image_path: str | Path | None = None, fov: float | None = None,
                   fov_diagonal: bool = False, f35: float | None = None,
                   force_aspect: bool = False) -> CameraModel:
    """The camera model for a stream or photo of ``resolution`` (w, h); see the module doc."""
    if fov is not None and f35 is not None:
        raise UserError("give either --fov or --f35, not both")
    if calib is not None:
        return load_profile(calib).scaled_to(*resolution, force=force_aspect)
    if image_path is not None:
        cam = camera_from_image(image_path, image_size=resolution, use_default=False)
        if cam is not None:
            return cam
    if fov is not None:
        return CameraModel.from_fov(fov, resolution, diagonal=fov_diagonal)
    if f35 is not None:
        return CameraModel.from_f35(f35, resolution)
    return CameraModel.default(resolution)


def load_image(path: str | Path, **camera_options) -> tuple[np.ndarray, CameraModel]:
    """Read a photo (EXIF orientation applied) and its camera model.

    Args:
        path: JPEG/PNG/HEIC/… file.
        camera_options: ``calib``, ``fov``, ``fov_diagonal``, ``f35``, ``force_aspect`` as in
            :func:`resolve_camera`.

    Returns:
        (BGR uint8 (H, W, 3), CameraModel for exactly those pixels).
    """
    bgr, _ = read_image(path)
    h, w = bgr.shape[:2]
    cam = resolve_camera((w, h), image_path=path, **camera_options)
    log.debug("%s: %s", path, cam.describe())
    return bgr, cam
