"""PersPoseNet: variants, output ranges, weights round trip, config mismatches, flip test."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from perspose_rt.errors import WeightsError
from perspose_rt.metrics.joints import PERSPOSE25_FLIP_PAIRS
from perspose_rt.models import BACKBONES, NetConfig, PersPoseNet
from perspose_rt.models.export import sample_inputs
from perspose_rt.models.weights import save_weights, weights_paths


@pytest.fixture(scope="module")
def small_net() -> PersPoseNet:
    torch.manual_seed(0)
    net = PersPoseNet(NetConfig.variant("w18s")).eval()
    with torch.no_grad():  # make the heads' outputs vary visibly between samples
        for layer in (net.hm_layer, net.depth_layer_global, net.rho0_layer, net.twist_layer):
            layer.weight.mul_(30.0)
    return net


def _run(net, image, K, flip=False):
    with torch.no_grad():
        return net(torch.as_tensor(image), torch.as_tensor(K), flip_test=flip).numpy()


def test_variant_sizes():
    with torch.device("meta"):
        counts = {n: sum(p.numel() for p in PersPoseNet(NetConfig.variant(n)).parameters()) for n in BACKBONES}
    assert counts["w48"] == 75_713_559
    assert counts["w48"] > counts["w32"] > counts["w18s"]
    with pytest.raises(WeightsError, match="unknown network variant"):
        NetConfig.variant("w64")


def test_output_shapes_and_ranges(small_net):
    image, K = sample_inputs(3, seed=4)
    out = _run(small_net, image, K)
    assert out.uv.shape == (3, 25, 2) and out.depth.shape == (3, 25, 1) and out.rho0.shape == (3, 1, 1)
    assert out.twist.shape == (3, 25, 3) and out.beta.shape == (3, 11) and out.leaf_rot.shape == (3, 5, 3, 3)
    assert out.xyz.shape == (3, 25, 3) and out.xyz0.shape == (3, 1, 3)
    assert np.all(out.depth[:, 0] == 0) and np.all(np.abs(out.depth) <= 1.1)
    assert np.all((out.rho0 >= 7e-3 * np.exp(-1.5) - 1e-9) & (out.rho0 <= 7e-3 * np.exp(1.5) + 1e-9))
    assert np.all((out.uv >= 2.0) & (out.uv <= 254.0))  # convex combination of cell centres
    eye = np.broadcast_to(np.eye(3), (3, 5, 3, 3))
    np.testing.assert_allclose(out.leaf_rot @ np.swapaxes(out.leaf_rot, -1, -2), eye, atol=1e-5)
    np.testing.assert_allclose(np.linalg.det(out.leaf_rot), 1.0, atol=1e-5)
    np.testing.assert_allclose(out.xyz[:, 0], 0.0, atol=1e-7)
    # the root's depth is f·ρ0 with f the mean focal length
    f = (K[:, 0, 0] + K[:, 1, 1]) / 2
    np.testing.assert_allclose(out.xyz0[:, 0, 2], f * out.rho0[:, 0, 0], rtol=1e-5)
    # every sample of a batch is independent of the others
    single = _run(small_net, image[1:2], K[1:2])
    np.testing.assert_allclose(single.xyz, out.xyz[1:2], atol=1e-5)


def test_pe_changes_the_prediction(small_net):
    image, K = sample_inputs(1, seed=5)
    K2 = K.copy()
    K2[:, :2, :2] *= 2.0  # same crop, twice the focal length
    a, b = _run(small_net, image, K), _run(small_net, image, K2)
    assert np.abs(a.uv - b.uv).max() > 1e-3


def _unflip(out, W=256.0):
    perm = list(range(25))
    for a, b in PERSPOSE25_FLIP_PAIRS:
        perm[a], perm[b] = b, a
    uv = out.uv[:, perm].copy()
    uv[..., 0] = W - uv[..., 0]
    twist = out.twist[:, perm] * np.array([-1.0, 1.0, 1.0], np.float32)
    return {"uv": uv, "depth": out.depth[:, perm], "twist": twist, "beta": out.beta, "rho0": out.rho0}


def test_flip_test_is_flip_equivariant(small_net):
    image, K = sample_inputs(2, seed=6)
    K_f = K.copy()
    K_f[:, 0, 2] = 256.0 - K[:, 0, 2]
    image_f = image[..., ::-1].copy()
    plain = _run(small_net, image, K)
    avg = _run(small_net, image, K, flip=True)
    avg_f = _unflip(_run(small_net, image_f, K_f, flip=True))
    assert np.abs(avg.uv - plain.uv).max() > 1e-3  # the flipped pass really contributes
    for k in ("uv", "depth", "twist", "beta", "rho0"):
        np.testing.assert_allclose(avg_f[k], getattr(avg, k), atol=2e-4, err_msg=k)
    np.testing.assert_allclose(avg.leaf_rot, plain.leaf_rot, atol=1e-6)  # leaf_rot: plain pass only


def test_weights_round_trip(small_net, tmp_path):
    st, js = save_weights(small_net, tmp_path / "net")
    assert st.name == "net.safetensors" and js.name == "net.json"
    cfg = json.loads(js.read_text())
    assert cfg["format"] == "perspose-rt/perspose-net" and cfg["version"] == 1
    assert cfg["backbone"]["widths"] == [18, 36, 72, 144] and cfg["mean"] == [0.485, 0.456, 0.406]
    net2 = PersPoseNet.from_weights(tmp_path / "net.safetensors")
    image, K = sample_inputs(1)
    np.testing.assert_array_equal(_run(net2, image, K).xyz, _run(small_net, image, K).xyz)
    with pytest.raises(WeightsError, match="w48 network was requested"):
        from perspose_rt.models.weights import load_weights

        load_weights(st, expected=NetConfig())


def test_config_mismatches_are_clear_errors(small_net, tmp_path):
    from safetensors.torch import save_file

    st, js = save_weights(small_net, tmp_path / "a")
    js.write_text(NetConfig.variant("w32").to_json())
    with pytest.raises(WeightsError, match="does not belong to"):
        PersPoseNet.from_weights(st)
    # tensors without a config header, paired with a config of another width
    save_file({k: v.contiguous() for k, v in small_net.state_dict().items()}, str(tmp_path / "b.safetensors"))
    (tmp_path / "b.json").write_text(NetConfig.variant("w32").to_json())
    msg = r"does not match the w32 network: .*wrong shape: backbone.incre_modules.0.0.conv1.weight: got \(32, 18,"
    with pytest.raises(WeightsError, match=msg):
        PersPoseNet.from_weights(tmp_path / "b")
    d = json.loads(NetConfig.variant("w18s").to_json())
    d["version"] = 99
    (tmp_path / "b.json").write_text(json.dumps(d))
    with pytest.raises(WeightsError, match="config version 99"):
        PersPoseNet.from_weights(tmp_path / "b")
    js.unlink()
    with pytest.raises(WeightsError, match="not found"):
        PersPoseNet.from_weights(st)
    with pytest.raises(WeightsError, match="not found"):
        PersPoseNet.from_weights(tmp_path / "absent")
    assert weights_paths(tmp_path / "x.json")[0].name == "x.safetensors"


def test_bad_input_shapes(small_net):
    with pytest.raises(ValueError, match="img must be"):
        small_net(torch.zeros(1, 3, 128, 128), torch.eye(3)[None])
    with pytest.raises(ValueError, match="K_crop must be"):
        small_net(torch.zeros(2, 3, 256, 256), torch.eye(3)[None])


def test_forward_builds_no_tensor_from_host_data(small_net):
    """CUDA-graph safety: no ``torch.tensor(list)``/index-by-list in our forward (a host→device copy)."""
    import traceback

    from torch.utils._python_dispatch import TorchDispatchMode

    offenders = []

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func is torch.ops.aten.lift_fresh.default:
                frames = [f for f in traceback.extract_stack() if "perspose_rt" in f.filename]
                if frames and "/models/" in frames[-1].filename:
                    offenders.append(f"{frames[-1].filename}:{frames[-1].lineno}")
            return func(*args, **(kwargs or {}))

    image, K = sample_inputs(1)
    with torch.no_grad(), Record():
        small_net(torch.from_numpy(image), torch.from_numpy(K), flip_test=True)
    assert offenders == []
