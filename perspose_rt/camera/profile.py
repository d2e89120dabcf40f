"""Camera profiles on disk: our YAML format, and OpenCV FileStorage files.

Our format (written by ``perspose-rt calibrate``; see ``docs/CAMERA.md``)::

    format: perspose-rt/camera-profile
    version: 1
    name: logitech-c920
    resolution: [1280, 720]
    K: [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]
    dist: [k1, k2, p1, p2, k3]
    approximate: false
    source: calibration
    # optional metadata: rms_px, per_view_rms_px, pattern {type, rows, cols, square_mm},
    # n_views, date (ISO 8601), camera, flags

OpenCV's calibration sample writes FileStorage YAML/XML with ``camera_matrix`` and
``distortion_coefficients`` (optionally suffixed, e.g. ``camera_matrix_right``) plus
``image_width`` and ``image_height``; those files load too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from perspose_rt.camera.model import CameraModel
from perspose_rt.checks import require_file
from perspose_rt.errors import CalibrationError, InputError
from perspose_rt.io.atomic import atomic_write_text

FORMAT = "perspose-rt/camera-profile"
VERSION = 1
_CORE_KEYS = {"format", "version", "name", "resolution", "K", "dist", "approximate", "source"}


def _is_opencv_storage(path: Path, head: str) -> bool:
    return path.suffix.lower() == ".xml" or head.startswith("%YAML") or "opencv-matrix" in head


def load_profile(path: str | Path, which: str | None = None) -> CameraModel:
    """Load a camera profile (our YAML, or OpenCV FileStorage YAML/XML).

    Args:
        path: the profile file.
        which: for OpenCV files holding several cameras (``camera_matrix_left``,
            ``camera_matrix_right``), the suffix to take (``"right"``).

    Raises:
        CalibrationError: missing, unreadable or inconsistent file, with what to do.
    """
    path = Path(path)
    if not path.exists():
        raise CalibrationError(f"calibration profile not found: {path} (create one with `perspose-rt calibrate`)")
    try:
        require_file(path, "calibration profile")
        raw = path.read_bytes()
    except (InputError, OSError) as exc:
        raise CalibrationError(str(exc) if isinstance(exc, InputError) else
                               f"cannot read calibration profile {path}: {exc.strerror or exc}") from None
    if not raw.strip():
        raise CalibrationError(f"calibration profile {path} is empty")
    if b"\0" in raw[:4096]:
        raise CalibrationError(f"calibration profile {path} is a binary file, not YAML or XML")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CalibrationError(f"calibration profile {path} is not UTF-8 text (byte {exc.start}); "
                               "expected YAML or XML") from None
    if _is_opencv_storage(path, text[:4096]):
        return _load_opencv(path, which)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CalibrationError(f"calibration profile {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CalibrationError(f"{path} is not a perspose-rt camera profile (expected 'format: {FORMAT}')")
    version = data.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise CalibrationError(f"{path}: profile version {version!r} is not an integer")
    if version > VERSION:
        raise CalibrationError(f"{path} has profile version {version}; this perspose-rt reads up to {VERSION}: upgrade")
    try:
        K = np.array(data["K"], dtype=np.float64)
        res = tuple(int(v) for v in data["resolution"])
        dist = np.array(data.get("dist", [0, 0, 0, 0, 0]), dtype=np.float64)
        if K.shape != (3, 3) or len(res) != 2:
            raise ValueError(f"K must be 3x3 (got shape {K.shape}) and resolution [width, height]")
    except (KeyError, TypeError, ValueError) as exc:
        raise CalibrationError(f"calibration profile {path} is malformed: {exc}") from None
    meta = {k: v for k, v in data.items() if k not in _CORE_KEYS}
    return CameraModel(K=K, resolution=res, dist=dist, source=f"profile:{path}",
                       approximate=bool(data.get("approximate", False)), name=str(data.get("name") or path.stem),
                       metadata=meta)


def _load_opencv(path: Path, which: str | None) -> CameraModel:
    import cv2

    try:
        return _read_opencv(path, which)
    except (cv2.error, SystemError) as exc:
        raise CalibrationError(f"cannot parse OpenCV calibration file {path} (truncated or not OpenCV "
                               f"YAML/XML: {one_line_cv_error(exc)})") from None


def _read_opencv(path: Path, which: str | None) -> CameraModel:
    import cv2

    fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
    try:
        if not fs.isOpened():
            raise CalibrationError(f"cannot parse OpenCV calibration file {path}")
        keys = list(fs.root().keys())
        cams = [k for k in keys if k.startswith("camera_matrix")]
        if which:
            cams = [k for k in cams if k.endswith(which)]
        if len(cams) != 1:
            found = ", ".join(k for k in keys if k.startswith("camera_matrix")) or "none"
            raise CalibrationError(
                f"{path}: expected one camera_matrix* entry{f' ending in {which!r}' if which else ''}, found {found}")
        suffix = cams[0][len("camera_matrix"):]
        K = fs.getNode(cams[0]).mat()
        dnode = fs.getNode("distortion_coefficients" + suffix)
        dist = dnode.mat() if not dnode.empty() else np.zeros(5)
        dist = np.asarray(dist, dtype=np.float64).ravel() if dist is not None else None
        w, h = fs.getNode("image_width").real(), fs.getNode("image_height").real()
        if K is None or not w or not h:
            raise CalibrationError(f"{path}: missing camera matrix or image_width/image_height")
        if K.shape != (3, 3):
            raise CalibrationError(f"{path}: {cams[0]} is {K.shape[0]}x{K.shape[1] if K.ndim > 1 else 1}, "
                                   "a camera matrix is 3x3")
        if dist is None or dist.size not in (4, 5, 8, 12, 14):
            raise CalibrationError(f"{path}: distortion_coefficients{suffix} must hold 4, 5, 8, 12 or 14 values")
        meta: dict[str, Any] = {}
        for key in ("avg_reprojection_error" + suffix, "nr_of_frames", "calibration_time"):
            node = fs.getNode(key)
            if not node.empty():
                meta[key] = node.string() if node.isString() else node.real()
    finally:
        fs.release()
    return CameraModel(K=K, resolution=(int(w), int(h)), dist=dist, source=f"opencv:{path}",
                       approximate=False, name=path.stem, metadata=meta)


def one_line_cv_error(exc: BaseException) -> str:
    """The gist of an OpenCV error ("Parsing error: parseValue ..."), without its C++ file names."""
    cause = exc.__cause__ or exc.__context__ or exc
    text = " ".join(str(cause).split())
    m = re.search(r"error: \(-?\d+:([^)]*)\) (.*)", text)
    return f"{m.group(1)}: {m.group(2)}" if m else (text or type(exc).__name__)


def _plain(value: Any) -> Any:
    """numpy → plain Python for YAML."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def profile_dict(camera: CameraModel, metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The YAML mapping of a profile (core keys first, then metadata)."""
    data: dict[str, Any] = {
        "format": FORMAT, "version": VERSION, "name": camera.name,
        "resolution": list(camera.resolution), "K": camera.K.tolist(), "dist": camera.dist.tolist(),
        "approximate": bool(camera.approximate), "source": camera.source,
    }
    extra = dict(camera.metadata)
    extra.update(metadata or {})
    clash = _CORE_KEYS & extra.keys()
    if clash:
        raise ValueError(f"metadata may not override core profile keys: {sorted(clash)}")
    data.update(_plain(extra))
    return data


def save_profile(path: str | Path, camera: CameraModel, metadata: Mapping[str, Any] | None = None) -> Path:
    """Write a profile atomically (never a half-written file) and return its path."""
    path = Path(path)
    text = "# perspose-rt camera profile (docs/CAMERA.md)\n" + yaml.safe_dump(
        profile_dict(camera, metadata), sort_keys=False, default_flow_style=None)
    atomic_write_text(path, text)
    return path
