"""PyTorch backend: FP32 eager on the CPU; on CUDA, FP16 backbone + channels-last + CUDA-graph replay.

On CUDA the backbone and the PE convolution run in FP16 (channels-last memory layout) while the
heads, soft-argmax and lifting stay in FP32 (see :mod:`perspose_rt.models.perspose`). With
``cuda_graph`` one graph is captured per batch size on first use (static input/output buffers,
inputs copied in, ``replay()``), which removes the per-kernel launch overhead of ~1,000 small
kernels.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from perspose_rt.backends.base import Backend
from perspose_rt.errors import UserError
from perspose_rt.models.output import PersPoseOutput


class TorchBackend(Backend):
    """Run a :class:`~perspose_rt.models.PersPoseNet` with PyTorch.

    Args:
        net: the network (copied; the caller's module is left untouched).
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        fp16, channels_last, cuda_graph: default ``True`` on CUDA, ``False`` on the CPU; FP16 and
            CUDA graphs require CUDA.
        flip_test: average with the mirrored pass (doubles the cost).
        threads: ``torch.set_num_threads`` for the CPU (``None``: leave as is).
    """

    name = "torch"

    def __init__(self, net: torch.nn.Module, device: str = "cpu", fp16: bool | None = None,
                 channels_last: bool | None = None, cuda_graph: bool | None = None,
                 flip_test: bool = False, threads: int | None = None):
        self.device = torch.device(device)
        cuda = self.device.type == "cuda"
        if cuda and not torch.cuda.is_available():
            raise UserError("CUDA was requested but torch sees no GPU; use --device cpu")
        self.fp16 = cuda if fp16 is None else fp16
        self.channels_last = cuda if channels_last is None else channels_last
        self.cuda_graph = cuda if cuda_graph is None else cuda_graph
        if (self.fp16 or self.cuda_graph) and not cuda:
            raise UserError("FP16 and CUDA graphs need a CUDA device; use FP32 eager on the CPU")
        if threads:
            torch.set_num_threads(threads)
        self.flip_test = flip_test
        self.config = net.config
        net = copy.deepcopy(net).float().eval().to(self.device)
        if self.fp16:
            net.backbone.half()
            net.cam_layer.half()
        if self.channels_last:
            net = net.to(memory_format=torch.channels_last)
        self.net = net
        self._graphs: dict[int, _CapturedGraph] = {}

    def describe(self) -> str:
        mode = ["fp16" if self.fp16 else "fp32"]
        mode += ["channels-last"] if self.channels_last else []
        mode += ["cuda-graph"] if self.cuda_graph else ["eager"]
        return f"torch {self.device} {'+'.join(mode)} ({self.config.backbone.name})"

    def _to_device(self, image: Any, K_crop: Any) -> tuple[torch.Tensor, torch.Tensor]:
        img = torch.as_tensor(image).to(self.device, torch.float32, non_blocking=True)
        K = torch.as_tensor(K_crop).to(self.device, torch.float32, non_blocking=True)
        if self.channels_last:
            img = img.contiguous(memory_format=torch.channels_last)
        return img, K

    def run_device(self, image: Any, K_crop: Any) -> PersPoseOutput:
        """Like :meth:`infer` but returns torch tensors on the backend's device (no host copy)."""
        img, K = self._to_device(image, K_crop)
        if self.cuda_graph:
            B = img.shape[0]
            if B not in self._graphs:
                self._graphs[B] = _CapturedGraph(self.net, B, self.config.input_size, self.device,
                                                 self.channels_last, self.flip_test)
            return self._graphs[B].run(img, K)
        with torch.inference_mode():
            return self.net(img, K, flip_test=self.flip_test)

    def _infer(self, image: Any, K_crop: Any) -> PersPoseOutput:
        return self.run_device(image, K_crop).numpy()


class _CapturedGraph:
    """A CUDA graph of the whole forward for one batch size, with static buffers."""

    def __init__(self, net: torch.nn.Module, batch: int, size: int, device: torch.device,
                 channels_last: bool, flip_test: bool):
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        self.img = torch.zeros(batch, 3, size, size, device=device).contiguous(memory_format=fmt)
        self.K = torch.eye(3, device=device).repeat(batch, 1, 1)
        self.K[:, 0, 0] = self.K[:, 1, 1] = 500.0
        self.K[:, :2, 2] = size / 2
        stream = torch.cuda.Stream(device)
        stream.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(stream), torch.no_grad():
            for _ in range(3):  # warm-up: cuDNN autotuning and lazy allocations outside the capture
                net(self.img, self.K, flip_test=flip_test)
        torch.cuda.current_stream(device).wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph), torch.no_grad():
            self.out = net(self.img, self.K, flip_test=flip_test)

    def run(self, img: torch.Tensor, K: torch.Tensor) -> PersPoseOutput:
        self.img.copy_(img)
        self.K.copy_(K)
        self.graph.replay()
        return PersPoseOutput(**{k: v.clone() for k, v in vars(self.out).items()})
