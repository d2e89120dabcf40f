"""The stem that wrote a model's files is accepted wherever weights are taken (issue 13)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from perspose_rt.cli import main
from perspose_rt.errors import WeightsError
from perspose_rt.io.weights_path import resolve_weights_path
from perspose_rt.lifter import Lifter, LifterConfig
from perspose_rt.lifter.models import build_model
from perspose_rt.lifter.weights import save_weights as save_lifter
from perspose_rt.models import PersPoseNet
from perspose_rt.models.config import NetConfig
from perspose_rt.paths import REPO_ROOT
from perspose_rt.pipeline.build import EstimatorOptions, build_stages

PHOTO = REPO_ROOT / "examples" / "photos" / "IMG-without-exif-1_26_f35.jpg"


def test_resolver_prefers_the_file_then_json_then_safetensors_then_onnx(tmp_path: Path) -> None:
    (tmp_path / "w48.v2.onnx").touch()
    assert resolve_weights_path(tmp_path / "w48.v2") == tmp_path / "w48.v2.onnx"  # dotted stems work
    (tmp_path / "w48.v2.json").touch()
    assert resolve_weights_path(tmp_path / "w48.v2") == tmp_path / "w48.v2.json"
    assert resolve_weights_path(tmp_path / "w48.v2", (".onnx",)) == tmp_path / "w48.v2.onnx"
    assert resolve_weights_path(tmp_path / "w48.v2.onnx") == tmp_path / "w48.v2.onnx"
    (tmp_path / "engine").mkdir()
    assert resolve_weights_path(tmp_path / "engine") == tmp_path / "engine"
    with pytest.raises(WeightsError, match=r"weights not found: .*nope \(nor nope.json, nope.safetensors, nope.onnx\)"):
        resolve_weights_path(tmp_path / "nope")


def test_lifter_weights_by_stem(tmp_path: Path) -> None:
    torch.manual_seed(0)
    cfg = LifterConfig(kind="single", width=16, blocks=1, dropout=0.0)
    save_lifter(tmp_path / "lifters" / "mine", build_model(cfg).eval(), cfg)
    stem = tmp_path / "lifters" / "mine"
    assert Lifter.load(stem).path == stem.with_suffix(".json")
    stages, meta = build_stages(EstimatorOptions(lifter_weights=stem, static_images=True, ik=False))
    try:
        assert meta["weights"] == "mine.json" and len(meta["weights_sha256"]) == 64
    finally:
        for s in stages:
            s.close()
    with pytest.raises(WeightsError, match="lifter weights not found: .*other .*train-lifter"):
        Lifter.load(tmp_path / "lifters" / "other")


def test_network_weights_by_stem_in_images(tmp_path: Path, capsys) -> None:
    """``save_weights`` is what ``import-checkpoint … weights/NAME`` writes with (NAME.json + .safetensors)."""
    torch.manual_seed(1)
    PersPoseNet(NetConfig.variant("w18s")).save_weights(tmp_path / "weights" / "small")
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(PHOTO, photos / PHOTO.name)
    out = tmp_path / "out"
    code = main(["images", str(photos), "--out", str(out), "--no-3d", "--no-ik",
                 "--estimator", "perspose", "--weights", str(tmp_path / "weights" / "small")])
    assert code == 0, capsys.readouterr().err
    r = np.load(out / "results.npz", allow_pickle=False)
    assert r["joints_cam"].shape[1] == 25
    assert main(["images", str(photos), "--out", str(out), "--no-3d", "--estimator", "perspose",
                 "--weights", str(tmp_path / "weights" / "big")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("perspose-rt: error: weights not found:") and "big.json" in err[-1]
