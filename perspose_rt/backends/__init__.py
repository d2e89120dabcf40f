"""Inference backends behind one interface, :class:`Backend`: PyTorch, ONNX Runtime, TensorRT."""

from __future__ import annotations

import os

from perspose_rt.backends.base import Backend, check_batch
from perspose_rt.errors import UserError

__all__ = ["BACKEND_NAMES", "Backend", "check_batch", "open_backend"]

BACKEND_NAMES = ("torch", "onnxruntime", "tensorrt")


def open_backend(name: str, path: str | os.PathLike[str], device: str = "cpu", flip_test: bool = False,
                 threads: int | None = None) -> Backend:
    """Open a backend by name.

    Args:
        name: ``torch`` (``path`` = weights), ``onnxruntime`` (``path`` = ``.onnx``, or an engine folder
            holding ``model.onnx``) or ``tensorrt`` (``path`` = engine folder with ``manifest.json``).
        device: ``cpu`` or ``cuda[:N]``.
        flip_test: torch only; ONNX and TensorRT graphs have it baked in at export.
        threads: CPU threads (torch and onnxruntime).
    """
    from pathlib import Path

    if name == "torch":
        from perspose_rt.backends.torch_backend import TorchBackend
        from perspose_rt.models import PersPoseNet

        return TorchBackend(PersPoseNet.from_weights(path), device=device, flip_test=flip_test, threads=threads)
    if name == "onnxruntime":
        from perspose_rt.backends.onnx_backend import OnnxRuntimeBackend

        p = Path(path)
        if p.is_dir():
            from perspose_rt.backends.manifest import read_manifest

            p = p / read_manifest(p).onnx_file
        return OnnxRuntimeBackend(p, device=device, threads=threads)
    if name == "tensorrt":
        from perspose_rt.backends.tensorrt_backend import TensorRTBackend

        index = int(device.split(":")[1]) if device.startswith("cuda:") else 0
        return TensorRTBackend(path, device=index)
    raise UserError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")
