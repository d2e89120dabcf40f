"""The weights shipped inside the package: small, documented, and accurate on real S9 data."""

from __future__ import annotations

import json

import numpy as np

from perspose_rt.lifter import Lifter
from perspose_rt.lifter.evaluate import evaluate_sequences, s9_slice
from perspose_rt.lifter.weights import DEFAULT_SINGLE, DEFAULT_TEMPORAL, WEIGHTS_DIR


def test_shipped_files_are_small_and_documented():
    files = [p for p in WEIGHTS_DIR.iterdir() if p.is_file()]
    assert DEFAULT_SINGLE.exists() and DEFAULT_TEMPORAL.exists()
    assert sum(p.stat().st_size for p in files) < 12e6, "shipped weights must stay a few MB"
    card = (WEIGHTS_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    for word in ("Human3.6M", "research", "train-lifter", "MPJPE"):
        assert word in card
    for path in (DEFAULT_SINGLE, DEFAULT_TEMPORAL):
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert "train-lifter" in doc["training"]["command"]


def test_shipped_single_frame_on_an_s9_slice(h36m_dir):
    """≤ 60 mm MPJPE with ground-truth 2D on 4 S9 sequences × 4 cameras × 500 frames."""
    lifter = Lifter.load_default()
    assert not lifter.temporal
    r = evaluate_sequences(lifter, s9_slice(h36m_dir))
    assert r["mpjpe"]["mean"] <= 60.0, r["mpjpe"]
    assert r["pa_mpjpe"]["mean"] < r["mpjpe"]["mean"]
    assert 0 < r["accel"]["mean"] < 20  # mm/frame² of jitter at 50 fps on clean 2D


def test_shipped_temporal_on_an_s9_slice(h36m_dir):
    lifter = Lifter.load_default(temporal=True)
    assert lifter.temporal and lifter.window > 1
    r = evaluate_sequences(lifter, s9_slice(h36m_dir)[:8])
    assert r["mpjpe"]["mean"] <= 60.0, r["mpjpe"]


def test_shipped_single_frame_absolute_depth(h36m_dir):
    """Camera-space output: the root lands within 15 % of its true depth on real cameras."""
    seqs = s9_slice(h36m_dir)[:4]
    lifter = Lifter.load_default()
    z_err = []
    for s in seqs:
        pred = lifter.predict(s.keypoints[::10], s.K, s.confidence[::10])
        z_err.append(np.abs(pred[:, 0, 2] - s.joints_cam[::10, 0, 2]) / s.joints_cam[::10, 0, 2])
    assert np.median(np.concatenate(z_err)) < 0.15
