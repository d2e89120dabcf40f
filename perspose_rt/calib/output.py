"""Turn a calibration into a camera profile ``calib/NAME.yaml`` (through ``perspose_rt.camera``).

The profile format and its atomic writer belong to :mod:`perspose_rt.camera.profile`; this
module only decides the path, refuses to clobber an existing profile unless asked, and fills in
the metadata (RMS, per-view errors, pattern, number of views, date, camera, flags).
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from perspose_rt.calib.patterns import PatternSpec
from perspose_rt.calib.solve import CalibrationResult
from perspose_rt.camera import CameraModel, save_profile
from perspose_rt.errors import UserError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def profile_path(calib_dir: str | Path, name: str, force: bool = False) -> Path:
    """``calib_dir/name.yaml``, checked before any work starts.

    Raises:
        UserError: an unusable name, or the profile exists and ``force`` is False.
    """
    for suffix in (".yaml", ".yml"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    if not _NAME.match(name):
        raise UserError(
            f"camera name {name!r} cannot be a file name: use letters, digits, '.', '_' or '-' (e.g. --name logitech-c920)"
        )
    path = Path(calib_dir) / f"{name}.yaml"
    if path.exists() and not force:
        raise UserError(f"{path} already exists: pass --force to replace it, or choose another --name")
    if Path(calib_dir).exists() and not Path(calib_dir).is_dir():
        raise UserError(f"{calib_dir} is not a folder: choose another --calib-dir")
    return path


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).astimezone().isoformat(timespec="seconds")


def camera_from_result(
    result: CalibrationResult, name: str, spec: PatternSpec, camera_label: str
) -> tuple[CameraModel, dict]:
    """The measured :class:`CameraModel` and its profile metadata."""
    camera = CameraModel(
        K=result.K, resolution=result.image_size, dist=result.dist, source="calibration",
        approximate=False, name=name,
    )
    meta = {
        "rms_px": round(float(result.rms_px), 5),
        "per_view_rms_px": [round(float(e), 5) for e in result.per_view_rms_px],
        "pattern": spec.as_metadata(),
        "n_views": int(result.n_views),
        "date": _now(),
        "camera": camera_label,
        "flags": list(result.flags),
        "intrinsics_std_px": {k: round(float(v), 4) for k, v in zip(("fx", "fy", "cx", "cy"), result.std_intrinsics)},
        "views": [v.label for v in result.views],
        "rejected_views": [{"view": v.label, "rms_px": round(float(e), 5)} for v, e in result.rejected],
    }
    warnings = result.warnings()
    if warnings:
        meta["warnings"] = warnings
    return camera, meta


def write_calibration(
    path: str | Path, result: CalibrationResult, name: str, spec: PatternSpec, camera_label: str
) -> Path:
    """Write the profile of ``result`` to ``path`` atomically; returns the path."""
    camera, meta = camera_from_result(result, name, spec, camera_label)
    return save_profile(path, camera, meta)


def quick_camera(
    resolution: tuple[int, int],
    name: str,
    fov_deg: float | None = None,
    diagonal: bool = False,
    f35_mm: float | None = None,
) -> CameraModel:
    """An approximate camera from a field of view or a 35 mm-equivalent focal length (no distortion)."""
    if (fov_deg is None) == (f35_mm is None):
        raise UserError("give exactly one of --fov DEGREES or --f35 MM for a quick profile")
    if fov_deg is not None:
        camera = CameraModel.from_fov(fov_deg, resolution, diagonal=diagonal)
    else:
        camera = CameraModel.from_f35(f35_mm, resolution)
    return replace(camera, name=name, approximate=True)


def write_quick(path: str | Path, camera: CameraModel, camera_label: str = "") -> Path:
    """Write an approximate profile (marked ``approximate: true``, with a note) atomically."""
    meta = {
        "date": _now(),
        "camera": camera_label,
        "note": "approximate: principal point at the image centre, no distortion; calibrate for accuracy",
        "fov_deg": {k: round(v, 3) for k, v in zip(("horizontal", "vertical", "diagonal"), camera.fov_deg())},
    }
    return save_profile(path, camera, meta)


def describe_camera(camera: CameraModel) -> str:
    """One line: the lead's description plus the distortion if any."""
    line = camera.describe()
    if camera.has_distortion:
        line += ", dist " + np.array2string(camera.dist, precision=4, separator=" ")
    return line
