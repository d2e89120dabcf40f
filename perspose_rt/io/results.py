"""The result file: one ``.npz`` per run, per-frame arrays plus JSON metadata (``docs/RESULT_FORMAT.md``).

:class:`ResultWriter` collects :class:`~perspose_rt.types.PoseResult` rows and writes them
atomically (temporary file, then rename), so the file on disk is always complete: a run
interrupted by Ctrl-C writes what it has, and a periodic :meth:`ResultWriter.save` during a long
live recording never leaves a half-written file. :func:`load_result` reads it back (no pickle).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from perspose_rt.checks import require_file
from perspose_rt.errors import InputError
from perspose_rt.io.atomic import atomic_path
from perspose_rt.types import PoseResult

FORMAT = "perspose-rt/result"
VERSION = 1

#: Per-frame arrays: name → (dtype, shape after the frame axis; "J" = joints).
FRAME_ARRAYS: dict[str, tuple[str, tuple]] = {
    "frame_index": ("int64", ()),
    "timestamp": ("float64", ()),
    "valid": ("bool", ()),
    "bbox": ("float32", (4,)),
    "K": ("float64", (3, 3)),
    "joints_2d": ("float32", ("J", 2)),
    "joints_cam": ("float32", ("J", 3)),
    "joints_cam_raw": ("float32", ("J", 3)),
    "joints_rel": ("float32", ("J", 3)),
    "confidence": ("float32", ("J",)),
}
#: Present only when at least one frame has joint rotations (IK ran).
ROTATION_ARRAYS = {"rotations": ("float32", ("J", 3, 3)), "rotations_valid": ("bool", ())}


@dataclass
class Result:
    """A loaded result file: the per-frame arrays and the metadata dict."""

    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def __len__(self) -> int:
        return int(self.arrays["frame_index"].shape[0])

    @property
    def joint_names(self) -> list[str]:
        return list(self.meta.get("joint_names", []))


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape the numbers (those already imported, plus ours)."""
    import sys

    from perspose_rt import __version__

    out = {"perspose_rt": __version__, "python": platform.python_version(), "numpy": np.__version__}
    for mod, key in (("cv2", "opencv"), ("torch", "torch"), ("mediapipe", "mediapipe"),
                     ("onnxruntime", "onnxruntime"), ("tensorrt", "tensorrt")):
        m = sys.modules.get(mod)
        if m is not None and hasattr(m, "__version__"):
            out[key] = str(m.__version__)
    return out


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


