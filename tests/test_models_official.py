"""Official-checkpoint import: the key mapping is complete and the forward is the official one.

An official-layout state_dict is built from ``official_state_dict.tsv`` (random values), imported,
and the network's outputs are compared with a plain-numpy re-computation of the PE, the heads and
the lifting (Eq. 5 written in the paper's form, not the code's) from the raw tensors and the
backbone features.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import numpy as np
import pytest
import torch

from perspose_rt.errors import WeightsError
from perspose_rt.models import PersPoseNet, load_official_state_dict
from perspose_rt.models.official import (
    CheckpointMismatch,
    convert_official_state_dict,
    read_official_checkpoint,
)

TSV = Path(__file__).resolve().parents[2] / "shared" / "design" / "official_state_dict.tsv"
if not TSV.is_file():
    TSV = Path("/work/shared/design/official_state_dict.tsv")

pytestmark = pytest.mark.skipif(not TSV.is_file(), reason=f"{TSV} (design data) not found")


def read_tsv() -> list[tuple[str, tuple[int, ...], str]]:
    rows = []
    for line in TSV.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, shape, dtype = line.split("\t")
        rows.append((key, tuple(ast.literal_eval(shape)), dtype))
    return rows


def official_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors in the official layout, scaled so the activations stay O(1).

    Returns a new dict each call (cached tensors: replace entries, never modify them in place).
    """
    return dict(_official_state_dict(seed))


@functools.lru_cache(maxsize=2)
def _official_state_dict(seed: int) -> dict[str, torch.Tensor]:
    rng = np.random.default_rng(seed)
    rows = read_tsv()
    bn = {k.rsplit(".", 1)[0] for k, _, _ in rows if k.endswith("running_mean")}
    sd = {}
    for key, shape, dtype in rows:
        prefix, leaf = key.rsplit(".", 1)
        if dtype == "torch.int64":
            v = np.zeros(shape) if leaf == "num_batches_tracked" else rng.integers(0, 24, size=shape)
            sd[key] = torch.as_tensor(v, dtype=torch.int64)
            continue
        if prefix in bn:
            v = {"weight": rng.uniform(0.4, 0.9, shape), "bias": rng.normal(0, 0.1, shape),
                 "running_mean": rng.normal(0, 0.1, shape), "running_var": rng.uniform(0.5, 1.5, shape)}[leaf]
        elif leaf == "weight" and len(shape) >= 2:
            fan_in = int(np.prod(shape[1:]))
            v = rng.normal(0, 1.0 / np.sqrt(fan_in), shape)
        else:
            v = rng.normal(0, 0.1, shape)
        sd[key] = torch.as_tensor(v, dtype=torch.float32)
    sd["hm_layer.weight"] *= 0.25  # logits of a few units: peaky but not one-hot heatmaps
    return sd


def test_tsv_is_the_official_layout():
    rows = read_tsv()
    assert len(rows) == 1979
    assert sum(k.startswith("smpl.") for k, _, _ in rows) == 12
    assert sum(k.endswith("num_batches_tracked") for k, _, _ in rows) == 325


def test_our_w48_has_exactly_the_official_keys_and_shapes():
    with torch.device("meta"):
        net = PersPoseNet()
    ours = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    official = {k: s for k, s, _ in read_tsv() if not k.startswith("smpl.")}
    assert ours == official
    n_backbone = sum(p.numel() for p in net.backbone.parameters())
    n_all = sum(p.numel() for p in net.parameters() if p.requires_grad)
    assert (n_backbone, n_all) == (75_420_864, 75_713_559)


def _inv_pe(K: np.ndarray) -> np.ndarray:
    g = (np.arange(64) + 0.5) * 4.0
    u, v = np.meshgrid(g, g, indexing="xy")  # [i, j] = (u_j, v_i)
    pix = np.stack([u, v, np.ones_like(u)], -1)  # (64,64,3)
    rays = np.einsum("bkl,hwl->bhwk", np.linalg.inv(K), pix)
    return np.moveaxis(rays[..., :2], -1, 1)  # (B,2,64,64)


