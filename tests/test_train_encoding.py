"""The ablation's input variants (``--encoding pepr|pr|pe|none``): config, network, trainer."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from train_fixtures import write_portable

from perspose_rt.cli import main
from perspose_rt.errors import WeightsError
from perspose_rt.models.config import ENCODINGS, NetConfig

SMALL = NetConfig(backbone=NetConfig.variant("w18s").backbone, input_size=64)


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_config_round_trip_keeps_the_encoding(encoding):
    pe, pr = ENCODINGS[encoding]
    cfg = replace(SMALL, pe=pe, pr=pr)
    back = NetConfig.from_dict(json.loads(cfg.to_json()))
    assert back == cfg and back.encoding == encoding


def test_weights_written_before_the_switch_load_with_pe_and_pr_and_bad_flags_are_refused():
    d = SMALL.to_dict()
    del d["pe"], d["pr"]
    assert NetConfig.from_dict(d).encoding == "pepr"
    with pytest.raises(WeightsError, match="malformed"):
        NetConfig.from_dict({**SMALL.to_dict(), "pe": "no"})


def test_without_pe_the_camera_does_not_reach_the_network():
    """PE off: the same tensors, but the features no longer depend on K_crop; PE on, they do."""
    from perspose_rt.models.perspose import PersPoseNet

    torch.manual_seed(0)
    img = torch.randn(1, 3, 64, 64)
    K1 = torch.tensor([[[60.0, 0, 32], [0, 60, 32], [0, 0, 1]]])
    K2 = torch.tensor([[[30.0, 0, 5], [0, 30, 50], [0, 0, 1]]])
    for pe in (True, False):
        net = PersPoseNet(replace(SMALL, pe=pe)).eval()
        torch.nn.init.normal_(net.cam_layer.weight, std=1.0)
        with torch.no_grad():
            a, b = net.encode(img, K1)[1], net.encode(img, K2)[1]
        assert torch.equal(a, b) != pe
    assert PersPoseNet(replace(SMALL, pe=False)).state_dict().keys() == PersPoseNet(SMALL).state_dict().keys()


def test_train_stores_the_encoding_and_init_must_match(tmp_path):
    from perspose_rt.models.perspose import PersPoseNet
    from perspose_rt.train.init import build_network

    data = write_portable(tmp_path / "p", n=8)
    run = tmp_path / "run"
    assert main(["train", "--data", f"s={data}", "--variant", "w18s", "--input-size", "64", "--workers", "0",
                 "--no-progress", "--steps", "1", "--batch-size", "2", "--encoding", "pe", "--val-fraction", "0",
                 "--out", str(run)]) == 0
    net = PersPoseNet.from_weights(run / "weights" / "last.json")
    assert (net.config.pe, net.config.pr) == (True, False)
    assert json.loads((run / "run.json").read_text(encoding="utf-8"))["options"]["encoding"] == "pe"
    with pytest.raises(WeightsError, match="--encoding pe, not pepr"):
        build_network("w18s", 64, run / "weights" / "last.json", None, "pepr")
    again, _ = build_network("w18s", 64, run / "weights" / "last.json", None, "pe")
    assert again.config.encoding == "pe"
    assert main(["train", "--data", f"s={data}", "--variant", "w18s", "--input-size", "64", "--steps", "1",
                 "--encoding", "nope", "--out", str(tmp_path / "bad")]) == 2


def test_learning_curve_picture(tmp_path):
    from perspose_rt.train.curves import main as curves
    from perspose_rt.train.curves import read_run

    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"options": {"batch_size": 4}, "world_size": 2}))
    (run / "log.csv").write_text("step,loss,lr\n10,5.0,1e-3\n20,4.0,1e-3\n")
    (run / "val.csv").write_text("step,val_mpjpe_mm,val_root_error_mm\n20,300.5,900\n")
    d = read_run(run)
    assert d["images"] == [80, 160] and d["loss"] == [5.0, 4.0] and d["val_images"] == [160]
    assert d["val_mpjpe"] == [300.5]
    out = tmp_path / "c.png"
    assert curves([f"a={run}", "--out", str(out), "--baseline", "mean pose=320"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
