"""Engine manifests: what an engine was built from and for, checked before it is loaded.

A TensorRT engine only runs on the TensorRT version and GPU model it was built with. The manifest
(``engines/NAME/manifest.json``) records those, plus the weights hash, network config, precision,
input shapes and the validation errors measured at build time. :func:`check_runtime` compares it
with the running machine and raises :class:`EngineMismatchError` — "rebuild the engine with
build_engine.py" — on any difference. This module needs neither TensorRT nor a GPU.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from perspose_rt.errors import WeightsError
from perspose_rt.io.atomic import atomic_write_text
from perspose_rt.models.config import NetConfig

MANIFEST_FORMAT = "perspose-rt/engine-manifest"
MANIFEST_VERSION = 1
MANIFEST_NAME = "manifest.json"


class EngineMismatchError(WeightsError):
    """The engine was built for another TensorRT version or GPU."""


@dataclass
class EngineManifest:
    """Contents of ``manifest.json`` (see ``engines/README.md``)."""

    name: str
    config: dict[str, Any]
    weights_sha256: str
    weights_file: str
    precision: str  # "fp16" | "fp32"
    flip_test: bool
    max_batch: int
    opt_batch: int
    inputs: dict[str, list[int]]  # name → shape, -1 = dynamic batch
    outputs: list[str]
    onnx_file: str
    onnx_opset: int
    onnx_sha256: str
    engine_file: str | None = None
    engine_sha256: str | None = None
    tensorrt_version: str | None = None
    cuda_version: str | None = None
    gpu_name: str | None = None
    gpu_compute_capability: str | None = None
    torch_version: str = ""
    onnxruntime_version: str = ""
    validation: dict[str, dict[str, float]] = field(default_factory=dict)  # check → output → max |Δ|
    notes: list[str] = field(default_factory=list)
    created: str = field(default_factory=lambda: _dt.datetime.now().astimezone().isoformat(timespec="seconds"))
    format: str = MANIFEST_FORMAT
    version: int = MANIFEST_VERSION

    @property
    def net_config(self) -> NetConfig:
        return NetConfig.from_dict(self.config, source=f"manifest of {self.name}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def manifest_path(engine_dir: str | os.PathLike[str]) -> Path:
    return Path(engine_dir) / MANIFEST_NAME


def write_manifest(engine_dir: str | os.PathLike[str], manifest: EngineManifest) -> Path:
    path = manifest_path(engine_dir)
    atomic_write_text(path, manifest.to_json())
    return path


def read_manifest(engine_dir: str | os.PathLike[str]) -> EngineManifest:
    """Read ``engine_dir/manifest.json`` (a :class:`WeightsError` if absent or malformed)."""
    path = manifest_path(engine_dir)
    if not path.is_file():
        raise WeightsError(f"{path} not found; build the engine with build_engine.py --out {engine_dir}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise WeightsError(f"{path} is not a perspose-rt engine manifest")
    if data.get("version") != MANIFEST_VERSION:
        raise WeightsError(f"{path} has manifest version {data.get('version')!r}, expected "
                           f"{MANIFEST_VERSION}: rebuild the engine with build_engine.py")
    known = set(EngineManifest.__dataclass_fields__)
    try:
        return EngineManifest(**{k: v for k, v in data.items() if k in known})
    except TypeError as exc:
        raise WeightsError(f"{path} is incomplete ({exc}); rebuild the engine with build_engine.py") from None


def check_runtime(manifest: EngineManifest, tensorrt_version: str, gpu_name: str,
                  compute_capability: str) -> None:
    """Raise :class:`EngineMismatchError` unless the engine was built for this TensorRT and GPU."""
    if not manifest.engine_file:
        raise EngineMismatchError(f"engine {manifest.name!r} has no TensorRT engine (only ONNX was built); "
                                  "rebuild the engine with build_engine.py on a machine with TensorRT and a GPU")
    problems = []
    if manifest.tensorrt_version != tensorrt_version:
        problems.append(f"TensorRT {manifest.tensorrt_version} (running {tensorrt_version})")
    if manifest.gpu_compute_capability != compute_capability:
        problems.append(f"compute capability {manifest.gpu_compute_capability} (running {compute_capability})")
    if manifest.gpu_name != gpu_name:
        problems.append(f"GPU {manifest.gpu_name!r} (running {gpu_name!r})")
    if problems:
        raise EngineMismatchError(f"engine {manifest.name!r} was built for " + ", ".join(problems)
                                  + "; rebuild the engine with build_engine.py on this machine")
