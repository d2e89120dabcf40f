"""``build_engine.py``: weights → validated ONNX → (TensorRT engine when possible) + manifest.

Always exports the ONNX graph and validates it against PyTorch (FP32) with ONNX Runtime; builds
the TensorRT engine when TensorRT and a CUDA GPU are present, validates it against PyTorch on the
GPU, and otherwise says so and stops after the ONNX. The manifest records everything needed to
decide later whether the engine can run on a machine (see :mod:`perspose_rt.backends.manifest`).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import torch

from perspose_rt.backends.manifest import EngineManifest, write_manifest
from perspose_rt.errors import UserError
from perspose_rt.models import OUTPUT_NAMES, PersPoseNet
from perspose_rt.models.export import (
    OPSET,
    export_onnx,
    failed_tolerances,
    max_abs_diff,
    sample_inputs,
    validate_onnx,
)
from perspose_rt.models.weights import file_sha256, weights_paths

log = logging.getLogger(__name__)

ONNX_FILE = "model.onnx"
ENGINE_FILE = "model.engine"
#: TensorRT vs PyTorch FP32 agreement required for an FP16 engine (uv px, xyz m); FP32 uses the ONNX ones.
FP16_TOLERANCES = {"uv": 0.5, "depth": 2e-3, "rho0": 1e-4, "twist": 0.05, "beta": 0.05, "leaf_rot": 0.02,
                   "xyz": 1e-3, "xyz0": 5e-3}


def tensorrt_status() -> str | None:
    """``None`` when an engine can be built here, else the reason why not."""
    if importlib.util.find_spec("tensorrt") is None:
        return "TensorRT is not installed"
    if not torch.cuda.is_available():
        return "no CUDA GPU is visible"
    return None


def build_engine(weights: str | os.PathLike[str], out: str | os.PathLike[str], precision: str = "fp16",
                 max_batch: int = 8, opt_batch: int = 1, flip_test: bool = False,
                 say: Callable[[str], None] = print) -> EngineManifest:
    """Export, validate and (when possible) compile; write ``out/manifest.json``. Returns the manifest.

    Raises:
        UserError: bad arguments, or a validation error above tolerance (the manifest is still
            written, with the measured errors, so nothing computed is lost).
    """
    if precision not in ("fp16", "fp32"):
        raise UserError(f"--precision must be fp16 or fp32, got {precision!r}")
    if not 1 <= opt_batch <= max_batch:
        raise UserError(f"need 1 <= --opt-batch ({opt_batch}) <= --max-batch ({max_batch})")
    import onnxruntime

    st_path, _ = weights_paths(weights)
    net = PersPoseNet.from_weights(st_path)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    say(f"exporting {st_path.name} ({net.config.backbone.name}, flip test {'on' if flip_test else 'off'}) "
        f"to {out / ONNX_FILE}")
    onnx_path = export_onnx(net, out / ONNX_FILE, flip_test=flip_test)
    diffs = validate_onnx(net, onnx_path, batch=min(2, max_batch), flip_test=flip_test)
    say("ONNX Runtime vs PyTorch (fp32), max |Δ|: " + _fmt(diffs))
    size = net.config.input_size
    manifest = EngineManifest(
        name=out.name, config=json.loads(net.config.to_json()), weights_sha256=file_sha256(st_path),
        weights_file=str(st_path), precision=precision, flip_test=flip_test, max_batch=max_batch,
        opt_batch=opt_batch, inputs={"image": [-1, 3, size, size], "K_crop": [-1, 3, 3]},
        outputs=list(OUTPUT_NAMES), onnx_file=ONNX_FILE, onnx_opset=OPSET, onnx_sha256=file_sha256(onnx_path),
        torch_version=torch.__version__, onnxruntime_version=onnxruntime.__version__,
        validation={"onnxruntime_vs_torch_fp32": diffs})
    bad = failed_tolerances(diffs)
    if bad:
        write_manifest(out, manifest)
        raise UserError(f"the ONNX export disagrees with PyTorch on {', '.join(bad)} (see {out}/manifest.json)")

    reason = tensorrt_status()
    if reason is not None:
        manifest.notes.append(f"no TensorRT engine: {reason}; the ONNX graph runs with --backend onnxruntime")
        write_manifest(out, manifest)
        say(f"{reason}: stopping after the ONNX export. Run build_engine.py on a machine with TensorRT 10 "
            "and an NVIDIA GPU to compile the engine.")
        return manifest

    from perspose_rt.backends.tensorrt_backend import TensorRTBackend, gpu_identity, import_tensorrt
    from perspose_rt.backends.tensorrt_build import build_trt_engine

    trt = import_tensorrt()
    gpu, cc, cuda = gpu_identity(0)
    say(f"building the TensorRT {trt.__version__} {precision} engine for {gpu} (batch 1–{max_batch})")
    engine_path = build_trt_engine(onnx_path, out / ENGINE_FILE, precision, max_batch, opt_batch, size)
    manifest.engine_file, manifest.engine_sha256 = ENGINE_FILE, file_sha256(engine_path)
    manifest.tensorrt_version, manifest.gpu_name, manifest.gpu_compute_capability = trt.__version__, gpu, cc
    manifest.cuda_version = cuda
    write_manifest(out, manifest)
    image, K = sample_inputs(min(2, max_batch), size, seed=2)
    with torch.no_grad():
        ref = net.to("cuda")(torch.from_numpy(image).cuda(), torch.from_numpy(K).cuda(), flip_test=flip_test)
    trt_diffs = max_abs_diff(TensorRTBackend(out).infer(image, K), ref)
    say(f"TensorRT {precision} vs PyTorch (fp32), max |Δ|: " + _fmt(trt_diffs))
    manifest.validation[f"tensorrt_{precision}_vs_torch_fp32"] = trt_diffs
    write_manifest(out, manifest)
    bad = failed_tolerances(trt_diffs, FP16_TOLERANCES if precision == "fp16" else None)
    if bad:
        raise UserError(f"the TensorRT engine disagrees with PyTorch on {', '.join(bad)} (see {out}/manifest.json)")
    return manifest


def _fmt(diffs: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2e}" for k, v in diffs.items())
