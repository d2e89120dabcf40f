"""The one weights file format of perspose-rt: ``NAME.safetensors`` (tensors) + ``NAME.json`` (config).

Both the lifter (:mod:`perspose_rt.lifter.weights`) and the image network
(:mod:`perspose_rt.models.weights`) write and read their files through these functions; each of
them only decides what goes into the JSON document (its config and provenance) and in which dtype
its tensors are stored. No pickle anywhere: safetensors holds only tensors and a string-to-string
header, the JSON holds everything else. Writes are atomic (a reader never sees half a file).

torch is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from perspose_rt.checks import require_file
from perspose_rt.errors import InputError, WeightsError
from perspose_rt.io.atomic import atomic_path, atomic_write_text


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def write_pair(st_path: str | os.PathLike[str], json_path: str | os.PathLike[str], tensors: dict,
               json_text: str, header: dict[str, str] | None = None) -> tuple[Path, Path]:
    """Write ``tensors`` (name → contiguous CPU tensor) and ``json_text``, both atomically.

    ``header``: optional string metadata stored in the safetensors header (e.g. a copy of the
    config, so a JSON paired with the wrong tensors is detected on loading).
    """
    from safetensors.torch import save_file

    st_path, json_path = Path(st_path), Path(json_path)
    with atomic_path(st_path) as tmp:
        save_file(tensors, str(tmp), metadata=header)
    atomic_write_text(json_path, json_text)
    return st_path, json_path


def _require(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` if it is a regular, readable file (a FIFO is refused unopened: opening it would
    block); else a :class:`WeightsError` that says why."""
    try:
        return require_file(path, what)
    except InputError as exc:
        raise WeightsError(str(exc)) from None


def read_json(json_path: str | os.PathLike[str], what: str = "weights config") -> dict[str, Any]:
    """Parse a weights JSON; a missing path, a directory, a pipe, an unreadable file or a JSON that
    is not an object is a :class:`WeightsError` (one line)."""
    json_path = _require(json_path, what)
    try:
        doc = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"cannot read {what} {json_path}: {exc}") from None
    if not isinstance(doc, dict):
        raise WeightsError(f"{what} {json_path} is a JSON {type(doc).__name__}, not an object")
    return doc


def read_tensors(st_path: str | os.PathLike[str]) -> tuple[dict, dict[str, str]]:
    """All tensors of a safetensors file (on the CPU) and its header metadata."""
    from safetensors import SafetensorError
    from safetensors.torch import safe_open

    st_path = _require(st_path, "weights file")
    try:
        with safe_open(str(st_path), framework="pt", device="cpu") as fh:
            meta = fh.metadata() or {}
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118 (safe_open is not iterable)
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"cannot read {st_path} as safetensors: {exc}") from None
    return tensors, meta
