"""ONNX export of :class:`PersPoseNet` and its validation against PyTorch with ONNX Runtime.

The graph has two inputs, ``image`` (B, 3, 256, 256) float32 and ``K_crop`` (B, 3, 3) float32,
a dynamic batch dimension, and the named outputs of :data:`OUTPUT_NAMES`. The PE map is computed
inside the graph from ``K_crop`` with the closed-form inverse of an upper-triangular matrix (no
``Inverse`` op), and the optional flip test is baked in at export time.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from perspose_rt.errors import WeightsError
from perspose_rt.io.atomic import atomic_path
from perspose_rt.models.config import NetConfig
from perspose_rt.models.output import OUTPUT_NAMES, PersPoseOutput

INPUT_NAMES = ("image", "K_crop")
#: ONNX opset of the exported graph (supported by ONNX Runtime ≥ 1.14 and TensorRT 10).
OPSET = 17
META_CONFIG = "perspose_rt_config"
META_FLIP = "perspose_rt_flip_test"


class _ExportWrapper(nn.Module):
    def __init__(self, net: nn.Module, flip_test: bool):
        super().__init__()
        self.net = net
        self.flip_test = flip_test

    def forward(self, image: torch.Tensor, K_crop: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.net(image, K_crop, flip_test=self.flip_test).as_tuple()


def sample_inputs(batch: int, size: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic test inputs: a noise image and PR-style crop intrinsics (f from 250 to 1500 px)."""
    rng = np.random.default_rng(seed)
    image = rng.normal(0.0, 1.0, (batch, 3, size, size)).astype(np.float32)
    K = np.zeros((batch, 3, 3), np.float32)
    f = rng.uniform(250.0, 1500.0, batch)
    K[:, 0, 0] = f
    K[:, 1, 1] = f * rng.uniform(0.98, 1.02, batch)
    K[:, 0, 2] = size / 2 + rng.uniform(-4, 4, batch)
    K[:, 1, 2] = size / 2 + rng.uniform(-4, 4, batch)
    K[:, 2, 2] = 1.0
    return image, K


def export_onnx(net: nn.Module, path: str | os.PathLike[str], flip_test: bool = False,
                opset: int = OPSET) -> Path:
    """Export ``net`` (FP32, eval mode) to ``path`` atomically and check it with ``onnx.checker``."""
    import onnx

    net = net.float().eval()
    size = net.config.input_size
    image, K = sample_inputs(2, size)
    wrapper = _ExportWrapper(net, flip_test).eval()
    dynamic = {n: {0: "batch"} for n in (*INPUT_NAMES, *OUTPUT_NAMES)}
    path = Path(path)
    with atomic_path(path) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", (DeprecationWarning, torch.jit.TracerWarning, UserWarning))
        torch.onnx.export(wrapper, (torch.from_numpy(image), torch.from_numpy(K)), str(tmp), dynamo=False,
                          input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES),
                          dynamic_axes=dynamic, opset_version=opset, do_constant_folding=True)
        model = onnx.load(str(tmp))
        meta = {META_CONFIG: net.config.to_json(), META_FLIP: "1" if flip_test else "0"}
        for k, v in meta.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = k, v
        onnx.save(model, str(tmp))
        onnx.checker.check_model(str(tmp))
    return path


def read_onnx_metadata(path: str | os.PathLike[str]) -> tuple[NetConfig, bool]:
    """The network config and flip-test flag stored in an exported graph."""
    import json

    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 (DecodeError, OSError, …: all mean "not a readable model")
        raise WeightsError(f"cannot read ONNX model {path}: {exc}") from None
    meta = {p.key: p.value for p in model.metadata_props}
    if META_CONFIG not in meta:
        raise WeightsError(f"{path} is not a perspose-rt export (no {META_CONFIG} metadata); "
                           "export it with build_engine.py")
    return NetConfig.from_dict(json.loads(meta[META_CONFIG]), source=str(path)), meta.get(META_FLIP) == "1"


def onnx_session(path: str | os.PathLike[str], providers: list[str] | None = None, threads: int | None = None):
    """An ONNX Runtime session (CPU unless ``providers`` says otherwise)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=opts, providers=providers or ["CPUExecutionProvider"])


def max_abs_diff(a: PersPoseOutput, b: PersPoseOutput) -> dict[str, float]:
    """Max |a − b| per output field (both converted to float32 numpy)."""
    a, b = a.numpy(), b.numpy()
    return {n: float(np.max(np.abs(getattr(a, n) - getattr(b, n)))) for n in OUTPUT_NAMES}


def validate_onnx(net: nn.Module, path: str | os.PathLike[str], batch: int = 2, flip_test: bool = False,
                  seed: int = 1, threads: int | None = None) -> dict[str, float]:
    """Run PyTorch (FP32) and ONNX Runtime (CPU) on the same inputs; max |Δ| per output."""
    image, K = sample_inputs(batch, net.config.input_size, seed)
    with torch.no_grad():
        ref = net.float().eval()(torch.from_numpy(image), torch.from_numpy(K), flip_test=flip_test)
    sess = onnx_session(path, threads=threads)
    got = sess.run(list(OUTPUT_NAMES), {"image": image, "K_crop": K})
    return max_abs_diff(ref, PersPoseOutput.from_tuple(got))


#: FP32 agreement required between ONNX Runtime and PyTorch (uv in px, depth/xyz in m).
TOLERANCES = {"uv": 1e-3, "depth": 1e-5, "rho0": 1e-6, "twist": 1e-3, "beta": 1e-3, "leaf_rot": 1e-4,
              "xyz": 1e-4, "xyz0": 1e-3}


def failed_tolerances(diffs: dict[str, float], tolerances: dict[str, float] | None = None) -> list[str]:
    """Names of the outputs whose max |Δ| exceeds its tolerance."""
    tol = tolerances or TOLERANCES
    return [n for n, d in diffs.items() if not d <= tol[n]]
