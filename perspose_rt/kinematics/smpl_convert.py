"""Convert the licensed SMPL pickles into plain ``.npz`` files, without chumpy.

Trust model: a pickle can name any importable callable and make the loader call it, so
``pickle.load`` on a file is as dangerous as running it. The SMPL pickles need only a handful
of globals — numpy's array reconstruction, ``chumpy.ch.Ch`` (a wrapper around an array) and
scipy's sparse matrices, plus ``set`` inside chumpy's state — so :class:`RestrictedUnpickler` resolves **only** those, maps the
chumpy and scipy classes to inert local shims that keep their state as data, and refuses every
other global before anything is created. A crafted file therefore cannot run code; the worst it
can do is fail to convert. The output is written with ``np.savez`` and loaded later with
``allow_pickle=False``.
"""

from __future__ import annotations

import codecs
import copyreg
import hashlib
import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from perspose_rt.errors import InputError
from perspose_rt.io.atomic import atomic_path
from perspose_rt.kinematics.smpl_model import FORMAT, GENDERS, REQUIRED, model_from_arrays


class _ChumpyShim:
    """Stands in for ``chumpy.ch.Ch``: keeps the pickled state; the array is its ``x``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def to_numpy(self) -> np.ndarray:
        st = self.state
        x = st.get("x") if isinstance(st, dict) else None
        if not isinstance(x, np.ndarray):
            raise InputError("a chumpy object in the pickle holds no plain array (unsupported chumpy expression)")
        return x


class _SparseShim:
    """Stands in for scipy's ``csc_matrix``/``csr_matrix``: rebuilt as a dense array."""

    kind = "csc"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def to_numpy(self) -> np.ndarray:
        st = self.state if isinstance(self.state, dict) else {}
        try:
            data = np.asarray(st["data"], np.float64)
            indices = np.asarray(st["indices"], np.int64)
            indptr = np.asarray(st["indptr"], np.int64)
            shape = tuple(int(s) for s in st.get("_shape", st.get("shape")))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"unreadable sparse matrix in the pickle: {exc}") from exc
        major = shape[1] if self.kind == "csc" else shape[0]
        if indptr.shape != (major + 1,) or indptr[-1] != data.size or indices.size != data.size:
            raise InputError("inconsistent sparse matrix in the pickle")
        out = np.zeros(shape)
        outer = np.repeat(np.arange(major), np.diff(indptr))
        if self.kind == "csc":
            np.add.at(out, (indices, outer), data)
        else:
            np.add.at(out, (outer, indices), data)
        return out


class _CsrShim(_SparseShim):
    kind = "csr"


def _numpy_global(module: str, name: str) -> Any:
    from numpy.core import multiarray

    table = {"_reconstruct": multiarray._reconstruct, "scalar": multiarray.scalar}
    return table[name]


_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("copy_reg", "_reconstructor"): copyreg._reconstructor,
    ("copyreg", "_reconstructor"): copyreg._reconstructor,
    ("__builtin__", "object"): object,
    ("builtins", "object"): object,
    # chumpy's pickled state holds a set (``_dirty_vars``); building a set runs no user code
    ("__builtin__", "set"): set,
    ("builtins", "set"): set,
    ("__builtin__", "frozenset"): frozenset,
    ("builtins", "frozenset"): frozenset,
    # Python 3 writes the raw bytes of arrays in protocol ≤ 2 as _codecs.encode(str, "latin1")
    ("_codecs", "encode"): codecs.encode,
    ("chumpy.ch", "Ch"): _ChumpyShim,
    ("scipy.sparse.csc", "csc_matrix"): _SparseShim,
    ("scipy.sparse._csc", "csc_matrix"): _SparseShim,
    ("scipy.sparse.csr", "csr_matrix"): _CsrShim,
    ("scipy.sparse._csr", "csr_matrix"): _CsrShim,
}
_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals of SMPL model files (see the module docstring)."""

    def find_class(self, module: str, name: str) -> Any:
        if module in _NUMPY_MODULES and name in ("_reconstruct", "scalar"):
            return _numpy_global(module, name)
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not part of an SMPL model file") from None


def read_smpl_pickle(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The SMPL arrays of a licensed pickle (chumpy objects and sparse matrices → numpy).

    Raises:
        InputError: unreadable file, a refused global, or not an SMPL model.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    try:
        obj = RestrictedUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError, IndexError) as exc:
        raise InputError(f"{path} is not a convertible SMPL pickle: {exc}") from exc
    if not isinstance(obj, dict):
        raise InputError(f"{path} does not hold an SMPL model (a dict of arrays)")
    out: dict[str, np.ndarray] = {}
    for key in REQUIRED:
        if key not in obj:
            raise InputError(f"{path} lacks {key!r}; is it an SMPL model file?")
        val = obj[key]
        arr = val.to_numpy() if isinstance(val, (_ChumpyShim, _SparseShim)) else val
        arr = np.asarray(arr)
        if arr.dtype == object:
            raise InputError(f"{path}: {key!r} is not a numeric array")
        out[key] = arr
    return out


def default_npz_name(pkl: str | os.PathLike[str]) -> Path:
    """``SMPL_<GENDER>.npz`` beside the pickle when its name tells the gender (``neutral``,
    ``male``/``_m_``, ``female``/``_f_`` as in ``basicmodel_f_lbs_10_207_0_v1.1.0.pkl``), else
    the pickle's own stem."""
    pkl = Path(pkl)
    stem = f"_{pkl.stem.lower()}_"
    gender = next((g for g in ("female", "male", "neutral") if g in stem), None)
    if gender is None:
        gender = "female" if "_f_" in stem else "male" if "_m_" in stem else None
    return pkl.with_name(f"SMPL_{gender.upper()}.npz" if gender else f"{pkl.stem}.npz")


def convert_smpl_pickle(src: str | os.PathLike[str], dst: str | os.PathLike[str] | None = None,
                        overwrite: bool = False) -> Path:
    """Convert one SMPL pickle to ``.npz`` (default :func:`default_npz_name`), atomically, after
    validating that it is an SMPL model.

    Raises:
        InputError: not a convertible SMPL pickle, or ``dst`` exists and ``overwrite`` is False.
    """
    src = Path(src)
    dst = Path(dst) if dst is not None else default_npz_name(src)
    if dst.exists() and not overwrite:
        raise InputError(f"{dst} exists; pass --force to overwrite it")
    arrays = read_smpl_pickle(src)
    gender = next((g for g in GENDERS if f"SMPL_{g.upper()}" == dst.stem), "neutral")
    model_from_arrays(arrays, gender, str(src))  # raises on anything but an SMPL model
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    with atomic_path(dst, suffix=".npz") as tmp:
        np.savez(tmp, format=np.array(FORMAT), source_sha256=np.array(sha), source_name=np.array(src.name),
                 v_template=arrays["v_template"].astype(np.float64),
                 shapedirs=arrays["shapedirs"].astype(np.float64),
                 posedirs=arrays["posedirs"].astype(np.float64),
                 J_regressor=arrays["J_regressor"].astype(np.float64),
                 weights=arrays["weights"].astype(np.float64),
                 f=arrays["f"].astype(np.int64), kintree_table=arrays["kintree_table"].astype(np.int64))
    return dst
