"""Our portable, pickle-free annotation format: one ``INDEX.npz`` per set (``--data NAME=INDEX.npz``).

Read with ``np.load(allow_pickle=False)``. Arrays (N samples):

============== ================ ==========================================================
key            shape / dtype     meaning
============== ================ ==========================================================
``image``      (N,) str          image path, relative to the npz's folder (or absolute)
``K``          (N, 3, 3) float   intrinsics of the (undistorted) image, pixels
``bbox``       (N, 4) float      person box ``x, y, w, h`` in pixels
``joints_cam`` (N, J, 3) float   joints in the camera frame (OpenCV axes), metres;
                                 J = 17 (Human3.6M order) or 24 (SMPL order)
``height``     (N,) float        optional: rest height in metres (default 1.8)
``smpl_theta`` (N, 24, 3)        optional: SMPL axis-angle pose in the camera frame
``smpl_beta``  (N, 10 or 11)     optional: SMPL shape
``smpl_transl`` (N, 3)           optional: SMPL translation, metres
============== ================ ==========================================================

See docs/TRAINING.md for a converter example.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from perspose_rt.data.official import check_images, check_lengths
from perspose_rt.data.records import DEFAULT_HEIGHT, Record, xywh_to_xyxy
from perspose_rt.errors import InputError

REQUIRED = ("image", "K", "bbox", "joints_cam")
OPTIONAL = ("height", "smpl_theta", "smpl_beta", "smpl_transl")


def write_index(path: str | os.PathLike[str], image, K, bbox, joints_cam, **optional) -> Path:
    """Write an ``INDEX.npz`` (no pickle; strings as a unicode array)."""
    from perspose_rt.io import atomic_path

    unknown = set(optional) - set(OPTIONAL)
    if unknown:
        raise ValueError(f"unknown portable keys {sorted(unknown)}; allowed: {OPTIONAL}")
    arrays = {"image": np.asarray([str(p) for p in image], dtype=np.str_), "K": np.asarray(K, np.float64),
              "bbox": np.asarray(bbox, np.float64), "joints_cam": np.asarray(joints_cam, np.float32)}
    arrays.update({k: np.asarray(v) for k, v in optional.items()})
    path = Path(path)
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return path


class PortableSource:
    """A set in the portable format, opened and checked (keys, shapes, lengths, images)."""

    def __init__(self, name: str, index: str | os.PathLike[str]) -> None:
        index = Path(index)
        if not index.is_file():
            raise InputError(f"--data {name}={index}: file not found")
        try:
            with np.load(index, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError) as exc:
            raise InputError(f"cannot read {index} as a portable index (.npz without pickles): {exc}") from None
        n = check_lengths(arrays, REQUIRED + tuple(k for k in OPTIONAL if k in arrays), str(index))
        J = arrays["joints_cam"].shape[1:] if arrays["joints_cam"].ndim == 3 else None
        if J not in ((17, 3), (24, 3)):
            raise InputError(f"{index}: joints_cam must be (N, 17, 3) H36M or (N, 24, 3) SMPL, "
                             f"got {arrays['joints_cam'].shape}")
        if arrays["K"].shape[1:] != (3, 3) or arrays["bbox"].shape[1:] != (4,):
            raise InputError(f"{index}: K must be (N, 3, 3) and bbox (N, 4)")
        self.name, self.kind = name, "h36m17" if J[0] == 17 else "smpl24"
        base = index.resolve().parent
        self._files = [str(p if os.path.isabs(p) else base / p) for p in arrays["image"].tolist()]
        check_images(self._files, f"--data {name}")
        self._a, self._n = arrays, n

    def __len__(self) -> int:
        return self._n

    def record(self, i: int) -> Record:
        a = self._a
        h = float(a["height"][i]) if "height" in a else DEFAULT_HEIGHT
        return Record(Path(self._files[i]), np.asarray(a["K"][i], np.float64), xywh_to_xyxy(a["bbox"][i]),
                      self.kind, joints_cam=np.asarray(a["joints_cam"][i], np.float64), height=h,
                      dataset=self.name)
