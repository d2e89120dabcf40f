"""The user's own SMPL body model: loading, rest joints J(β), and the mesh through ``smplx``.

SMPL files are licensed (https://smpl.is.tue.mpg.de) and never shipped. The licensed pickles
need ``chumpy``; ``perspose-rt convert-smpl`` turns them once into plain ``.npz`` files (no
pickle, same key names as the pickles: ``v_template``, ``shapedirs``, ``posedirs``,
``J_regressor``, ``weights``, ``f``, ``kintree_table``), which this module reads with
``np.load(allow_pickle=False)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from perspose_rt.errors import InputError
from perspose_rt.geometry._array import ops
from perspose_rt.metrics.joints import SMPL24_PARENTS

Array = Any
FORMAT = "perspose-rt/smpl-model"
REQUIRED = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "f", "kintree_table")
GENDERS = ("neutral", "male", "female")


@dataclass(frozen=True)
class SMPLModel:
    """SMPL model arrays (float64 unless stated).

    Attributes:
        v_template: (V, 3) rest vertices.
        shapedirs: (V, 3, B) shape blend shapes.
        posedirs: (V, 3, 207) pose blend shapes.
        J_regressor: (24, V) joint regressor (dense).
        weights: (V, 24) skinning weights.
        faces: (F, 3) int64 triangles.
        gender: "neutral", "male" or "female" (from the file name when known).
        source: the file it came from.
    """

    v_template: np.ndarray
    shapedirs: np.ndarray
    posedirs: np.ndarray
    J_regressor: np.ndarray
    weights: np.ndarray
    faces: np.ndarray
    gender: str = "neutral"
    source: str = ""

    @property
    def num_betas(self) -> int:
        return int(self.shapedirs.shape[-1])

    @property
    def num_vertices(self) -> int:
        return int(self.v_template.shape[0])

    def _joint_basis(self) -> tuple[np.ndarray, np.ndarray]:
        cache = self.__dict__.get("_jb")
        if cache is None:
            jt = self.J_regressor @ self.v_template                              # (24, 3)
            jd = np.einsum("jv,vcb->jcb", self.J_regressor, self.shapedirs)      # (24, 3, B)
            cache = (jt, jd)
            object.__setattr__(self, "_jb", cache)
        return cache

    def rest_joints(self, betas: Array) -> Array:
        """``J(β) = J_regressor · (v_template + shapedirs · β)``, (..., B') → (..., 24, 3).

        Uses the first ``B'`` shape components (``B' ≤ B``); numpy or torch.
        """
        xp = ops(betas)
        jt, jd = self._joint_basis()
        nb = betas.shape[-1]
        if nb > jd.shape[-1]:
            raise ValueError(f"{nb} betas but the model has {jd.shape[-1]} shape components")
        jt_x = xp.asarray(jt, like=betas)
        jd_x = xp.asarray(jd[..., :nb].reshape(72, nb), like=betas)
        return jt_x + (betas @ jd_x.T).reshape(tuple(betas.shape[:-1]) + (24, 3))

    def mesh(self, betas: Array, local_rotmats: Array, transl: Array | None = None) -> tuple[Any, Any]:
        """Vertices and joints through ``smplx.lbs`` (torch).

        Args:
            betas: (N, B') shape.
            local_rotmats: (N, 24, 3, 3) SMPL θ (row 0 the global orientation).
            transl: (N, 3) smplx ``transl`` (e.g. :attr:`SMPLIKResult.smpl_transl`).

        Returns:
            (N, V, 3) vertices and (N, 24, 3) joints, torch float64 tensors.
        """
        import torch
        from smplx.lbs import lbs

        b = torch.as_tensor(np.asarray(betas, np.float64) if not torch.is_tensor(betas) else betas,
                            dtype=torch.float64)
        R = torch.as_tensor(np.asarray(local_rotmats, np.float64) if not torch.is_tensor(local_rotmats)
                            else local_rotmats, dtype=torch.float64)
        nb = b.shape[-1]
        posedirs = torch.from_numpy(self.posedirs.reshape(-1, self.posedirs.shape[-1]).T.copy())
        verts, joints = lbs(b, R, torch.from_numpy(self.v_template),
                            torch.from_numpy(self.shapedirs[..., :nb].copy()), posedirs,
                            torch.from_numpy(self.J_regressor), torch.as_tensor(SMPL24_PARENTS),
                            torch.from_numpy(self.weights), pose2rot=False)
        if transl is not None:
            t = torch.as_tensor(np.asarray(transl, np.float64) if not torch.is_tensor(transl) else transl,
                                dtype=torch.float64)[:, None]
            verts, joints = verts + t, joints + t
        return verts, joints


def model_from_arrays(arrays: dict[str, np.ndarray], gender: str = "neutral", source: str = "") -> SMPLModel:
    """Validate SMPL arrays (pickle key names) and build an :class:`SMPLModel`.

    Raises:
        InputError: missing keys, wrong shapes or a kinematic tree other than SMPL's 24 joints.
    """
    missing = [k for k in REQUIRED if k not in arrays]
    if missing:
        raise InputError(f"{source or 'SMPL model'} lacks {', '.join(missing)}; is it an SMPL model file?")
    v = np.asarray(arrays["v_template"], np.float64)
    V = v.shape[0]
    sd = np.asarray(arrays["shapedirs"], np.float64)
    pd = np.asarray(arrays["posedirs"], np.float64)
    jr = np.asarray(arrays["J_regressor"], np.float64)
    w = np.asarray(arrays["weights"], np.float64)
    f = np.asarray(arrays["f"]).astype(np.int64)
    kt = np.asarray(arrays["kintree_table"]).astype(np.int64)
    shapes_ok = (v.ndim == 2 and v.shape[1] == 3 and sd.ndim == 3 and sd.shape[:2] == (V, 3)
                 and pd.shape == (V, 3, 207) and jr.shape == (24, V) and w.shape == (V, 24)
                 and f.ndim == 2 and f.shape[1] == 3 and kt.shape == (2, 24))
    if not shapes_ok:
        raise InputError(f"{source or 'SMPL model'}: array shapes do not match an SMPL body model "
                         f"(v_template {v.shape}, J_regressor {jr.shape}, posedirs {pd.shape}, "
                         f"weights {w.shape}, kintree_table {kt.shape})")
    parents = kt[0].copy()
    parents[0] = -1
    if tuple(int(p) for p in parents) != SMPL24_PARENTS:
        raise InputError(f"{source or 'SMPL model'}: its kinematic tree is not SMPL's 24-joint tree")
    if f.size and (f.min() < 0 or f.max() >= V):
        raise InputError(f"{source or 'SMPL model'}: faces index missing vertices")
    return SMPLModel(v, sd, pd, jr, w, f, gender, source)


def load_smpl_model(path: str | os.PathLike[str], gender: str | None = None) -> SMPLModel:
    """Load a converted SMPL ``.npz`` (never a pickle).

    Raises:
        InputError: missing file, a ``.pkl`` (convert it first) or not an SMPL model.
    """
    path = Path(path)
    if path.suffix.lower() == ".pkl":
        raise InputError(f"{path} is a pickle: convert it once with `perspose-rt convert-smpl {path.parent}`")
    if not path.is_file():
        raise InputError(f"SMPL model file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} is not a readable .npz SMPL model: {exc}") from exc
    if gender is None:
        stem = path.stem.lower()
        gender = next((g for g in GENDERS if g in stem), "neutral")
    return model_from_arrays(arrays, gender, str(path))


def find_smpl_model(smpl_dir: str | os.PathLike[str], gender: str = "neutral") -> Path:
    """The converted model file of ``gender`` in the user's ``--smpl-dir``.

    Looks for ``SMPL_<GENDER>.npz`` in the folder and in its ``smpl/`` subfolder.

    Raises:
        InputError: with the next step to take (convert the pickles, or where to get them).
    """
    d = Path(smpl_dir).expanduser()
    if gender not in GENDERS:
        raise InputError(f"gender must be one of {', '.join(GENDERS)}, got {gender!r}")
    if not d.is_dir():
        raise InputError(f"--smpl-dir {d} is not a folder")
    name = f"SMPL_{gender.upper()}"
    for folder in (d, d / "smpl"):
        cand = folder / f"{name}.npz"
        if cand.is_file():
            return cand
    pickles = sorted(p.name for folder in (d, d / "smpl") if folder.is_dir() for p in folder.glob("*.pkl"))
    if pickles:
        raise InputError(f"{d} has SMPL pickles ({', '.join(pickles[:3])}) but no {name}.npz: "
                         f"run `perspose-rt convert-smpl {d}` once")
    raise InputError(f"no {name}.npz in {d}: download SMPL from https://smpl.is.tue.mpg.de "
                     f"(licensed, not shipped) and run `perspose-rt convert-smpl` on it")
