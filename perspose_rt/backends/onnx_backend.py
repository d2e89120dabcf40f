"""ONNX Runtime backend: the exported graph on the CPU, or on CUDA when onnxruntime-gpu is installed."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from perspose_rt.backends.base import Backend
from perspose_rt.errors import UserError, WeightsError
from perspose_rt.models.export import INPUT_NAMES, onnx_session, read_onnx_metadata
from perspose_rt.models.output import OUTPUT_NAMES, PersPoseOutput


class OnnxRuntimeBackend(Backend):
    """Run an ONNX export of :class:`~perspose_rt.models.PersPoseNet`.

    Args:
        path: the ``.onnx`` written by :func:`~perspose_rt.models.export.export_onnx`.
        device: ``"cpu"`` or ``"cuda"`` (needs the CUDA execution provider; never a silent fallback).
        threads: intra-op threads on the CPU (``None``: ONNX Runtime's default).
    """

    name = "onnxruntime"

    def __init__(self, path: str | os.PathLike[str], device: str = "cpu", threads: int | None = None):
        import onnxruntime as ort

        if not os.path.isfile(path):
            raise WeightsError(f"ONNX model {path} not found; export one with build_engine.py")
        self.config, self.flip_test = read_onnx_metadata(path)
        if device.startswith("cuda"):
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise UserError("this onnxruntime has no CUDA execution provider; install onnxruntime-gpu "
                                "or use --device cpu")
            providers = ["CUDAExecutionProvider"]
        elif device == "cpu":
            providers = ["CPUExecutionProvider"]
        else:
            raise UserError(f"unknown device {device!r} for onnxruntime (use cpu or cuda)")
        self.device = device
        self.session = onnx_session(path, providers=providers, threads=threads)
        ins = [i.name for i in self.session.get_inputs()]
        outs = [o.name for o in self.session.get_outputs()]
        if ins != list(INPUT_NAMES) or sorted(outs) != sorted(OUTPUT_NAMES):
            raise WeightsError(f"{path} has inputs {ins} and outputs {outs}, not those of a perspose-rt export")

    def describe(self) -> str:
        return f"onnxruntime {self.device} fp32 ({self.config.backbone.name})"

    def _infer(self, image: Any, K_crop: Any) -> PersPoseOutput:
        feeds = {"image": _host_f32(image), "K_crop": _host_f32(K_crop)}
        return PersPoseOutput.from_tuple(self.session.run(list(OUTPUT_NAMES), feeds))


def _host_f32(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.ascontiguousarray(x, dtype=np.float32)
