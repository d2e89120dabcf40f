"""TensorRT: the manifest logic (no TensorRT needed) and the backend itself (skipped here)."""

from __future__ import annotations

import importlib.util
import json

import pytest

from perspose_rt.backends.manifest import (
    EngineManifest,
    EngineMismatchError,
    check_runtime,
    read_manifest,
    write_manifest,
)
from perspose_rt.backends.tensorrt_backend import TRT_MISSING
from perspose_rt.errors import UserError, WeightsError
from perspose_rt.models import NetConfig

HAVE_TRT = importlib.util.find_spec("tensorrt") is not None


def _manifest(**kw) -> EngineManifest:
    base = {"name": "w48_fp16", "config": json.loads(NetConfig().to_json()), "weights_sha256": "ab" * 32,
            "weights_file": "perspose.safetensors", "precision": "fp16", "flip_test": False,
            "max_batch": 8, "opt_batch": 1, "inputs": {"image": [-1, 3, 256, 256], "K_crop": [-1, 3, 3]},
            "outputs": ["uv"], "onnx_file": "model.onnx", "onnx_opset": 17, "onnx_sha256": "cd" * 32,
            "engine_file": "model.engine", "engine_sha256": "ef" * 32, "tensorrt_version": "10.3.0",
            "cuda_version": "12.4", "gpu_name": "NVIDIA H100 80GB HBM3", "gpu_compute_capability": "9.0"}
    base.update(kw)
    return EngineManifest(**base)


def test_manifest_round_trip(tmp_path):
    m = _manifest(validation={"onnxruntime_vs_torch_fp32": {"uv": 1e-5}})
    write_manifest(tmp_path, m)
    back = read_manifest(tmp_path)
    assert back == m and back.net_config == NetConfig()


def test_runtime_check_accepts_the_build_machine():
    check_runtime(_manifest(), "10.3.0", "NVIDIA H100 80GB HBM3", "9.0")


@pytest.mark.parametrize(("trt", "gpu", "cc", "what"), [
    ("10.4.0", "NVIDIA H100 80GB HBM3", "9.0", "TensorRT 10.3.0 (running 10.4.0)"),
    ("10.3.0", "NVIDIA GeForce RTX 4090", "8.9", "compute capability 9.0 (running 8.9)"),
    ("10.3.0", "NVIDIA H100 PCIe", "9.0", "GPU 'NVIDIA H100 80GB HBM3' (running 'NVIDIA H100 PCIe')"),
])
def test_runtime_check_names_the_mismatch(trt, gpu, cc, what):
    with pytest.raises(EngineMismatchError) as exc:
        check_runtime(_manifest(), trt, gpu, cc)
    assert what in str(exc.value) and "rebuild the engine with build_engine.py" in str(exc.value)


def test_onnx_only_manifest_cannot_run_tensorrt():
    with pytest.raises(EngineMismatchError, match="only ONNX was built.*rebuild the engine with build_engine.py"):
        check_runtime(_manifest(engine_file=None), "10.3.0", "NVIDIA H100 80GB HBM3", "9.0")


def test_bad_manifests(tmp_path):
    with pytest.raises(WeightsError, match="not found; build the engine with build_engine.py"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{")
    with pytest.raises(WeightsError, match="cannot read"):
        read_manifest(tmp_path)
    d = json.loads(_manifest().to_json())
    d["version"] = 7
    (tmp_path / "manifest.json").write_text(json.dumps(d))
    with pytest.raises(WeightsError, match="manifest version 7.*rebuild"):
        read_manifest(tmp_path)
    d["version"] = 1
    del d["precision"]
    (tmp_path / "manifest.json").write_text(json.dumps(d))
    with pytest.raises(WeightsError, match="incomplete"):
        read_manifest(tmp_path)


@pytest.mark.skipif(HAVE_TRT, reason="TensorRT is installed here")
def test_missing_tensorrt_is_a_user_error(tmp_path):
    from perspose_rt.backends.tensorrt_backend import TensorRTBackend

    write_manifest(tmp_path, _manifest())
    with pytest.raises(UserError, match="TensorRT is not installed"):
        TensorRTBackend(tmp_path)


@pytest.mark.skipif(not HAVE_TRT, reason=TRT_MISSING)
@pytest.mark.gpu
def test_tensorrt_engine_matches_torch(tmp_path):  # pragma: no cover - needs TensorRT and a GPU
    import numpy as np
    import torch

    from perspose_rt.backends.build import build_engine
    from perspose_rt.backends.tensorrt_backend import TensorRTBackend
    from perspose_rt.models import PersPoseNet
    from perspose_rt.models.export import sample_inputs

    torch.manual_seed(0)
    net = PersPoseNet(NetConfig.variant("w18s")).eval()
    net.save_weights(tmp_path / "w")
    build_engine(tmp_path / "w.safetensors", tmp_path / "engine", precision="fp32", max_batch=2)
    be = TensorRTBackend(tmp_path / "engine")
    image, K = sample_inputs(2)
    with torch.no_grad():
        ref = net(torch.from_numpy(image), torch.from_numpy(K)).numpy()
    out = be.infer(image, K)
    assert np.abs(out.xyz - ref.xyz).max() < 1e-3