def _rot6d(x: np.ndarray) -> np.ndarray:
    a = x.reshape(*x.shape[:-1], 3, 2)
    a1, a2 = a[..., 0], a[..., 1]
    b1 = a1 / np.linalg.norm(a1, axis=-1, keepdims=True)
    w = a2 - (b1 * a2).sum(-1, keepdims=True) * b1
    b2 = w / np.linalg.norm(w, axis=-1, keepdims=True)
    return np.stack([b1, b2, np.cross(b1, b2)], axis=-1)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_import_matches_an_independent_recomputation():
    torch.manual_seed(0)
    sd = official_state_dict(0)
    net = load_official_state_dict({"model": {f"module.{k}": v for k, v in sd.items()}, "epoch": 3})
    assert not net.training
    B = 2
    img = torch.randn(B, 3, 256, 256)
    # fx = fy as PR crops have (design doc §3.3); lift_uvd is exact through K⁻¹ and equals the
    # official mean-f formula only then.
    K = np.array([[[310.0, 0, 128], [0, 310.0, 128], [0, 0, 1]],
                  [[520.0, 0, 131], [0, 520.0, 122], [0, 0, 1]]])
    with torch.no_grad():
        out = net(img, torch.as_tensor(K, dtype=torch.float32)).numpy()
        W = {k: v.double().numpy() for k, v in sd.items()}
        cam = np.einsum("oc,bchw->bohw", W["cam_layer.weight"][:, :, 0, 0], _inv_pe(K))
        feat, g = net.backbone(img, torch.as_tensor(cam, dtype=torch.float32))
    feat, g = feat.double().numpy(), g.double().numpy()
    assert np.isfinite(feat).all() and 1e-3 < np.abs(g).mean() < 1e3

    logits = np.einsum("jc,bchw->bjhw", W["hm_layer.weight"][:, :, 0, 0], feat) + W["hm_layer.bias"][:, None, None]
    flat = logits.reshape(B, 25, -1)
    p = np.exp(flat - flat.max(-1, keepdims=True))
    p = (p / p.sum(-1, keepdims=True)).reshape(B, 25, 64, 64)
    assert p.max() < 0.99, "heatmaps degenerate: the soft-argmax would not be tested"
    centres = (np.arange(64) + 0.5) * 4.0
    uv = np.stack([(p.sum(2) * centres).sum(-1), (p.sum(3) * centres).sum(-1)], -1)

    def lin(name):
        return g @ W[f"{name}.weight"].T + W[f"{name}.bias"]

    d = 2.2 * _sigmoid(lin("depth_layer_global")) - 1.1
    d[:, 0] = 0.0
    rho0 = 7e-3 * np.exp(3.0 * _sigmoid(lin("rho0_layer")) - 1.5)  # (B,1)
    f = (K[:, 0, 0] + K[:, 1, 1]) / 2
    Z = f[:, None] * rho0 + d  # absolute depth of every joint
    X = (uv[..., 0] - K[:, None, 0, 2]) * Z / f[:, None]
    Y = (uv[..., 1] - K[:, None, 1, 2]) * Z / f[:, None]
    xyz = np.stack([X - X[:, :1], Y - Y[:, :1], d], -1)
    xyz0 = np.stack([X[:, 0], Y[:, 0], Z[:, 0]], -1)[:, None]

    np.testing.assert_allclose(out.uv, uv, atol=2e-3)
    np.testing.assert_allclose(out.depth[..., 0], d, atol=1e-5)
    np.testing.assert_allclose(out.rho0[:, :, 0], rho0, rtol=1e-5)
    np.testing.assert_allclose(out.twist, lin("twist_layer").reshape(B, 25, 3), atol=1e-4)
    np.testing.assert_allclose(out.beta, lin("shape_layer"), atol=1e-4)
    np.testing.assert_allclose(out.leaf_rot, _rot6d(lin("leaf_rot_layer").reshape(B, 5, 6)), atol=1e-4)
    np.testing.assert_allclose(out.xyz, xyz, atol=2e-5)
    np.testing.assert_allclose(out.xyz0, xyz0, rtol=1e-4)


def test_refuses_missing_unexpected_and_misshaped_keys_by_name():
    sd = official_state_dict(0)
    sd.pop("backbone.stage3.2.fuse_layers.2.0.1.0.weight")
    sd["backbone.extra_layer.weight"] = torch.zeros(3)
    sd["rho0_layer.weight"] = torch.zeros(2, 2048)
    with pytest.raises(CheckpointMismatch) as exc:
        convert_official_state_dict(sd)
    msg = str(exc.value)
    assert "backbone.stage3.2.fuse_layers.2.0.1.0.weight" in msg
    assert "backbone.extra_layer.weight" in msg
    assert "rho0_layer.weight: got (2, 2048) expected (1, 2048)" in msg
    rep = exc.value.report
    assert (len(rep.missing), len(rep.unexpected), len(rep.misshaped)) == (1, 1, 1)


def test_drops_smpl_and_strips_module_prefix():
    sd = official_state_dict(0)
    tensors, info = convert_official_state_dict({f"module.{k}": v for k, v in sd.items()})
    assert info.stripped_module_prefix and not info.wrapped_in_model_key
    assert len(info.dropped) == 12 and info.kept == 1967 == len(tensors)
    assert not any(k.startswith(("smpl.", "module.")) for k in tensors)


def test_refuses_non_finite_and_non_state_dicts():
    sd = official_state_dict(0)
    bias = sd["shape_layer.bias"].clone()
    bias[0] = float("nan")
    sd["shape_layer.bias"] = bias
    with pytest.raises(WeightsError, match="shape_layer.bias"):
        convert_official_state_dict(sd)
    with pytest.raises(WeightsError, match="neither a state_dict"):
        convert_official_state_dict([1, 2])


def test_torch_load_is_weights_only(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pickle code ran",))

    bad = tmp_path / "evil.pth"
    torch.save({"model": {"x": torch.zeros(1)}, "obj": Evil()}, bad)
    with pytest.raises(WeightsError, match="refusing to unpickle"):
        read_official_checkpoint(bad)
    with pytest.raises(WeightsError, match="not found"):
        read_official_checkpoint(tmp_path / "absent.pth")
