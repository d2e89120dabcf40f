"""The official PersPose annotation layouts under a user-named data root (design doc §6).

``--data-root DIR`` holds::

    3dhp/3dhp_train_v2.pt   3dhp/mpi_inf_3dhp_train_set/<file_name>
    3dhp/3dhp_test.pt       3dhp/mpi_inf_3dhp_test_set/<file_name>
    h36m/densepose_{train,test}_5.pt           h36m/images/<file_name>
    3dpw/densepose_{train,test}.pt             3dpw/<file_name>
    bedlam/densepose_{train,val}_3.pt          bedlam/data/<file_name>
    coco/coco_train2017.pt                     coco/train2017/<file_name>

The ``.pt`` files are joblib dicts of per-sample arrays. **They are pickles**: they are read with
``joblib.load(path, mmap_mode='r')`` (which also reads plain pickles of the same dicts) and only
from the root the user named on the command line; never point ``--data-root`` at files you did
not make or download from the dataset owners yourself.

HumanMesh sets (h36m, 3dpw, bedlam) store SMPL parameters, not joints: they need an SMPL model
(``--smpl-dir`` from ``perspose-rt convert-smpl``) to compute their joints.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perspose_rt.data.records import DEFAULT_HEIGHT, HP3D_HEIGHTS, Record, xywh_to_xyxy
from perspose_rt.errors import InputError


@dataclass(frozen=True)
class OfficialSet:
    kind: str  # "hp3d", "hps" or "coco"
    files: tuple[str, ...]  # annotation files, relative to the root
    image_root: str  # relative to the root
    keys: tuple[str, ...]  # required arrays


_HP3D_KEYS = ("3dhp_j17", "bbox", "file_name", "cam_intrinsics")
_HPS_KEYS = ("file_name", "bbox", "cam_intrinsics", "smpl_theta", "smpl_beta", "smpl_transl")
SETS: dict[str, OfficialSet] = {
    "3dhp": OfficialSet("hp3d", ("3dhp/3dhp_train_v2.pt",), "3dhp/mpi_inf_3dhp_train_set", _HP3D_KEYS),
    "3dhp_test": OfficialSet("hp3d", ("3dhp/3dhp_test.pt",), "3dhp/mpi_inf_3dhp_test_set", _HP3D_KEYS),
    "h36m": OfficialSet("hps", ("h36m/densepose_train_5.pt",), "h36m/images", _HPS_KEYS),
    "h36m_test": OfficialSet("hps", ("h36m/densepose_test_5.pt",), "h36m/images", _HPS_KEYS),
    "3dpw": OfficialSet("hps", ("3dpw/densepose_train.pt",), "3dpw", _HPS_KEYS),
    "3dpw_test": OfficialSet("hps", ("3dpw/densepose_test.pt",), "3dpw", _HPS_KEYS),
    "bedlam": OfficialSet("hps", ("bedlam/densepose_train_3.pt", "bedlam/densepose_val_3.pt"),
                          "bedlam/data", _HPS_KEYS),
    "coco": OfficialSet("coco", ("coco/coco_train2017.pt",), "coco/train2017", ("file_name", "bbox", "coco_kp17")),
}
#: Names accepted by ``--mix``, in the official ratio order (§5.2).
MIX_NAMES = ("h36m", "coco", "3dhp", "3dpw", "bedlam")
TEST_SETS = ("3dhp_test", "h36m_test", "3dpw_test")
_SUBJECT = re.compile(r"S([1-8])(?!\d)")


def _load_dict(path: Path) -> dict:
    import joblib

    try:
        obj = joblib.load(path, mmap_mode="r")
    except Exception as exc:  # noqa: BLE001 (joblib and pickle raise many types for a corrupt file)
        raise InputError(f"cannot read {path} as a joblib annotation file: {type(exc).__name__}: {exc}") from None
    if not isinstance(obj, dict):
        raise InputError(f"{path} holds a {type(obj).__name__}, not a dict of per-sample arrays")
    return obj


def check_lengths(arrays: dict, keys, source: str) -> int:
    """The common length of ``arrays[k]`` for ``keys``; unequal lengths are an :class:`InputError`."""
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise InputError(f"{source} lacks the arrays {', '.join(missing)}")
    lengths = {k: len(arrays[k]) for k in keys}
    if len(set(lengths.values())) != 1:
        shown = ", ".join(f"{k}={n}" for k, n in lengths.items())
        raise InputError(f"{source}: annotation arrays have unequal lengths ({shown})")
    n = next(iter(lengths.values()))
    if n == 0:
        raise InputError(f"{source} has no samples")
    return n


def check_images(paths, source: str) -> None:
    """Every image must exist (checked once, before training)."""
    for p in paths:
        if not os.path.isfile(p):
            raise InputError(f"{source}: image {p} not found")


class OfficialSource:
    """One set of the official layout, opened and checked (lengths, images) at construction.

    Args:
        root: the user-named data root.
        name: a key of :data:`SETS`.
        smpl: for HumanMesh sets, a callable ``(theta (N,24,3), beta (N,B), transl (N,3)) →
            {"joints", "twist"}`` (N, 24, 3) each, camera frame (an SMPL model:
            :func:`perspose_rt.train.sources.smpl_joints_fn`); ``None`` refuses them.
    """

    def __init__(self, root: str | os.PathLike[str], name: str, smpl=None) -> None:
        if name not in SETS:
            raise InputError(f"unknown set {name!r}; the official layout has {', '.join(SETS)}")
        spec = SETS[name]
        self.name, self.kind, root = name, spec.kind, Path(root)
        if spec.kind == "hps" and smpl is None:
            raise InputError(f"{name} is a HumanMesh set (SMPL parameters): it needs --smpl-dir with a "
                             "model from `perspose-rt convert-smpl`")
        parts = []
        for rel in spec.files:
            path = root / rel
            if not path.is_file():
                raise InputError(f"set {name} is not in the data root: {path} not found")
            arrays = _load_dict(path)
            n = check_lengths(arrays, spec.keys, str(path))
            parts.append({k: arrays[k] for k in spec.keys} | {"_n": n})
        self._arrays = {k: np.concatenate([np.asarray(p[k]) for p in parts]) if len(parts) > 1
                        else np.asarray(parts[0][k]) if k == "file_name" else parts[0][k] for k in spec.keys}
        self._n = sum(p["_n"] for p in parts)
        self.image_root = root / spec.image_root
        self._files = [str(self.image_root / str(f)) for f in self._arrays["file_name"]]
        check_images(self._files, f"set {name}")
        self._joints = self._twist = None
        if spec.kind == "hps":
            a = self._arrays
            lab = smpl(np.asarray(a["smpl_theta"], np.float64).reshape(self._n, 24, 3),
                       np.asarray(a["smpl_beta"], np.float64), np.asarray(a["smpl_transl"], np.float64))
            self._joints = np.asarray(lab["joints"], np.float64)
            self._twist = np.asarray(lab["twist"], np.float64)

    def __len__(self) -> int:
        return self._n

    def record(self, i: int) -> Record:
        a = self._arrays
        box = xywh_to_xyxy(np.asarray(a["bbox"][i], np.float64))
        image = Path(self._files[i])
        if self.kind == "coco":
            return Record(image, None, box, "coco", kp2d=np.asarray(a["coco_kp17"][i], np.float64),
                          dataset=self.name)
        K = np.asarray(a["cam_intrinsics"][i], np.float64)
        if self.kind == "hp3d":
            height = DEFAULT_HEIGHT
            if self.name == "3dhp":
                m = _SUBJECT.search(str(a["file_name"][i]))
                height = HP3D_HEIGHTS[int(m.group(1)) - 1] if m else DEFAULT_HEIGHT
            return Record(image, K, box, "hp3d", joints_cam=np.asarray(a["3dhp_j17"][i], np.float64),
                          height=height, dataset=self.name)
        return Record(image, K, box, "smpl24", joints_cam=self._joints[i], dataset=self.name,
                      smpl_theta=np.asarray(a["smpl_theta"][i], np.float64).reshape(24, 3),
                      smpl_beta=np.asarray(a["smpl_beta"][i], np.float64), smpl_twist=self._twist[i])
