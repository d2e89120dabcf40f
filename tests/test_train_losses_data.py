"""Loss terms against hand-computed values; official-layout and portable readers; backbone init."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from train_fixtures import random_samples, write_official_3dhp, write_portable

from perspose_rt.data.official import OfficialSource
from perspose_rt.data.portable import PortableSource
from perspose_rt.data.records import HP3D_HEIGHTS, HP3D_NET_JOINTS
from perspose_rt.data.sample import KIND_CODES
from perspose_rt.errors import InputError
from perspose_rt.train.losses import compute_losses, loss_weights


def _batch(kind: str, S=64):
    B = 1
    K = torch.tensor([[[100.0, 0, 32], [0, 100.0, 32], [0, 0, 1]]])
    xyz = torch.zeros(B, 25, 3)
    xyz[..., 2] = 3.0
    xyz[0, 5, 2] = 3.2  # one joint 0.2 m behind joint 0
    uv = torch.full((B, 25, 2), 30.0)
    has = torch.zeros(B, 25, dtype=torch.bool)
    has[0, list(HP3D_NET_JOINTS) if kind == "hp3d" else list(range(24))] = True
    return {"K_crop": K, "xyz": xyz, "uv": uv, "has": has, "kind": torch.tensor([KIND_CODES[kind]]),
            "height": torch.tensor([1.8]), "uv_weight": torch.tensor([1.0])}


def _pred(b, du=0.0, depth=None, rho0=0.03):
    uv = b["uv"] + torch.tensor([du, 0.0])
    d = (b["xyz"][..., 2] - b["xyz"][:, :1, 2]) if depth is None else depth
    return {"uv": uv, "depth": d[..., None], "rho0": torch.full((1, 1, 1), rho0)}


def test_loss_terms_known_answers():
    w = loss_weights("w_be_3dhp")
    b = _batch("smpl24")
    _, t = compute_losses(_pred(b, du=2.0), b, 64, w)
    assert abs(t["uv"] - 2.0) < 1e-5 and t["uv_hp3d"] == 0 and t["uv_coco"] == 0
    assert abs(t["depth"]) < 1e-6  # exact depths
    # ρ0 = 0.03 vs Z0/f = 3/100: exact, so density_root = 0
    assert abs(t["density_root"]) < 1e-3
    d = b["xyz"][..., 2] - b["xyz"][:, :1, 2]
    d[0, 5] += 0.018  # 1.8 cm off on one of 24 labelled joints, h = 1.8 → 1.8·100·0.018/1.8 / 24
    _, t = compute_losses(_pred(b, depth=d), b, 64, w)
    assert abs(t["depth"] - 1.8 * 1.0 / 24) < 1e-4
    b3 = _batch("hp3d")
    _, t = compute_losses(_pred(b3, du=8.0), b3, 64, w)
    assert abs(t["uv_hp3d"] - 3.0) < 1e-5 and t["uv"] == 0  # relu(8 − 5) on the 9 joints
    _, t = compute_losses(_pred(b3, du=4.0), b3, 64, w)
    assert t["uv_hp3d"] == 0  # inside the 5 px margin
    assert loss_weights("h36m")["twist"] == 10 and loss_weights("3dhp")["depth"] == 0.5


def test_labels_outside_the_crop_are_masked():
    b = _batch("smpl24")
    b["uv"][0, :12] = -5.0  # half of the joints left of the crop
    _, t = compute_losses(_pred(b, du=2.0), b, 64, loss_weights())
    assert abs(t["uv"] - 2.0) < 1e-5  # the mean over the 12 inside, not diluted by the others


def test_official_layout_reads_joblib_and_plain_pickles(tmp_path):
    root = write_official_3dhp(tmp_path / "r", n_train=8, n_test=2)
    src = OfficialSource(root, "3dhp")
    assert len(src) == 8 and src.kind == "hp3d"
    rec = src.record(3)  # file S4/…: the subject's official rest height
    assert rec.image.exists() and rec.joints_cam.shape == (17, 3) and rec.height == HP3D_HEIGHTS[3]
    import joblib

    ann = joblib.load(root / "3dhp" / "3dhp_test.pt")
    with open(root / "3dhp" / "3dhp_test.pt", "wb") as fh:
        pickle.dump(ann, fh)  # a plain pickle of the same dict
    test = OfficialSource(root, "3dhp_test")
    assert len(test) == 2 and test.record(1).height == 1.8
    with pytest.raises(InputError, match="unknown set"):
        OfficialSource(root, "mpii")


def test_portable_round_trip_and_checks(tmp_path):
    index = write_portable(tmp_path / "p", n=5)
    src = PortableSource("p", index)
    J, K, B, _ = random_samples(5, 5)
    rec = src.record(2)
    np.testing.assert_allclose(rec.joints_cam, J[2], atol=1e-6)
    np.testing.assert_allclose(rec.K, K[2])
    np.testing.assert_allclose(rec.bbox_xyxy, [B[2, 0], B[2, 1], B[2, 0] + B[2, 2], B[2, 1] + B[2, 3]])
    with np.load(index) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["joints_cam"] = arrays["joints_cam"][:, :10]
    np.savez(tmp_path / "p" / "bad.npz", **arrays)
    with pytest.raises(InputError, match="17, 3"):
        PortableSource("bad", tmp_path / "p" / "bad.npz")


def test_init_backbone_loads_the_hrnet_names_and_says_what(tmp_path):
    from perspose_rt.train.init import build_network

    donor, _ = build_network("w18s", 64, None, None)
    sd = {f"hrnet.{k}": v.clone() for k, v in donor.backbone.state_dict().items()}
    sd["final_layer.weight"] = torch.zeros(17, 18, 1, 1)  # the COCO heatmap head: not loaded
    torch.save({"state_dict": sd}, tmp_path / "coco.pth")
    net, msg = build_network("w18s", 64, None, tmp_path / "coco.pth")
    own = net.backbone.state_dict()
    loaded = [k for k in own if k.split(".")[0] in ("conv1", "layer1", "stage4", "transition3")]
    assert loaded and all(torch.equal(own[k], donor.backbone.state_dict()[k]) for k in loaded)
    head = [k for k in own if k.startswith("final_feat_layer")]
    assert head and not all(torch.equal(own[k], donor.backbone.state_dict()[k]) for k in head)  # stays random
    assert "loaded" in msg and "0 backbone tensors missing" in msg and "ignored" in msg


def test_init_from_our_weights_and_refusals(tmp_path):
    from perspose_rt.errors import WeightsError
    from perspose_rt.train.init import build_network

    net, _ = build_network("w18s", 64, None, None)
    net.save_weights(tmp_path / "w")
    again, how = build_network("w18s", 64, tmp_path / "w.json", None)
    assert "our weights" in how and all(torch.equal(a, b) for a, b in
                                        zip(net.state_dict().values(), again.state_dict().values(), strict=True))
    with pytest.raises(WeightsError, match="not --variant w32"):
        build_network("w32", 64, tmp_path / "w.json", None)
    with pytest.raises(WeightsError, match="not both"):
        build_network("w18s", 64, tmp_path / "w.json", tmp_path / "coco.pth")
