"""``build_engine.py`` / ``perspose-rt build-engine`` on a machine without TensorRT: ONNX + manifest."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from perspose_rt.backends import open_backend
from perspose_rt.backends.build import tensorrt_status
from perspose_rt.backends.manifest import read_manifest
from perspose_rt.cli import main
from perspose_rt.models import NetConfig, PersPoseNet
from perspose_rt.models.export import sample_inputs
from perspose_rt.models.weights import file_sha256
from perspose_rt.paths import REPO_ROOT


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(3)
    net = PersPoseNet(NetConfig.variant("w18s"))
    st, _ = net.save_weights(tmp_path_factory.mktemp("w") / "small")
    return st, net


@pytest.mark.skipif(tensorrt_status() is None, reason="TensorRT and a GPU are present: the engine path runs")
def test_build_stops_after_onnx_without_tensorrt(weights, tmp_path, capsys):
    st, net = weights
    out = tmp_path / "engines" / "w18s_fp16"
    rc = main(["build-engine", "--weights", str(st), "--out", str(out), "--max-batch", "4"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "ONNX Runtime vs PyTorch (fp32), max |Δ|: uv" in text and "stopping after the ONNX export" in text
    m = read_manifest(out)
    assert m.engine_file is None and m.onnx_file == "model.onnx" and m.max_batch == 4
    assert m.weights_sha256 == file_sha256(st) and m.net_config == net.config
    assert m.inputs == {"image": [-1, 3, 256, 256], "K_crop": [-1, 3, 3]} and m.precision == "fp16"
    assert set(m.validation["onnxruntime_vs_torch_fp32"]) == set(m.outputs)
    assert m.notes and "TensorRT" in m.notes[0]
    be = open_backend("onnxruntime", out, threads=1)  # an engine folder opens with onnxruntime
    assert be.infer(*sample_inputs(2)).xyz.shape == (2, 25, 3)


def test_build_engine_script_rejects_bad_arguments(weights, tmp_path):
    st, _ = weights
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "build_engine.py"), "--weights", str(st),
                           "--out", str(tmp_path / "e"), "--max-batch", "2", "--opt-batch", "4"],
                          check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "need 1 <= --opt-batch (4) <= --max-batch (2)" in proc.stderr
