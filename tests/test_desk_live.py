"""The desk camera end to end: ``live --sim-view upper-body`` headless, and the scores of
``perspose-rt bench desk`` (known answers)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest

from perspose_rt.bench.desk_scores import LEGS, desk_scores, result_scores
from perspose_rt.cli import main
from perspose_rt.io.results import load_result


def _still_person(n: int) -> np.ndarray:
    X = np.zeros((n, 17, 3))
    X[:, :, 2] = 2.0
    X[:, 11] += [-0.2, -0.5, 0]
    X[:, 12] = X[:, 11] + [0, 0.3, 0]  # upper arm 0.30 m
    X[:, 13] = X[:, 12] + [0, 0.25, 0]  # forearm 0.25 m
    X[:, 14] += [0.2, -0.5, 0]
    X[:, 15] = X[:, 14] + [0, 0.3, 0]
    X[:, 16] = X[:, 15] + [0, 0.5, 0]  # right forearm 0.50 m: too long
    X[:, 2] += [0, 0.4, 0]
    return X


def test_desk_scores_known_answers():
    X = _still_person(6)
    X[3, 2] += [0, 0, 0.05]  # the right knee jumps 50 mm for one frame
    fi = np.arange(6)
    ok = np.ones(6, bool)
    seen = np.ones((6, 17), bool)
    seen[:, list(LEGS)] = False
    s = desk_scores(X, fi, ok, seen, np.ones((6, 17)))
    assert s.frames == 6 and s.valid == 6 and s.triples == 4
    assert s.accel_p95 == 0 and s.accel_rel_p95 == 0  # the arms do not move
    assert s.upper_arm_m == pytest.approx(0.30) and s.upper_arm_ok == 1.0
    assert s.forearm_ok == 0.5  # one of the two forearms, in every frame
    assert s.legs_seen == 0.0 and s.legs_conf == 1.0
    assert s.leg_jump_p50 == 0 and np.percentile([50, 50] + [0] * 18, 95) == pytest.approx(s.leg_jump_p95)


def test_live_on_the_simulated_desk_camera(video_path: Path, tmp_path: Path, monkeypatch) -> None:
    """40 frames of the skating video cut to the upper body, played at 25 fps to ``live``."""
    from perspose_rt.pipeline import live_sources

    monkeypatch.setattr(live_sources, "open_sim_view", partial(live_sources.open_sim_view, max_decode=40))
    out = tmp_path / "desk.npz"
    assert main(["live", "--camera", f"sim:{video_path}", "--sim-view", "upper-body", "--no-view", "--fps", "25",
                 "--max-frames", "30", "--record", str(out)]) == 0
    r = load_result(out)
    assert len(r) == 30 and r["valid"].mean() > 0.8
    assert r.meta["intrinsics_source"].endswith("(upper-body view)")
    K = r["K"][r["valid"]]
    assert np.ptp(K[:, 0, 2]) > 5  # the principal point follows the crop
    seen = r["joint_in_view"][r["valid"]]
    assert seen[:, list(LEGS)].mean() < 0.05 and seen[:, [11, 14]].mean() > 0.8  # legs unseen, shoulders seen
    s = result_scores(r)["final"]
    assert s.upper_arm_ok == 1.0 and s.forearm_ok == 1.0  # the fitted skeleton's arms
