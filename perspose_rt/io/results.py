"""The result file: one ``.npz`` per run, per-frame arrays plus JSON metadata (``docs/RESULT_FORMAT.md``).

Version 1 (``--max-people 1``, the default): one person per row. Version 2 (``--max-people N``,
N > 1): a person axis ``P = N`` after the frame axis, with ``track_id`` (−1 = empty slot).
:meth:`Result.people` gives the version-2 view of either.

:class:`ResultWriter` collects the people of each frame and writes them
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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from perspose_rt.checks import require_file
from perspose_rt.errors import InputError
from perspose_rt.geometry.camera_math import in_frame
from perspose_rt.io.atomic import atomic_path
from perspose_rt.types import SEEN_CONF, Frame, Person, PoseResult

FORMAT = "perspose-rt/result"
VERSION = 2  #: the newest version this module reads and writes

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
#: Written since perspose-rt 0.2 (absent from older files): the projection of the final 3D joints.
PROJECTION_ARRAYS = {"joints_2d_proj": ("float32", ("J", 2))}
#: Written since perspose-rt 0.2 (absent from older files): which joints the camera saw.
VISIBILITY_ARRAYS = {"joint_in_view": ("bool", ("J",))}
#: Present only when at least one frame has joint rotations (IK ran).
ROTATION_ARRAYS = {"rotations": ("float32", ("J", 3, 3)), "rotations_valid": ("bool", ())}
#: Present only when at least one frame has a rigid skeleton (the lifter's ``--rigid`` IK): its
#: bone lengths and whether it had settled (docs/KINEMATICS.md, "One skeleton per track").
SKELETON_ARRAYS = {"bone_lengths": ("float64", ("J",)), "skeleton_settled": ("bool", ())}
#: Arrays with one row per frame and no person axis in either version.
PER_FRAME = ("frame_index", "timestamp", "K")
#: Version 2 only: the track of each person slot (−1 = empty).
TRACK_ARRAYS = {"track_id": ("int32", ())}


def joints_in_view(confidence: np.ndarray, joints_2d: np.ndarray, image_size: tuple[int, int] | None) -> np.ndarray:
    """``(J,)`` bool: the joint's confidence is at least :data:`~perspose_rt.types.SEEN_CONF` and,
    when the image size ``(w, h)`` is known, its 2D point lies inside the frame."""
    seen = np.asarray(confidence, dtype=np.float64) >= SEEN_CONF
    if image_size is not None:
        seen &= in_frame(np.asarray(joints_2d, dtype=np.float64), *image_size)
    return seen


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
    def version(self) -> int:
        return int(self.meta.get("version", 1))

    @property
    def joint_names(self) -> list[str]:
        return list(self.meta.get("joint_names", []))

    def people(self) -> dict[str, np.ndarray]:
        """The per-person arrays with a person axis ``(N, P, …)`` and ``track_id (N, P)``, for a
        version-2 file as stored and for a version-1 file with ``P = 1`` (track 0 where valid)."""
        if self.version >= 2:
            return dict(self.arrays)
        out = {k: (v if k in PER_FRAME else v[:, None]) for k, v in self.arrays.items()}
        out["track_id"] = np.where(out["valid"], 0, -1).astype(np.int32)
        return out

    def track_ids(self) -> list[int]:
        """The track identities present, in increasing order."""
        tid = self.people()["track_id"]
        return sorted(int(t) for t in np.unique(tid[tid >= 0]))

    def track(self, track_id: int) -> dict[str, np.ndarray]:
        """One track as ``(N, …)`` arrays (``valid`` False where it is absent; zeros there)."""
        ppl = self.people()
        hit = ppl["track_id"] == track_id  # (N, P), at most one slot per frame
        if not hit.any():
            raise InputError(f"no track {track_id} in this result (tracks: {self.track_ids()})")
        slot = hit.argmax(1)
        rows = np.arange(len(self))
        out = {k: v for k, v in ppl.items() if k in PER_FRAME}
        for k, v in ppl.items():
            if k not in PER_FRAME and k != "track_id":
                sel = v[rows, slot]
                out[k] = np.where(hit.any(1).reshape((-1,) + (1,) * (sel.ndim - 1)), sel, np.zeros_like(sel))
        out["valid"] = hit.any(1) & out["valid"]
        return out


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
        max_people: ``1`` writes version 1 (one person per row, today's layout); ``P > 1`` writes
            version 2 with a person axis of ``P`` slots, filled in increasing track id.

    Rows must all have ``J`` joints. Empty slots and frames with nobody are stored as zeros with
    ``valid = False`` (and ``track_id = −1``), never NaN.
    """

    def __init__(self, num_joints: int, meta: dict[str, Any] | None = None, max_people: int = 1) -> None:
        self.num_joints = int(num_joints)
        self.max_people = int(max_people)
        self.version = 1 if self.max_people == 1 else 2
        self.meta: dict[str, Any] = dict(meta or {})
        self._specs = {**FRAME_ARRAYS, **PROJECTION_ARRAYS, **VISIBILITY_ARRAYS, **ROTATION_ARRAYS,
                       **SKELETON_ARRAYS,
                       **(TRACK_ARRAYS if self.version == 2 else {})}
        self._rows: dict[str, list[np.ndarray]] = {k: [] for k in self._specs}
        self._track_v1: list[int] = []  # version 1 stores no track ids; the re-posing needs them
        self._has_rotations = False
        self._has_skeleton = False
        self._cameras: list[Any] = []  # per row: the frame's camera (None from add), to re-project
        self.reposed_rows = 0

    def __len__(self) -> int:
        return min(len(v) for v in self._rows.values())  # complete rows only

    def frames_with_people(self) -> int:
        """Rows so far with at least one valid person."""
        return int(sum(bool(np.any(v)) for v in self._rows["valid"][:len(self)]))

    def _shape(self, name: str) -> tuple[int, ...]:
        _, shape = self._specs[name]
        return tuple(self.num_joints if s == "J" else s for s in shape)

    def add(self, pose: PoseResult, raw_joints_cam: np.ndarray | None = None) -> None:
        """Append one frame with one person (or nobody: ``pose.valid`` False). ``raw_joints_cam``:
        the joints before smoothing (default: ``pose.joints_cam``)."""
        people = [Person(track_id=0, pose=pose, joints_cam_raw=raw_joints_cam)] if pose.valid else []
        self._append(pose.frame_index, pose.timestamp, pose.K, people)

    def add_frame(self, frame: Frame, people: Sequence[Person]) -> None:
        """Append one frame from the pipeline with its people (each with a valid pose)."""
        self._append(frame.index, frame.timestamp, frame.camera.K, people, tuple(frame.camera.resolution),
                     frame.camera)

    def _append(self, frame_index: int, timestamp: float, K: np.ndarray | None, people: Sequence[Person],
                image_size: tuple[int, int] | None = None, camera: Any = None) -> None:
        P = self.max_people
        people = sorted((q for q in people if q.pose is not None and q.pose.valid), key=lambda q: q.track_id)[:P]
        slots = {k: np.zeros((P, *self._shape(k))) for k in self._specs if k not in PER_FRAME}
        slots["track_id"] = np.full(P, -1)

        def put(name: str, i: int, x: Any) -> None:
            a = np.asarray(x, dtype=np.float64).reshape(self._shape(name))
            if not np.all(np.isfinite(a)):
                raise ValueError(f"frame {frame_index}: non-finite {name} in a valid result")
            slots[name][i] = a

        for i, q in enumerate(people):
            pose = q.pose
            slots["valid"][i] = 1
            slots["track_id"][i] = q.track_id
            put("bbox", i, pose.bbox_xyxy)
            put("joints_2d", i, pose.joints_2d)
            slots["joint_in_view"][i] = joints_in_view(pose.confidence, pose.joints_2d, image_size)
            proj = pose.joints_2d_proj if pose.joints_2d_proj is not None else pose.joints_2d
            put("joints_2d_proj", i, proj)
            put("joints_cam", i, pose.joints_cam)
            put("joints_cam_raw", i, pose.joints_cam if q.joints_cam_raw is None else q.joints_cam_raw)
            put("joints_rel", i, pose.joints_rel)
            put("confidence", i, pose.confidence)
            if pose.rotations is not None:
                put("rotations", i, pose.rotations)
                slots["rotations_valid"][i] = 1
                self._has_rotations = True
            if pose.bone_lengths is not None:
                put("bone_lengths", i, pose.bone_lengths)
                slots["skeleton_settled"][i] = bool(pose.skeleton_settled)
                self._has_skeleton = True
        # The whole row is built above (a bad value raises before anything is appended); the
        # columns are then appended one by one, and a signal between two appends leaves a partial
        # row that __len__ and arrays() leave out.
        r = self._rows
        self._cameras.append(camera)
        r["frame_index"].append(np.int64(frame_index))
        r["timestamp"].append(np.float64(timestamp))
        # the intrinsics are known even when nobody is in the frame
        r["K"].append(np.asarray(K, dtype=np.float64).reshape(3, 3) if K is not None else np.zeros((3, 3)))
        for name, value in slots.items():
            if name in r:
                r[name].append(value[0] if self.version == 1 else value)
            elif name == "track_id" and self.version == 1:
                self._track_v1.append(int(value[0]))

    def arrays(self) -> dict[str, np.ndarray]:
        """The per-frame arrays so far (``rotations``, ``bone_lengths`` only when some frame has them).

        Frames of a track from before its rigid skeleton settled are re-posed on the settled
        skeleton (:func:`~perspose_rt.kinematics.repose.repose_before_settled`; their rotations
        and pelvis stay, ``joints_rel``, ``joints_2d_proj`` and ``bone_lengths`` follow), so every
        frame of a track in the file is the forward kinematics of one skeleton;
        :attr:`reposed_rows` counts them.
        """
        out = {}
        for name in self._specs:
            if name in ROTATION_ARRAYS and not self._has_rotations:
                continue
            if name in SKELETON_ARRAYS and not self._has_skeleton:
                continue
            lead = () if name in PER_FRAME or self.version == 1 else (self.max_people,)
            rows = self._rows[name][:len(self)]
            out[name] = np.stack(rows) if rows else np.zeros((0, *lead, *self._shape(name)))
        if self._has_skeleton and self._has_rotations and len(self):
            self._repose(out)
        return {name: a.astype(self._specs[name][0]) for name, a in out.items()}

    def _repose(self, out: dict[str, np.ndarray]) -> None:
        """Re-pose (in place, float64 arrays) every track's frames before its skeleton settled."""
        from perspose_rt.kinematics.repose import repose_tracks

        v1 = self.version == 1
        tids = np.asarray(self._track_v1[:len(self)])[:, None] if v1 else out["track_id"].astype(np.int64)
        people = {k: (out[k][:, None] if v1 else out[k]) for k in
                  ("valid", "joints_cam", "joints_rel", "joints_2d_proj", "rotations", "rotations_valid",
                   "bone_lengths", "skeleton_settled")}
        self.reposed_rows = repose_tracks(people, tids, self._cameras, out["K"])

    def save(self, path: str | os.PathLike[str], **extra_meta: Any) -> Path:
        """Write everything so far to ``path`` atomically; ``extra_meta`` is merged into the metadata."""
        arrays = self.arrays()
        valid = arrays["valid"]
        frame_valid = valid if valid.ndim == 1 else valid.any(1)
        meta = {
            "format": FORMAT,
            "version": self.version,
            "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "n_frames": int(frame_valid.size),
            "n_valid": int(frame_valid.sum()),
            "versions": library_versions(),
            **self.meta,
            **extra_meta,
        }
        if self._has_skeleton:
            meta["skeleton_reposed_frames"] = self.reposed_rows
        if self.version == 2:
            meta["max_people"] = self.max_people
            meta["n_tracks"] = int(np.unique(arrays["track_id"][arrays["track_id"] >= 0]).size)
        meta_json = json.dumps(meta, default=_json_default, sort_keys=True)
        path = Path(path)
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez_compressed(tmp, meta=np.array(meta_json), **arrays)
        return path


def load_result(path: str | os.PathLike[str]) -> Result:
    """Load a result ``.npz`` written by :class:`ResultWriter`, version 1 or 2 (no pickle).

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
    required = [*FRAME_ARRAYS, *(TRACK_ARRAYS if version >= 2 else ())]
    missing = [k for k in required if k not in data]
    if missing:
        raise InputError(f"{path} lacks the arrays {', '.join(missing)}")
    n = data["frame_index"].shape[0] if data["frame_index"].ndim == 1 else -1
    ragged = [k for k in required if data[k].ndim == 0 or data[k].shape[0] != n]
    if ragged:
        raise InputError(f"{path}: the arrays {', '.join(ragged)} do not have one row per frame")
    want = 2 if version >= 2 else 1
    bad = [k for k in ("valid", *(TRACK_ARRAYS if version >= 2 else ())) if data[k].ndim != want]
    if bad:
        raise InputError(f"{path}: {', '.join(bad)} do not have the shape of a version {version} file")
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
