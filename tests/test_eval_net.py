"""``eval-net`` against answers computed by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from train_fixtures import write_portable

from perspose_rt.cli import main
from perspose_rt.data.records import xywh_to_xyxy
from perspose_rt.geometry import prepare_box_crop, prepare_crop
from perspose_rt.train.evaluate import score, summarise


def test_score_known_answers():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(3, 17, 3)) * 0.3 + [0, 0, 4]
    shifted = score(gt + [0.03, 0.04, 0.0], gt)  # a pure translation of 50 mm
    np.testing.assert_allclose(shifted["mpjpe"], 0, atol=1e-12)
    np.testing.assert_allclose(shifted["pa_mpjpe"], 0, atol=1e-9)
    np.testing.assert_allclose(shifted["root"], 0.05, atol=1e-12)
    np.testing.assert_allclose(shifted["pck150"], 1.0)
    np.testing.assert_allclose(shifted["auc"], 30 / 31)  # the threshold 0 counts no joint
    one = gt.copy()
    one[:, 5] += [0.2, 0, 0]  # one joint of 17 is 200 mm off
    s = summarise([score(one, gt)])
    assert s["n"] == 3 and abs(s["mpjpe_mm"] - 200 / 17) < 1e-9 and abs(s["pck150"] - 16 / 17) < 1e-12
    assert abs(s["root_error_mm"]) < 1e-9 and s["pa_failures"] == 0
    assert abs(s["rel_depth_error_mm"]) < 1e-9 and abs(s["root_depth_error_mm"]) < 1e-9  # x moves no depth
    deep = gt.copy()
    deep[:, 3, 2] += 0.17  # one joint 170 mm deeper: relative depth error 10 mm; the root stays
    deep[:, :, 2] += 0.5  # then everyone 500 mm deeper: root depth error 500 mm, relative unchanged
    s = summarise([score(deep, gt)])
    assert abs(s["rel_depth_error_mm"] - 10) < 1e-9 and abs(s["root_depth_error_mm"] - 500) < 1e-9


@pytest.mark.parametrize("encoding", ["pepr", "none"])
def test_eval_net_on_a_network_whose_output_is_known(tmp_path, encoding):
    """Zeroed heads: uniform heatmaps (every joint at the crop centre), zero depths, ρ0 = 7e-3, so
    every predicted joint sits at depth 0.007·f_crop on the ray of the crop centre: (0, 0, 0.007·f)
    in the PR-rotated camera; for weights trained without PR (``--encoding none``) eval-net must
    crop the box without rotation, where that ray is off the axis. The root-centred error is each
    joint's distance from the pelvis, and Procrustes has no solution."""
    from perspose_rt.models.config import ENCODINGS, NetConfig
    from perspose_rt.models.perspose import PersPoseNet

    torch.manual_seed(0)
    pe, pr = ENCODINGS[encoding]
    net = PersPoseNet(NetConfig(backbone=NetConfig.variant("w18s").backbone, input_size=64, pe=pe, pr=pr))
    for layer in (net.hm_layer, net.depth_layer_global, net.rho0_layer):
        torch.nn.init.zeros_(layer.weight)
        torch.nn.init.zeros_(layer.bias)
    net.save_weights(tmp_path / "w")
    index = write_portable(tmp_path / "p", n=5, seed=9)
    out = tmp_path / "res.json"
    assert main(["eval-net", "--weights", str(tmp_path / "w.json"), "--data", f"synth={index}",
                 "--json", str(out), "--batch-size", "2"]) == 0
    res = json.loads(out.read_text(encoding="utf-8"))

    with np.load(index) as z:
        J, K, B = z["joints_cam"].astype(np.float64), z["K"], z["bbox"]
    d = np.linalg.norm(J - J[:, :1], axis=-1)  # (5, 17) distance of each joint from the pelvis
    roots = []
    for i in range(5):
        g = (prepare_crop if pr else prepare_box_crop)(K[i], xywh_to_xyxy(B[i]), out_size=64)
        f = (g.K_crop[0, 0] + g.K_crop[1, 1]) / 2
        ray = np.linalg.solve(g.K_crop, [32.0, 32.0, 1.0])  # the crop centre's ray, z = 1
        roots.append(np.linalg.norm(0.007 * f * ray - g.R @ J[i, 0]))
        assert pr == np.allclose(ray[:2], 0)
    assert res["n"] == 5 and res["joints"] == "h36m17"
    assert abs(res["mpjpe_mm"] - 1000 * d.mean()) < 1e-3
    assert abs(res["pck150"] - (d < 0.15).mean()) < 1e-9
    assert abs(res["auc"] - np.mean([(d < t).mean() for t in np.linspace(0, 0.15, 31)])) < 1e-9
    assert abs(res["root_error_mm"] - 1000 * np.mean(roots)) < 0.05
    assert res["pa_mpjpe_mm"] is None and res["pa_failures"] == 5  # reported, never made up