class ResultWriter:
    """Accumulate per-frame results and write the npz.

    Args:
        num_joints: ``J`` of the estimator's joint format.
        meta: metadata (estimator, joint_format, joint_names, weights_sha256, intrinsics_source,
            fps, source, …); timings and counts are added by :meth:`save`.

    Rows must all have ``J`` joints. Invalid rows (nobody in the frame) are stored as zeros with
    ``valid = False`` (never NaN).
    """

    def __init__(self, num_joints: int, meta: dict[str, Any] | None = None) -> None:
        self.num_joints = int(num_joints)
        self.meta: dict[str, Any] = dict(meta or {})
        self._rows: dict[str, list[np.ndarray]] = {k: [] for k in (*FRAME_ARRAYS, *ROTATION_ARRAYS)}
        self._has_rotations = False

    def __len__(self) -> int:
        return min(len(v) for v in self._rows.values())  # complete rows only

    def add(self, pose: PoseResult, raw_joints_cam: np.ndarray | None = None) -> None:
        """Append one frame. ``raw_joints_cam``: the joints before smoothing (default: ``pose.joints_cam``)."""
        J = self.num_joints
        valid = bool(pose.valid)

        def arr(x: Any, shape: tuple[int, ...]) -> np.ndarray:
            if x is None or not valid:
                return np.zeros(shape)
            a = np.asarray(x, dtype=np.float64).reshape(shape)
            if not np.all(np.isfinite(a)):
                raise ValueError(f"frame {pose.frame_index}: non-finite values in a valid result")
            return a

        # The whole row is built first, then appended: a bad value (or a Ctrl-C / SIGTERM) in the
        # middle of a row never leaves the columns with different lengths for the final save.
        K = np.asarray(pose.K, dtype=np.float64).reshape(3, 3) if pose.K is not None else np.zeros((3, 3))
        has_rot = valid and pose.rotations is not None
        row = {
            "frame_index": np.int64(pose.frame_index),
            "timestamp": np.float64(pose.timestamp),
            "valid": np.bool_(valid),
            "bbox": arr(pose.bbox_xyxy, (4,)),
            "K": K,  # the intrinsics are known even when nobody is in the frame
            "joints_2d": arr(pose.joints_2d, (J, 2)),
            "joints_cam": arr(pose.joints_cam, (J, 3)),
            "joints_cam_raw": arr(pose.joints_cam if raw_joints_cam is None else raw_joints_cam, (J, 3)),
            "joints_rel": arr(pose.joints_rel, (J, 3)),
            "confidence": arr(pose.confidence, (J,)),
            "rotations": arr(pose.rotations, (J, 3, 3)) if has_rot else np.zeros((J, 3, 3)),
            "rotations_valid": np.bool_(has_rot),
        }
        self._has_rotations |= has_rot
        for name, value in row.items():
            self._rows[name].append(value)

    def arrays(self) -> dict[str, np.ndarray]:
        """The per-frame arrays so far (``rotations`` only when some frame has them)."""
        J = self.num_joints
        specs = dict(FRAME_ARRAYS)
        if self._has_rotations:
            specs.update(ROTATION_ARRAYS)
        out = {}
        for name, (dtype, shape) in specs.items():
            shape = tuple(J if s == "J" else s for s in shape)
            rows = self._rows[name][:len(self)]
            out[name] = (np.stack(rows).astype(dtype) if rows else np.zeros((0, *shape), dtype=dtype))
        return out

    def save(self, path: str | os.PathLike[str], **extra_meta: Any) -> Path:
        """Write everything so far to ``path`` atomically; ``extra_meta`` is merged into the metadata."""
        arrays = self.arrays()
        valid = arrays["valid"]
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "n_frames": int(valid.size),
            "n_valid": int(valid.sum()),
            "versions": library_versions(),
            **self.meta,
            **extra_meta,
        }
        meta_json = json.dumps(meta, default=_json_default, sort_keys=True)
        path = Path(path)
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez_compressed(tmp, meta=np.array(meta_json), **arrays)
        return path


def load_result(path: str | os.PathLike[str]) -> Result:
    """Load a result ``.npz`` written by :class:`ResultWriter` (no pickle).

    Raises:
        InputError: missing file, not an npz, or not a perspose-rt result of a known version.
    """
    path = require_file(path, "result file")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, RuntimeError) as exc:
        why = "empty file" if path.stat().st_size == 0 else f"{type(exc).__name__}: {exc}"
        raise InputError(f"{path} is not a readable .npz file ({why}); was it cut short?") from None
    if not isinstance(data, dict) or "meta" not in data:
        raise InputError(f"{path} is not a perspose-rt result file (no metadata)")
    try:
        meta = json.loads(str(data.pop("meta")))
    except ValueError as exc:
        raise InputError(f"{path}: its metadata is not JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise InputError(f"{path}: its metadata is a JSON {type(meta).__name__}, not an object")
    if meta.get("format") != FORMAT:
        raise InputError(f"{path} is not a perspose-rt result file (format {meta.get('format')!r})")
    version = meta.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise InputError(f"{path}: result version {version!r} is not an integer")
    if version > VERSION:
        raise InputError(f"{path} was written by a newer perspose-rt (result version {version}); upgrade")
    missing = [k for k in FRAME_ARRAYS if k not in data]
    if missing:
        raise InputError(f"{path} lacks the arrays {', '.join(missing)}")
    n = data["frame_index"].shape[0] if data["frame_index"].ndim == 1 else -1
    ragged = [k for k in FRAME_ARRAYS if data[k].ndim == 0 or data[k].shape[0] != n]
    if ragged:
        raise InputError(f"{path}: the arrays {', '.join(ragged)} do not have one row per frame")
    return Result(arrays=data, meta=meta)


@dataclass
class PeriodicSaver:
    """Save a :class:`ResultWriter` every ``interval_s`` seconds (live recordings survive a crash)."""

    writer: ResultWriter
    path: Path
    interval_s: float = 10.0
    _last: float = field(default=0.0, init=False)

    def maybe_save(self, now: float, **extra_meta: Any) -> bool:
        if now - self._last < self.interval_s:
            return False
        self._last = now
        self.writer.save(self.path, **extra_meta)
        return True
