"""The PyTorch backend (CPU here; the CUDA FP16 + CUDA-graph path is tested on a GPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from perspose_rt.backends import open_backend
from perspose_rt.backends.base import Backend, check_batch
from perspose_rt.backends.torch_backend import TorchBackend
from perspose_rt.errors import InputError, UserError
from perspose_rt.models import NetConfig, PersPoseNet
from perspose_rt.models.export import max_abs_diff, sample_inputs

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this machine)")


@pytest.fixture(scope="module")
def small_net() -> PersPoseNet:
    torch.manual_seed(2)
    return PersPoseNet(NetConfig.variant("w18s")).eval()


def test_cpu_backend_equals_the_module(small_net):
    be = TorchBackend(small_net)
    assert isinstance(be, Backend) and be.describe() == "torch cpu fp32+eager (w18s)"
    image, K = sample_inputs(2, seed=3)
    out = be.infer(image, K)
    with torch.no_grad():
        ref = small_net(torch.from_numpy(image), torch.from_numpy(K))
    assert isinstance(out.xyz, np.ndarray) and out.xyz.dtype == np.float32
    assert max(max_abs_diff(out, ref).values()) == 0.0
    # torch tensors are accepted as well
    out_t = be.infer(torch.from_numpy(image), torch.from_numpy(K))
    assert max(max_abs_diff(out, out_t).values()) == 0.0
    assert be.net is not small_net  # the caller's module is not modified


def test_open_backend_from_weights(small_net, tmp_path):
    small_net.save_weights(tmp_path / "w")
    be = open_backend("torch", tmp_path / "w.safetensors", flip_test=True)
    assert be.flip_test and be.config == small_net.config
    with pytest.raises(UserError, match="unknown backend"):
        open_backend("tflite", tmp_path / "w")


def test_cpu_refuses_gpu_only_modes(small_net):
    with pytest.raises(UserError, match="need a CUDA device"):
        TorchBackend(small_net, fp16=True)
    with pytest.raises(UserError, match="need a CUDA device"):
        TorchBackend(small_net, cuda_graph=True)


def test_check_batch():
    img = np.zeros((2, 3, 256, 256), np.float32)
    assert check_batch(img, np.zeros((2, 3, 3)), 256) == 2
    with pytest.raises(InputError, match="exceeds this backend's maximum of 1"):
        check_batch(img, np.zeros((2, 3, 3)), 256, max_batch=1)
    with pytest.raises(InputError, match="empty batch"):
        check_batch(img[:0], np.zeros((0, 3, 3)), 256)


def test_fp16_backbone_plumbing_on_cpu(small_net):
    """The CUDA mode's precision split (FP16 backbone, FP32 heads and lifting), run on the CPU."""
    import copy

    half = copy.deepcopy(small_net)
    half.backbone.half()
    half.cam_layer.half()
    half = half.to(memory_format=torch.channels_last)
    image, K = sample_inputs(1, seed=7)
    with torch.no_grad():
        ref = small_net(torch.from_numpy(image), torch.from_numpy(K)).numpy()
        x = torch.from_numpy(image).contiguous(memory_format=torch.channels_last)
        out = half(x, torch.from_numpy(K))
    assert out.xyz.dtype == torch.float32 and out.uv.dtype == torch.float32
    assert max_abs_diff(out, ref)["xyz"] < 1e-3  # metres


@requires_cuda
def test_cuda_fp16_graph_matches_fp32(small_net):
    fp32 = TorchBackend(small_net, device="cuda", fp16=False, channels_last=False, cuda_graph=False)
    fast = TorchBackend(small_net, device="cuda")
    assert fast.describe() == "torch cuda fp16+channels-last+cuda-graph (w18s)"
    for batch in (1, 4, 1):  # capture two batch sizes, then replay the first again
        image, K = sample_inputs(batch, seed=batch)
        ref, out = fp32.infer(image, K), fast.infer(image, K)
        assert np.abs(out.xyz - ref.xyz).max() < 1e-3  # 1 mm
        assert np.abs(out.uv - ref.uv).max() < 0.5
