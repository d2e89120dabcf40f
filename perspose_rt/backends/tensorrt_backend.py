"""TensorRT 10 backend: an FP16/FP32 engine built from the ONNX export, device buffers owned by torch.

**Untested here**: TensorRT cannot be installed on the machines this project is developed on, so
this module is written against the documented TensorRT 10 Python API (named I/O tensors:
``set_input_shape``, ``set_tensor_address``, ``execute_async_v3``) and its tests skip. Everything up
to it — the ONNX graph it is built from and the manifest check — is tested.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from perspose_rt.backends.base import Backend
from perspose_rt.backends.manifest import check_runtime, read_manifest
from perspose_rt.errors import UserError, WeightsError
from perspose_rt.models.export import INPUT_NAMES
from perspose_rt.models.output import OUTPUT_NAMES, PersPoseOutput

TRT_MISSING = "TensorRT is not installable on this machine"


def import_tensorrt() -> Any:
    """``import tensorrt`` or a :class:`UserError` saying how to get it."""
    try:
        import tensorrt as trt
    except ImportError:
        raise UserError("TensorRT is not installed (pip install 'perspose-rt[trt]' on a machine with an "
                        "NVIDIA GPU), or use --backend onnxruntime / torch") from None
    return trt


def gpu_identity(device: int = 0) -> tuple[str, str, str | None]:
    """(GPU name, compute capability "8.9", CUDA version) as torch sees them."""
    import torch

    if not torch.cuda.is_available():
        raise UserError("the TensorRT backend needs a CUDA GPU, and torch sees none")
    major, minor = torch.cuda.get_device_capability(device)
    return torch.cuda.get_device_name(device), f"{major}.{minor}", torch.version.cuda


class TensorRTBackend(Backend):
    """Run ``engines/NAME/`` (``manifest.json`` + the serialised engine).

    Args:
        engine_dir: the folder written by ``build_engine.py --out``.
        device: CUDA device index.
    """

    name = "tensorrt"

    def __init__(self, engine_dir: str | os.PathLike[str], device: int = 0):
        import torch

        self.manifest = read_manifest(engine_dir)
        trt = import_tensorrt()
        gpu, cc, _ = gpu_identity(device)
        check_runtime(self.manifest, trt.__version__, gpu, cc)
        self.config = self.manifest.net_config
        self.max_batch = self.manifest.max_batch
        self.flip_test = self.manifest.flip_test
        self.device = torch.device("cuda", device)
        path = Path(engine_dir) / str(self.manifest.engine_file)
        if not path.is_file():
            raise WeightsError(f"engine file {path} is missing; rebuild the engine with build_engine.py")
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self.engine = self._runtime.deserialize_cuda_engine(path.read_bytes())
        if self.engine is None:
            raise WeightsError(f"TensorRT could not deserialise {path}; rebuild the engine with build_engine.py")
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        if sorted(names) != sorted((*INPUT_NAMES, *OUTPUT_NAMES)):
            raise WeightsError(f"{path} has tensors {names}, not those of a perspose-rt engine")
        self.context = self.engine.create_execution_context()
        self.stream = torch.cuda.Stream(self.device)
        self._outputs: dict[int, dict[str, torch.Tensor]] = {}

    def describe(self) -> str:
        return f"tensorrt {self.manifest.precision} ({self.config.backbone.name})"

    def _output_buffers(self, batch: int) -> dict[str, Any]:
        """Output tensors for this batch size, allocated once (torch owns the device memory)."""
        import torch

        if batch not in self._outputs:
            bufs = {}
            for name in OUTPUT_NAMES:
                shape = tuple(self.context.get_tensor_shape(name))
                bufs[name] = torch.empty(shape, dtype=torch.float32, device=self.device)
            self._outputs[batch] = bufs
        return self._outputs[batch]

    def run_device(self, image: Any, K_crop: Any) -> PersPoseOutput:
        """Run and return torch tensors on the GPU (valid until the next call with this batch size)."""
        import torch

        img = torch.as_tensor(image).to(self.device, torch.float32).contiguous()
        K = torch.as_tensor(K_crop).to(self.device, torch.float32).contiguous()
        B = img.shape[0]
        self.context.set_input_shape("image", tuple(img.shape))
        self.context.set_input_shape("K_crop", tuple(K.shape))
        self.context.set_tensor_address("image", img.data_ptr())
        self.context.set_tensor_address("K_crop", K.data_ptr())
        outs = self._output_buffers(B)
        for name, buf in outs.items():
            self.context.set_tensor_address(name, buf.data_ptr())
        self.stream.wait_stream(torch.cuda.current_stream(self.device))
        if not self.context.execute_async_v3(self.stream.cuda_stream):
            raise RuntimeError("TensorRT execute_async_v3 failed")
        torch.cuda.current_stream(self.device).wait_stream(self.stream)
        img.record_stream(self.stream)
        K.record_stream(self.stream)
        return PersPoseOutput.from_mapping(outs)

    def _infer(self, image: Any, K_crop: Any) -> PersPoseOutput:
        out = self.run_device(image, K_crop)
        self.stream.synchronize()
        return out.numpy()
