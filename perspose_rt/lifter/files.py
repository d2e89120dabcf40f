"""Reading a lifter's files without torch: ``NAME.json`` (config, metadata) + ``NAME.safetensors``.

The live path (``video``, ``live``, ``images``) runs the lifter in numpy
(:mod:`perspose_rt.lifter.folded`), so it reads the tensors as numpy arrays and never imports
torch; :func:`perspose_rt.lifter.weights.load_weights` builds the torch module from the same
reading. The format is described in :mod:`perspose_rt.lifter.weights`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perspose_rt.errors import InputError, WeightsError
from perspose_rt.io.weights import file_sha256, read_json
from perspose_rt.io.weights_path import resolve_weights_path
from perspose_rt.lifter.config import LifterConfig

FORMAT = "perspose-rt/lifter"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_SINGLE = WEIGHTS_DIR / "lifter_single.json"
DEFAULT_TEMPORAL = WEIGHTS_DIR / "lifter_temporal.json"


@dataclass(frozen=True)
class LifterFile:
    """A lifter as stored: where, its config, its JSON document and its float32 tensors.

    ``state`` holds the full state dict: a temporal model's referenced base is merged in under
    ``base.``, after checking that the base file is the one it was trained on.
    """

    path: Path
    config: LifterConfig
    doc: dict
    state: dict[str, np.ndarray]


def weights_sha256(lifter_json: Path) -> str:
    """sha256 of the safetensors file that the lifter JSON ``lifter_json`` names."""
    doc = read_json(lifter_json, "lifter weights")
    return file_sha256(Path(lifter_json).with_name(str(doc["weights"])))


def lifter_json_path(path: str | Path) -> Path:
    """The JSON of a lifter given as ``NAME``, ``NAME.json`` or ``NAME.safetensors``."""
    p = Path(path)
    if p.suffix == ".safetensors":
        p = p.with_suffix(".json")
    try:
        return resolve_weights_path(p, (".json",), what="lifter weights")
    except WeightsError as exc:
        raise WeightsError(f"{exc}: train them with `perspose-rt train-lifter` or reinstall perspose-rt") from None


def read_lifter(path: str | Path) -> LifterFile:
    """Read a lifter written by :func:`perspose_rt.lifter.weights.save_weights` (numpy, no torch)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    from perspose_rt.checks import require_file

    json_path = lifter_json_path(path)
    try:
        doc = json.loads(require_file(json_path, "lifter weights").read_text(encoding="utf-8"))
        if not isinstance(doc, dict):
            raise TypeError(f"its JSON is a {type(doc).__name__}, not an object")
        if doc.get("format") != FORMAT:
            raise ValueError(f"format {doc.get('format')!r}")
        cfg = LifterConfig.from_dict(doc["config"])
        tensors = require_file(json_path.with_name(str(doc["weights"])), "lifter tensors")  # a pipe blocks
        state = {k: v.astype(np.float32) if np.issubdtype(v.dtype, np.floating) else v
                 for k, v in load_file(str(tensors)).items()}
        if "base" in doc:
            base_json = (json_path.parent / doc["base"]["lifter"]).resolve()
            if weights_sha256(base_json) != doc["base"]["sha256"]:
                raise ValueError(f"its base {base_json} is not the file it was trained on (sha256 differs)")
            state.update({f"base.{k}": v for k, v in read_lifter(base_json).state.items()})
    except (OSError, ValueError, KeyError, TypeError, AttributeError, SafetensorError, InputError) as exc:
        raise WeightsError(f"{json_path} is not a usable perspose-rt lifter ({type(exc).__name__}: {exc})") from None
    return LifterFile(json_path, cfg, doc, state)
