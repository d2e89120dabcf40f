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
from perspose_rt.io.weights import file_sha256, read_json, read_tensors, write_pair
from perspose_rt.lifter.models import LifterConfig, build_model

FORMAT = "perspose-rt/lifter"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_SINGLE = WEIGHTS_DIR / "lifter_single.json"
DEFAULT_TEMPORAL = WEIGHTS_DIR / "lifter_temporal.json"


def _weights_sha256(lifter_json: Path) -> str:
    """sha256 of the safetensors file that the lifter JSON ``lifter_json`` names."""
    doc = read_json(lifter_json, "lifter weights")
    return file_sha256(Path(lifter_json).with_name(doc["weights"]))


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
    """Read a lifter written by :func:`save_weights` → (model in eval mode, config, metadata)."""
    json_path = Path(json_path)
    if json_path.suffix == ".safetensors":
        json_path = json_path.with_suffix(".json")
    if not json_path.exists():
        raise WeightsError(f"lifter weights {json_path} not found: train them with "
                           "`perspose-rt train-lifter` or reinstall perspose-rt")
    from perspose_rt.errors import InputError

    try:
        doc = read_json(json_path, "lifter weights")
        if doc.get("format") != FORMAT:
            raise ValueError(f"format {doc.get('format')!r}")
        cfg = LifterConfig.from_dict(doc["config"])
        state, _ = read_tensors(json_path.with_name(doc["weights"]))
        state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
        model = build_model(cfg)
        if "base" in doc:
            base_json = (json_path.parent / doc["base"]["lifter"]).resolve()
            if _weights_sha256(base_json) != doc["base"]["sha256"]:
                raise ValueError(f"its base {base_json} is not the file it was trained on (sha256 differs)")
            base_model, _, _ = load_weights(base_json)
            state.update({f"base.{k}": v for k, v in base_model.state_dict().items()})
        model.load_state_dict(state)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError, WeightsError,
            InputError) as exc:
        raise WeightsError(f"{json_path} is not a usable perspose-rt lifter ({type(exc).__name__}: {exc})") from None
    model.eval()
    return model, cfg, doc


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
