"""The lifter's file format: ``NAME.safetensors`` (float16 tensors) + ``NAME.json`` (config, metadata).

No pickle anywhere: safetensors holds only tensors and the JSON holds the
:class:`~perspose_rt.lifter.models.LifterConfig` plus provenance (training command, numbers).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from perspose_rt.errors import WeightsError
from perspose_rt.io import atomic_path
from perspose_rt.io.atomic import atomic_write_text
from perspose_rt.lifter.models import LifterConfig, build_model

FORMAT = "perspose-rt/lifter"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_SINGLE = WEIGHTS_DIR / "lifter_single.json"
DEFAULT_TEMPORAL = WEIGHTS_DIR / "lifter_temporal.json"


def save_weights(prefix: str | Path, model: torch.nn.Module, cfg: LifterConfig, meta: dict | None = None) -> Path:
    """Write ``prefix.safetensors`` and ``prefix.json``; returns the JSON path."""
    from safetensors.torch import save_file

    prefix = Path(prefix)
    state = {k: (v.half() if v.is_floating_point() else v).contiguous().clone()
             for k, v in model.state_dict().items()}
    with atomic_path(prefix.with_suffix(".safetensors")) as tmp:
        save_file(state, str(tmp))
    doc = {"format": FORMAT, "version": 1, "config": cfg.to_dict(),
           "weights": prefix.with_suffix(".safetensors").name, **(meta or {})}
    atomic_write_text(prefix.with_suffix(".json"), json.dumps(doc, indent=2) + "\n")
    return prefix.with_suffix(".json")


def load_weights(json_path: str | Path) -> tuple[torch.nn.Module, LifterConfig, dict]:
    """Read a lifter written by :func:`save_weights` → (model in eval mode, config, metadata)."""
    from safetensors.torch import load_file

    json_path = Path(json_path)
    if json_path.suffix == ".safetensors":
        json_path = json_path.with_suffix(".json")
    if not json_path.exists():
        raise WeightsError(f"lifter weights {json_path} not found: train them with "
                           "`perspose-rt train-lifter` or reinstall perspose-rt")
    try:
        doc = json.loads(json_path.read_text(encoding="utf-8"))
        if doc.get("format") != FORMAT:
            raise ValueError(f"format {doc.get('format')!r}")
        cfg = LifterConfig.from_dict(doc["config"])
        state = load_file(str(json_path.with_name(doc["weights"])))
        model = build_model(cfg)
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise WeightsError(f"{json_path} is not a usable perspose-rt lifter ({exc})") from exc
    model.eval()
    return model, cfg, doc


def install_weights(src_json: str | Path, dst_prefix: str | Path, extra: dict | None = None) -> Path:
    """Copy a trained lifter to ``dst_prefix.{safetensors,json}`` (e.g. the shipped defaults),
    merging ``extra`` (evaluation numbers, …) into its JSON metadata."""
    model, cfg, doc = load_weights(src_json)
    meta = {k: v for k, v in doc.items() if k not in ("format", "version", "config", "weights")}
    meta.update(extra or {})
    return save_weights(dst_prefix, model, cfg, meta)
