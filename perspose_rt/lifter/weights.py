"""The lifter's file format: ``NAME.safetensors`` (float16 tensors) + ``NAME.json`` (config, metadata).

No pickle anywhere: safetensors holds only tensors and the JSON holds the
:class:`~perspose_rt.lifter.models.LifterConfig` plus provenance (training command, numbers).

A temporal model built on a frozen single-frame base does not copy the base: its JSON names the
base lifter (``"base": {"lifter": path relative to this JSON, "sha256": of its safetensors}``)
and loading checks that the base file is exactly the one it was trained on.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from perspose_rt.errors import WeightsError
from perspose_rt.io.weights import write_pair
from perspose_rt.lifter.files import DEFAULT_SINGLE, DEFAULT_TEMPORAL, FORMAT, WEIGHTS_DIR, read_lifter
from perspose_rt.lifter.files import weights_sha256 as _weights_sha256
from perspose_rt.lifter.models import LifterConfig, build_model

__all__ = ["DEFAULT_SINGLE", "DEFAULT_TEMPORAL", "FORMAT", "WEIGHTS_DIR", "install_weights", "load_weights",
           "save_weights"]


def save_weights(prefix: str | Path, model: torch.nn.Module, cfg: LifterConfig, meta: dict | None = None,
                 base: str | Path | None = None) -> Path:
    """Write ``prefix.safetensors`` and ``prefix.json``; returns the JSON path.

    ``base``: for a temporal model with a base, the JSON of the single-frame lifter its base was
    loaded from; the base's tensors are then not written, only a checked reference to that file.
    """
    prefix = Path(prefix)
    ref = None
    if base is not None:
        base = Path(base).resolve()
        ref = {"lifter": os.path.relpath(base, prefix.resolve().parent), "sha256": _weights_sha256(base)}
    state = {k: (v.half() if v.is_floating_point() else v).contiguous().clone()
             for k, v in model.state_dict().items() if ref is None or not k.startswith("base.")}
    doc = {"format": FORMAT, "version": 1, "config": cfg.to_dict(),
           "weights": prefix.with_suffix(".safetensors").name, **({"base": ref} if ref else {}),
           **(meta or {})}
    write_pair(prefix.with_suffix(".safetensors"), prefix.with_suffix(".json"), state,
               json.dumps(doc, indent=2) + "\n")
    return prefix.with_suffix(".json")


def load_weights(json_path: str | Path) -> tuple[torch.nn.Module, LifterConfig, dict]:
    """Read a lifter written by :func:`save_weights` → (model in eval mode, config, metadata).

    ``json_path``: ``NAME.json``, ``NAME.safetensors`` or the stem ``NAME``.
    """
    lf = read_lifter(json_path)
    model = build_model(lf.config)
    try:
        model.load_state_dict({k: torch.from_numpy(v) for k, v in lf.state.items()})
    except RuntimeError as exc:
        raise WeightsError(f"{lf.path} is not a usable perspose-rt lifter ({exc})") from exc
    model.eval()
    return model, lf.config, lf.doc


def install_weights(src_json: str | Path, dst_prefix: str | Path, extra: dict | None = None,
                    base: str | Path | None = None) -> Path:
    """Copy a trained lifter to ``dst_prefix.{safetensors,json}`` (e.g. the shipped defaults),
    merging ``extra`` (evaluation numbers, …) into its JSON metadata.

    A model with a referenced base needs ``base``: the JSON of a copy of that base (same sha256),
    e.g. the shipped single-frame lifter, which the installed file then refers to.
    """
    src_json = Path(src_json)
    model, cfg, doc = load_weights(src_json)
    meta = {k: v for k, v in doc.items() if k not in ("format", "version", "config", "weights", "base")}
    meta.update(extra or {})
    if "base" in doc:
        if base is None:
            raise WeightsError(f"{src_json} refers to a base lifter: say which copy of it to refer to")
        if _weights_sha256(Path(base)) != doc["base"]["sha256"]:
            raise WeightsError(f"{base} is not the base {src_json} was trained on (sha256 differs)")
    return save_weights(dst_prefix, model, cfg, meta, base=base if "base" in doc else None)
