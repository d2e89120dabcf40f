"""``perspose-rt eval-lifter`` on a short cut of every S9/S11 sequence: table, JSON, all sections."""

from __future__ import annotations

import json

from perspose_rt.cli import main
from perspose_rt.lifter.weights import DEFAULT_SINGLE


def test_eval_lifter_writes_every_section(h36m_dir, tmp_path, capsys):
    out = tmp_path / "eval.json"
    rc = main(["eval-lifter", "--data", str(h36m_dir), "--weights", f"single={DEFAULT_SINGLE}",
               "--max-frames", "40", "--virtual-n", "400", "--json", str(out), "--threads", "1"])
    assert rc == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    for section in ("gt2d", "sh"):
        r = doc[section]["single"]
        assert 15 < r["mpjpe"]["action_mean"] < 150 and r["pa_mpjpe"]["mean"] < r["mpjpe"]["mean"]
        assert len(r["mpjpe"]["per_action"]) == 15 and r["accel"]["mean"] > 0
    assert doc["sh"]["single"]["mpjpe"]["mean"] > doc["gt2d"]["single"]["mpjpe"]["mean"]  # detector noise
    v = doc["virtual"]["single"]
    assert v["frames"] == 400 and 0 < v["rel_depth"] < v["root_depth"]
    t = doc["truncated"]
    assert set(t) == {"knees", "hips", "waist"}
    for cut in t:
        r = t[cut]["single"]
        assert r["frames"] == doc["gt2d"]["single"]["frames"] and r["upper_mpjpe_mm"] > 0
        assert 0 < r["unseen_shin_ratio"]["median"] < 2
    assert "unseen_thigh_ratio" not in t["knees"]["single"]  # the thighs stay in view above the knees
    printed = capsys.readouterr().out
    assert "| gt2d | single |" in printed and "accel" in printed and "| hips | single |" in printed
