"""ONNX export: valid graph, named I/O, dynamic batch, no Inverse op, agreement with PyTorch."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from perspose_rt.backends.onnx_backend import OnnxRuntimeBackend
from perspose_rt.errors import InputError, WeightsError
from perspose_rt.models import OUTPUT_NAMES, NetConfig, PersPoseNet
from perspose_rt.models.export import (
    TOLERANCES,
    export_onnx,
    failed_tolerances,
    read_onnx_metadata,
    sample_inputs,
    validate_onnx,
)


@pytest.fixture(scope="module")
def small_net() -> PersPoseNet:
    torch.manual_seed(1)
    net = PersPoseNet(NetConfig.variant("w18s")).eval()
    with torch.no_grad():
        for layer in (net.hm_layer, net.depth_layer_global, net.rho0_layer):
            layer.weight.mul_(30.0)
    return net


@pytest.fixture(scope="module")
def onnx_path(small_net, tmp_path_factory):
    return export_onnx(small_net, tmp_path_factory.mktemp("onnx") / "w18s.onnx")


def test_graph_is_valid_with_named_dynamic_io(onnx_path):
    model = onnx.load(str(onnx_path))
    onnx.checker.check_model(model)
    assert [i.name for i in model.graph.input] == ["image", "K_crop"]
    assert [o.name for o in model.graph.output] == list(OUTPUT_NAMES)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [3, 256, 256]
    ops = {n.op_type for n in model.graph.node}
    assert "Inverse" not in ops and not any(n.domain not in ("", "ai.onnx") for n in model.graph.node)
    cfg, flip = read_onnx_metadata(onnx_path)
    assert cfg == NetConfig.variant("w18s") and flip is False


def test_onnxruntime_matches_torch(small_net, onnx_path):
    diffs = validate_onnx(small_net, onnx_path, batch=2, threads=1)
    print("max |Δ| ORT vs torch (w18s, fp32):", diffs)
    assert failed_tolerances(diffs) == [], diffs
    assert TOLERANCES["uv"] == 1e-3 and TOLERANCES["depth"] == 1e-5


def test_backend_dynamic_batch_and_errors(small_net, onnx_path):
    be = OnnxRuntimeBackend(onnx_path, threads=1)
    for batch in (1, 3):
        image, K = sample_inputs(batch, seed=batch)
        out = be.infer(image, K)
        with torch.no_grad():
            ref = small_net(torch.from_numpy(image), torch.from_numpy(K)).numpy()
        assert out.xyz.shape == (batch, 25, 3)
        np.testing.assert_allclose(out.uv, ref.uv, atol=1e-3)
        np.testing.assert_allclose(out.xyz, ref.xyz, atol=1e-4)
    image, K = sample_inputs(2)
    with pytest.raises(InputError, match=r"K_crop must be \(2, 3, 3\)"):
        be.infer(image, K[:1])
    with pytest.raises(InputError, match="float32"):
        be.infer(image.astype(np.float64), K)
    with pytest.raises(InputError, match="image batch must be"):
        be.infer(image[:, :, :128], K)


def test_flip_test_export(small_net, tmp_path):
    path = export_onnx(small_net, tmp_path / "flip.onnx", flip_test=True)
    assert read_onnx_metadata(path)[1] is True
    diffs = validate_onnx(small_net, path, batch=1, flip_test=True, threads=1)
    assert failed_tolerances(diffs) == [], diffs


def test_not_an_export(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        OnnxRuntimeBackend(tmp_path / "absent.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(WeightsError, match="cannot read ONNX model"):
        OnnxRuntimeBackend(bad)


@pytest.mark.slow
def test_w48_export_matches_torch(tmp_path):
    """The official width once (≈300 MB graph, a few seconds of CPU)."""
    torch.manual_seed(0)
    net = PersPoseNet().eval()
    path = export_onnx(net, tmp_path / "w48.onnx")
    assert path.stat().st_size > 250e6
    diffs = validate_onnx(net, path, batch=1)
    print("max |Δ| ORT vs torch (w48, fp32):", diffs)
    assert failed_tolerances(diffs) == [], diffs
