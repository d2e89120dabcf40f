"""Known answers for the plausible-limb metric and the cut of ``perspose-rt bench limbs``."""

from __future__ import annotations

import numpy as np
import pytest

from perspose_rt.errors import InputError
from perspose_rt.kinematics import h36m17_skeleton
from perspose_rt.kinematics.skeleton import H36M17_DEFAULT_LENGTHS
from perspose_rt.metrics.limbs import limb_lengths, plausible_limb_share, plausible_limbs


def _rest(lengths) -> np.ndarray:
    return h36m17_skeleton(np.asarray(lengths, dtype=np.float64)).rest_joints()


def test_limb_lengths_known_answer() -> None:
    x = _rest(H36M17_DEFAULT_LENGTHS)
    got = limb_lengths(x)
    np.testing.assert_allclose(got["thigh"], [0.4486, 0.4486])
    np.testing.assert_allclose(got["shin"], [0.4424, 0.4424])
    np.testing.assert_allclose(got["upper arm"], [0.2789, 0.2789])
    np.testing.assert_allclose(got["forearm"], [0.2486, 0.2486])


def test_share_counts_frames_whose_eight_limbs_are_all_in_range() -> None:
    base = np.asarray(H36M17_DEFAULT_LENGTHS)
    short_shin = base.copy()
    short_shin[3] = 0.27  # right shin below 0.28 m
    long_forearm = base.copy()
    long_forearm[13] = 0.41  # left forearm above 0.40 m
    edge = base.copy()
    edge[[2, 5]] = 0.60  # thighs exactly at the upper bound: plausible
    X = np.stack([_rest(base), _rest(short_shin), _rest(long_forearm), _rest(edge)])
    per = plausible_limbs(X)
    np.testing.assert_array_equal(per["shin"], [True, False, True, True])
    np.testing.assert_array_equal(per["forearm"], [True, True, False, True])
    r = plausible_limb_share(X)
    assert r.frames == 4 and r.share == pytest.approx(0.5)
    assert r.per_limb == pytest.approx({"thigh": 1.0, "shin": 0.75, "upper arm": 1.0, "forearm": 0.75})
    r = plausible_limb_share(X, valid=np.array([True, False, False, True]))  # invalid frames left out
    assert r.frames == 2 and r.share == 1.0
    with pytest.raises(ValueError, match="no valid frame"):
        plausible_limb_share(X, valid=np.zeros(4, bool))


def test_bench_cut_row() -> None:
    from perspose_rt.bench.limbs import cut_row

    assert cut_row("hips", 720, np.array([400.0, 414.2, 500.0])) == 414
    assert cut_row("0.5", 720, np.array([])) == 360
    for bad in ("0", "1.5", "legs"):
        with pytest.raises(InputError, match="--cut"):
            cut_row(bad, 720, np.array([1.0]))
    with pytest.raises(InputError, match="nobody"):
        cut_row("hips", 720, np.array([]))


def test_bench_limbs_runs_on_the_real_video(video_path, capsys) -> None:
    """The command end to end on 20 frames (whole, then cut at the hips), report left alone."""
    from perspose_rt.cli import main

    assert main(["bench", "limbs", "--video", str(video_path), "--max-frames", "20", "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "whole frames (720 rows): plausible limbs" in out
    assert "cut at row" in out and "(hips): plausible limbs" in out
