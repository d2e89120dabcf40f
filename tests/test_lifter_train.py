"""A tiny training run on Human3.6M learns, resumes where it stopped, and exports loadable weights."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from perspose_rt.data.h36m import load_cameras, load_poses
from perspose_rt.lifter import Lifter, LifterConfig
from perspose_rt.lifter.augment import PoseSampler
from perspose_rt.lifter.models import build_model
from perspose_rt.lifter.train import TrainOptions, lr_at, train
from perspose_rt.lifter.weights import save_weights


def _losses(path):
    with open(path, encoding="utf-8") as fh:
        return [(int(r["step"]), float(r["loss"])) for r in csv.DictReader(fh)]


def test_tiny_training_learns_and_resumes(h36m_dir, tmp_path):
    cfg = LifterConfig(kind="single", width=64, blocks=1, dropout=0.0)
    opts = TrainOptions(data=h36m_dir, out=tmp_path, config=cfg, steps=60, batch=256, lr=3e-3, warmup=10,
                        ckpt_every=30, log_every=10, threads=1, subjects=("S1",), progress=False)
    train(opts)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["step"] == 60
    opts.steps = 150
    calls = []
    train(opts, validate=lambda m, c: calls.append(1) or 0.0)
    rows = _losses(tmp_path / "log.csv")
    steps = [s for s, _ in rows]
    assert steps == list(range(10, 151, 10)), "the resumed run continues at step 60, without repeating"
    first, last = np.mean([v for _, v in rows[:2]]), np.mean([v for _, v in rows[-3:]])
    assert last < 0.6 * first, f"loss did not fall enough: {first:.3f} → {last:.3f}"
    assert len(calls) == 3  # validation at each checkpoint (90, 120, 150)
    lifter = Lifter.load(tmp_path / "lifter.json")
    assert lifter.config == cfg and lifter.metadata["training"]["steps"] == 150
    assert (tmp_path / "val.csv").exists()


def test_lr_schedule():
    opts = TrainOptions(data=None, out=None, steps=1000, lr=1e-3, warmup=100)
    assert lr_at(0, opts) == 1e-5 and lr_at(99, opts) == 1e-3
    assert lr_at(999, opts) < 2e-5 and all(lr_at(s, opts) >= 1e-5 - 1e-12 for s in range(0, 1200, 50))


def test_sampler_is_reproducible_and_covers_the_requested_cameras(h36m_dir):
    s = PoseSampler(load_poses(h36m_dir, ("S1",)), load_cameras(h36m_dir), p_real=0.0, noise=False)
    a = s.sample(2000, 1, torch.Generator().manual_seed(5))
    b = s.sample(2000, 1, torch.Generator().manual_seed(5))
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y)
    uv, K, conf, X = a
    W = 2 * K[:, 0, 2]
    hfov = np.degrees(2 * np.arctan(W / (2 * K[:, 0, 0]))).numpy()
    assert 27 < hfov.min() < 35 and 103 < hfov.max() < 114  # (W taken as 2·cx, which is jittered)
    root_u = (uv[:, 0, 0, 0] / W).numpy()
    assert root_u.min() < 0.1 and root_u.max() > 0.9, "the person goes near the image edges"
    assert (X[..., 2] > 1.0).all() and (conf == 1).all()
    depth = X[:, 0, 0, 2].numpy()
    assert depth.min() < 2.5 and np.percentile(depth, 90) > 6


def test_noise_profiles_differ_in_the_way_detectors_fail(h36m_dir):
    """'light' flags every gross error by a low confidence; 'detector' adds unflagged gross errors
    and left/right swaps. The geometry is drawn before the noise, so a clean sampler with the
    same seed gives the true keypoints."""
    poses, cams = load_poses(h36m_dir, ("S1",)), load_cameras(h36m_dir)
    clean = PoseSampler(poses, cams, noise=False).sample(4000, 1, torch.Generator().manual_seed(3))[0][:, 0]
    spread = (clean - clean.mean(1, keepdim=True)).norm(dim=-1).pow(2).mean(-1).sqrt()
    counts = {}
    for profile in ("light", "detector"):
        uv, _, conf, _ = PoseSampler(poses, cams, noise_profile=profile).sample(
            4000, 1, torch.Generator().manual_seed(3))
        uv, conf = uv[:, 0], conf[:, 0]
        err = (uv - clean).norm(dim=-1) / spread[:, None]
        unflagged_gross = int(((err > 0.8) & (conf >= 0.6)).sum())
        near = (uv[:, [13, 16]] - clean[:, [16, 13]]).norm(dim=-1) / spread[:, None] < 0.2  # wrists
        wide = (clean[:, 13] - clean[:, 16]).norm(dim=-1) / spread > 0.5
        swapped = int((near.all(-1) & wide).sum())
        counts[profile] = (unflagged_gross, swapped)
    assert counts["light"] == (0, 0), counts
    assert counts["detector"][0] > 50 and counts["detector"][1] > 3, counts
    with np.testing.assert_raises(ValueError):
        PoseSampler(poses, cams, noise_profile="nope")


def test_temporal_training_on_a_base_refers_to_it_and_refuses_another_on_resume(h36m_dir, tmp_path):
    single = LifterConfig(kind="single", width=16, blocks=2, dropout=0.0)
    bases = []
    for i in range(2):
        torch.manual_seed(i)
        bases.append(save_weights(tmp_path / f"base{i}", build_model(single).eval(), single))
    cfg = LifterConfig(kind="temporal", width=8, blocks=1, dropout=0.0, base_width=16)
    opts = TrainOptions(data=h36m_dir, out=tmp_path / "run", config=cfg, steps=4, batch=8, warmup=1,
                        ckpt_every=2, log_every=2, threads=1, subjects=("S1",), progress=False,
                        init_base=bases[0])
    train(opts)
    assert json.loads((tmp_path / "run" / "lifter.json").read_text(encoding="utf-8"))["base"]["lifter"] == "../base0.json"
    Lifter.load(tmp_path / "run" / "lifter.json")
    opts.steps, opts.init_base = 6, bases[1]
    with pytest.raises(ValueError, match="another base"):
        train(opts)
    opts.init_base = None
    with pytest.raises(ValueError, match="--init-base"):
        train(opts)
