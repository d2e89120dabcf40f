"""Lifting networks: strided training form = dilated inference form, causality, API shapes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from perspose_rt.errors import InputError, WeightsError
from perspose_rt.geometry import project_points
from perspose_rt.lifter import Lifter, LifterConfig
from perspose_rt.lifter.encoding import N_FEATURES
from perspose_rt.lifter.models import build_model
from perspose_rt.lifter.weights import install_weights, load_weights, save_weights


def _randomised(cfg: LifterConfig) -> torch.nn.Module:
    torch.manual_seed(0)
    m = build_model(cfg)
    for mod in m.modules():  # non-trivial BatchNorm statistics
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
    return m.eval()


def _sequence(n: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    K = np.array([[900.0, 0, 640], [0, 900, 360], [0, 0, 1]])
    X = rng.normal(0, 0.3, (1, 17, 3)) + np.array([0.5, 0.0, 4.0]) + rng.normal(0, 0.01, (n, 17, 3))
    return project_points(X, K), K, rng.uniform(0.5, 1.0, (n, 17))


def test_temporal_strided_equals_dilated():
    cfg = LifterConfig(kind="temporal", width=32, blocks=2, dropout=0.0)
    m = _randomised(cfg)
    x = torch.randn(5, cfg.window, N_FEATURES)
    with torch.no_grad():
        torch.testing.assert_close(m.forward_window(x), m(x)[:, 0], atol=1e-5, rtol=1e-5)
        # over a longer sequence, output i is the window ending at frame i + 26
        seq = torch.randn(1, 40, N_FEATURES)
        full = m(seq)[0]
        assert full.shape == (40 - cfg.window + 1, 49)
        torch.testing.assert_close(full[5], m.forward_window(seq[:, 5:5 + cfg.window])[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("base_width", [0, 16])
def test_temporal_predict_is_causal_and_equals_the_stream(base_width):
    """predict (dilated over the padded sequence) == stream.push (incremental, cached taps)."""
    rng = np.random.default_rng(0)
    cfg = LifterConfig(kind="temporal", width=32, blocks=2, dropout=0.0, base_width=base_width)
    model = _randomised(cfg)
    with torch.no_grad():
        model.out.weight.normal_(0, 0.1)  # a non-zero correction also when there is a base
    lifter = Lifter(model, cfg)
    uv, K, conf = _sequence(40, rng)
    full = lifter.predict(uv, K, conf)
    assert full.shape == (40, 17, 3)
    changed = uv.copy()
    changed[30:] += 25.0  # the future must not change the past
    np.testing.assert_allclose(lifter.predict(changed, K, conf)[:30], full[:30], atol=1e-6)
    stream = lifter.stream()
    live = np.stack([stream.push(uv[i], K, conf[i]) for i in range(40)])
    np.testing.assert_allclose(live, full, atol=1e-5)
    stream.reset()
    np.testing.assert_allclose(stream.push(uv[0], K, conf[0]), full[0], atol=1e-5)


def test_single_predict_batch_equals_stream_and_weights_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    cfg = LifterConfig(kind="single", width=32, blocks=1)
    lifter = Lifter(_randomised(cfg), cfg)
    uv, K, conf = _sequence(6, rng)
    out = lifter.predict(uv, np.broadcast_to(K, (6, 3, 3)), conf)
    s = lifter.stream()
    np.testing.assert_allclose(np.stack([s.push(uv[i], K, conf[i]) for i in range(6)]), out, rtol=1e-5, atol=1e-5)
    path = save_weights(tmp_path / "m", lifter.model, cfg, {"note": "test"})
    again = Lifter.load(path)
    assert again.config == cfg and again.metadata["note"] == "test"
    np.testing.assert_allclose(again.predict(uv, K, conf), out, rtol=3e-3)  # float16 storage
    assert lifter.predict(np.zeros((0, 17, 2)), K).shape == (0, 17, 3)


def test_api_errors(tmp_path):
    cfg = LifterConfig(kind="single", width=16, blocks=1)
    lifter = Lifter(build_model(cfg), cfg)
    with pytest.raises(InputError):
        lifter.predict(np.zeros((2, 16, 2)), np.eye(3))
    with pytest.raises(InputError):
        lifter.predict(np.zeros((2, 17, 2)), np.eye(3)[None].repeat(3, 0))
    with pytest.raises(InputError):
        lifter.predict(np.full((1, 17, 2), np.nan), np.eye(3))
    with pytest.raises(WeightsError):
        Lifter.load(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text('{"format": "other"}')
    with pytest.raises(WeightsError):
        load_weights(tmp_path / "bad.json")


def test_temporal_with_a_base_starts_as_the_base_and_stays_causal():
    cfg = LifterConfig(kind="temporal", width=32, blocks=2, dropout=0.0, base_width=16)
    torch.manual_seed(1)
    m = build_model(cfg)
    m.freeze_base()
    m.train()
    assert not m.base.training and m.training
    x = torch.randn(3, cfg.window, N_FEATURES)
    with torch.no_grad():
        torch.testing.assert_close(m.forward_window(x), m.base(x[:, -1]))  # zero-initialised correction
        m.out.weight.normal_()
        m.eval()
        torch.testing.assert_close(m.forward_window(x), m(x)[:, 0], atol=1e-5, rtol=1e-5)
    assert all(not p.requires_grad for p in m.base.parameters())


def test_folded_mlp_equals_the_eval_module_with_real_batchnorm_statistics():
    model = _randomised(LifterConfig(kind="single", variant="pepr", width=64, blocks=2))
    x = torch.randn(7, N_FEATURES)
    with torch.no_grad():
        ref = model(x).numpy()
    np.testing.assert_allclose(model.folded()(x.numpy()), ref, rtol=1e-4, atol=1e-5)


def test_folded_temporal_stream_equals_the_dilated_module_with_real_batchnorm_statistics():
    cfg = LifterConfig(kind="temporal", width=24, blocks=2, dropout=0.0, base_width=16)
    model = _randomised(cfg)
    with torch.no_grad():
        model.out.weight.normal_(0, 0.1)
        seq = torch.randn(1, 50, N_FEATURES)
        ref = model(torch.cat([seq[:, :1].expand(1, cfg.window - 1, -1), seq], 1))[0].numpy()
    folded, state, live = model.folded(), None, []
    for f in seq[0].numpy():
        state, out = folded.step(state, f)
        live.append(out)
    np.testing.assert_allclose(np.stack(live), ref, rtol=1e-4, atol=1e-5)


def test_a_temporal_model_refers_to_its_base_instead_of_copying_it(tmp_path):
    single_cfg = LifterConfig(kind="single", width=16, blocks=2)
    base_json = save_weights(tmp_path / "single", _randomised(single_cfg), single_cfg)
    cfg = LifterConfig(kind="temporal", width=24, blocks=2, dropout=0.0, base_width=16)
    model = _randomised(cfg)
    model.base.load_state_dict(load_weights(base_json)[0].state_dict())
    (tmp_path / "run").mkdir()
    path = save_weights(tmp_path / "run" / "temporal", model, cfg, base=base_json)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["base"]["lifter"] == "../single.json"
    from safetensors.numpy import load_file
    assert not any(k.startswith("base.") for k in load_file(str(path.with_suffix(".safetensors"))))
    x = torch.randn(2, cfg.window, N_FEATURES)
    loaded = load_weights(path)[0]
    with torch.no_grad():
        torch.testing.assert_close(loaded.forward_window(x), model.forward_window(x), atol=2e-3, rtol=2e-3)
    # installed beside a copy of the base, it refers to that copy
    (tmp_path / "ship").mkdir()
    for name in ("single.json", "single.safetensors"):
        shutil.copy(tmp_path / name, tmp_path / "ship" / name)
    shipped = install_weights(path, tmp_path / "ship" / "temporal", base=tmp_path / "ship" / "single.json")
    assert json.loads(shipped.read_text(encoding="utf-8"))["base"]["lifter"] == "single.json"
    with pytest.raises(WeightsError, match="say which copy"):
        install_weights(path, tmp_path / "ship" / "t2")
    # a different base file is refused, not silently used
    other = _randomised(single_cfg)
    with torch.no_grad():
        other.out.bias.add_(0.5)
    save_weights(tmp_path / "single", other, single_cfg)
    with pytest.raises(WeightsError, match="sha256"):
        load_weights(path)


def test_loaded_lifter_folds_once_and_its_streams_stay_independent(tmp_path):
    """The folded network of loaded weights is shared by every stream (people in one run); each
    stream keeps its own past: two interleaved streams give what each gives alone."""
    rng = np.random.default_rng(3)
    cfg = LifterConfig(kind="temporal", width=32, blocks=2, dropout=0.0, base_width=0)
    lifter = Lifter.load(save_weights(tmp_path / "t", _randomised(cfg), cfg, {}))
    assert lifter.folded() is lifter.folded()
    (uv_a, K, conf_a), (uv_b, _, conf_b) = _sequence(12, rng), _sequence(12, rng)
    alone_a, alone_b = lifter.stream(), lifter.stream()
    want_a = [alone_a.push(uv_a[i], K, conf_a[i]) for i in range(12)]
    want_b = [alone_b.push(uv_b[i], K, conf_b[i]) for i in range(12)]
    a, b = lifter.stream(), lifter.stream()
    for i in range(12):
        np.testing.assert_array_equal(a.push(uv_a[i], K, conf_a[i]), want_a[i])
        np.testing.assert_array_equal(b.push(uv_b[i], K, conf_b[i]), want_b[i])
