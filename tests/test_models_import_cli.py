"""``perspose-rt import-checkpoint``: converts official checkpoints, refuses mismatches by name."""

from __future__ import annotations

import pytest
import torch
from test_models_official import TSV, official_state_dict

from perspose_rt.cli import main
from perspose_rt.models import PersPoseNet

pytestmark = pytest.mark.skipif(not TSV.is_file(), reason=f"{TSV} (design data) not found")


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    sd = official_state_dict(0)
    path = tmp_path_factory.mktemp("ckpt") / "ckpt_3dpw_16epochs.pth"
    torch.save({"model": sd, "epoch": 16, "best_metric": 0.06}, path)
    return path, sd


def test_import_then_load(official, tmp_path, capsys):
    path, sd = official
    assert main(["import-checkpoint", str(path), str(tmp_path / "perspose_w48")]) == 0
    out = capsys.readouterr().out
    assert "imported 1967 tensors" in out and "dropped 12 smpl.* tensors" in out
    net = PersPoseNet.from_weights(tmp_path / "perspose_w48.safetensors")
    assert net.config.backbone.name == "w48"
    assert torch.equal(net.state_dict()["rho0_layer.weight"], sd["rho0_layer.weight"])
    assert net.state_dict().keys() == {k for k in sd if not k.startswith("smpl.")}
    assert all(torch.equal(v, sd[k]) for k, v in net.state_dict().items())
    # refuses to overwrite without --force
    assert main(["import-checkpoint", str(path), str(tmp_path / "perspose_w48")]) == 2
    assert "already exist; pass --force" in capsys.readouterr().err


def test_import_refuses_a_mismatch_naming_every_key(official, tmp_path, capsys):
    _, sd = official
    sd = dict(sd)
    del sd["twist_layer.bias"]
    sd["backbone.head.fc.weight"] = torch.zeros(4)
    bad = tmp_path / "bad.pth"
    torch.save(sd, bad)
    assert main(["import-checkpoint", str(bad), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "missing: twist_layer.bias" in err and "unexpected: backbone.head.fc.weight" in err
    assert "perspose-rt: error: the checkpoint does not match the official PersPose network" in err
    assert not (tmp_path / "out.safetensors").exists()


def test_import_missing_file(tmp_path, capsys):
    assert main(["import-checkpoint", str(tmp_path / "nope.pth"), str(tmp_path / "out")]) == 2
    assert "not found" in capsys.readouterr().err
