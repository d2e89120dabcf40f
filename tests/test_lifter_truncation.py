"""Cut-off bodies: the training sampler's frame edges and the ``truncated`` evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from perspose_rt.lifter import evaluate as ev
from perspose_rt.lifter.augment import MIN_VISIBLE, PoseSampler, half_plane_cut
from perspose_rt.lifter.evaluate import evaluate_truncated, truncate_sequences


def test_half_plane_cut_keeps_one_side_of_a_line_for_the_whole_window():
    gen = torch.Generator().manual_seed(0)
    uv = torch.randn(500, 3, 17, 2, dtype=torch.float64, generator=gen) * 100 + 500
    keep = half_plane_cut(uv, gen)
    last = keep[:, -1]
    assert last.any(-1).all() and (~last).any(-1).all()  # 30–95 % of the way: never all, never none
    # each cut is a straight line: the kept and removed points of a frame are linearly separable
    for b in range(20):
        pts = uv[b].reshape(-1, 2).numpy()
        k = keep[b].reshape(-1).numpy()
        from scipy.optimize import linprog  # feasibility of w·x + c ≤ −1 (kept), ≥ +1 (cut)
        A = np.concatenate([np.c_[pts[k], np.ones(k.sum())], -np.c_[pts[~k], np.ones((~k).sum())]])
        res = linprog(np.zeros(3), A_ub=A, b_ub=-np.ones(len(A)), bounds=[(None, None)] * 3)
        assert res.status == 0


@pytest.fixture(scope="module")
def s1(h36m_dir):
    from perspose_rt.data.h36m import load_cameras, load_poses

    return load_poses(h36m_dir, ("S1",)), load_cameras(h36m_dir)


def test_sampler_without_truncation_draws_what_it_always_drew(s1):
    a = PoseSampler(*s1).sample(128, 1, torch.Generator().manual_seed(5))
    b = PoseSampler(*s1, p_truncate=0.0).sample(128, 1, torch.Generator().manual_seed(5))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_truncated_samples_hide_joints_but_keep_enough_in_view(s1):
    uv, _K, conf, X = PoseSampler(*s1, p_truncate=1.0, noise=False).sample(600, 3, torch.Generator().manual_seed(1))
    seen = conf[:, -1] > 0
    assert (seen.sum(-1) >= MIN_VISIBLE).all()
    hidden = (~seen).any(-1).float().mean()
    assert 0.4 < hidden < 0.95, hidden  # most cut-off draws hide something; the rest stayed whole
    # the hidden joints are mostly the legs (the bottom edge is the commonest cut)
    legs, arms = [2, 3, 5, 6], [12, 13, 15, 16]
    assert (~seen[:, legs]).float().mean() > (~seen[:, arms]).float().mean()
    # close-ups: some cameras come nearer than the full-body fit allows
    assert (X[:, -1, 0, 2] < 1.5).float().mean() > 0.05
    assert torch.isfinite(uv).all() and (conf[:, -1][seen] == 1).all()
    # no joint of any sample sits at or behind the camera (the virtual cameras clamp such depths
    # to 0.1 m: bodies no camera sees, whose projections once reached 10⁵ px and broke training)
    assert (X[..., 2] > 0.2).all()


def _seq(n=5) -> ev.TestSequence:
    rng = np.random.default_rng(0)
    from perspose_rt.geometry import project_points

    X = np.zeros((n, 17, 3))
    # an upright stick figure 4 m away: y grows downwards from head (−0.8) to feet (+0.9)
    y = {10: -0.8, 9: -0.65, 8: -0.5, 11: -0.5, 14: -0.5, 12: -0.2, 15: -0.2, 13: -0.06, 16: -0.06,
         7: -0.25, 0: -0.03, 1: 0.0, 4: 0.0, 2: 0.45, 5: 0.45, 3: 0.9, 6: 0.9}
    xs = {1: -0.15, 2: -0.15, 3: -0.15, 14: -0.2, 15: -0.25, 16: -0.25, 4: 0.15, 5: 0.15, 6: 0.15,
          11: 0.2, 12: 0.25, 13: 0.25}
    for j in range(17):
        X[:, j] = [xs.get(j, 0.0), y[j], 4.0]
    X += rng.normal(0, 0.002, X.shape)
    K = np.array([[1000.0, 0, 500], [0, 1000, 500], [0, 0, 1]])
    return ev.TestSequence("S9/Walking 1/cam", project_points(X, K), np.ones((n, 17)), K, X)


def test_truncate_sequences_hides_exactly_the_joints_below_the_cut():
    s = _seq()
    hips = truncate_sequences([s], "hips")[0]
    np.testing.assert_array_equal(hips.confidence[0] == 0, np.isin(np.arange(17), [2, 3, 5, 6]))
    knees = truncate_sequences([s], "knees")[0]
    np.testing.assert_array_equal(knees.confidence[0] == 0, np.isin(np.arange(17), [3, 6]))
    waist = truncate_sequences([s], "waist")[0]
    # the mid-spine is above the elbows of hanging arms: pelvis, legs, elbows and wrists go
    np.testing.assert_array_equal(waist.confidence[0] == 0,
                                  np.isin(np.arange(17), [0, 1, 2, 3, 4, 5, 6, 12, 13, 15, 16]))
    assert hips.keypoints is s.keypoints and np.all(s.confidence == 1)  # the input is untouched


class _Oracle:
    """A "lifter" that returns the truth, moved by ``shift`` and with its shins scaled."""

    def __init__(self, truth, shift=(0.0, 0.0, 0.0), shin=1.0):
        self.truth, self.shift, self.shin = truth, np.asarray(shift), shin

    def predict(self, kp, K, conf):
        X = self.truth.copy() + self.shift
        for knee, foot in ((2, 3), (5, 6)):
            X[:, foot] = X[:, knee] + self.shin * (X[:, foot] - X[:, knee])
        return X


def test_evaluate_truncated_known_answers():
    s = truncate_sequences([_seq()], "hips")[0]
    r = evaluate_truncated(_Oracle(s.joints_cam, shift=(0.0, 0.0, 0.2), shin=0.5), [s])
    assert r["upper_mpjpe_mm"] == pytest.approx(0.0, abs=1e-9)  # aligned at the thorax
    assert r["thorax_err_mm"] == pytest.approx(200.0)
    z = s.joints_cam[:, 8, 2]
    assert r["thorax_depth_err_pct"] == pytest.approx(float(np.mean(0.2 / z) * 100))
    assert r["unseen_shin_ratio"]["median"] == pytest.approx(0.5)
    assert r["unseen_thigh_ratio"]["median"] == pytest.approx(1.0)
    assert r["frames"] == 5


def test_every_joint_with_a_confidence_is_in_the_frame(s1):
    """Close-ups whose extra frame edge was refused (too few joints left) keep their own frame's
    out-of-view joints at confidence 0: once they were all marked seen, so joints thousands of
    pixels off the image entered the features (box centre values of several hundred), which
    broke the BatchNorm statistics of every fine-tune."""
    from perspose_rt.lifter.encoding import encode

    for seed in range(4):
        uv, K, conf, _X = PoseSampler(*s1, p_truncate=1.0, p_real=0.0).sample(
            4096, 1, torch.Generator().manual_seed(seed))
        f = encode(uv[:, -1], K, conf[:, -1]).features
        # the residual box centre after PR is an angle's tangent inside a ≤ 110° field of view
        assert f[:, 51:53].abs().max() < 1.5, (seed, f[:, 51:53].abs().max())
        # without 2D noise, a seen joint lies in the image (whose principal point is within a few
        # per cent of its centre: 2·c is the image size to ±10 %)
        uv, K, conf, _X = PoseSampler(*s1, p_truncate=1.0, p_real=0.0, noise=False).sample(
            4096, 1, torch.Generator().manual_seed(seed))
        size = 2 * K[:, None, :2, 2]
        inside = ((uv[:, -1] > -0.1 * size) & (uv[:, -1] < 1.1 * size)).all(-1)
        assert not ((conf[:, -1] > 0) & ~inside).any(), seed


def test_lifter_in_view_flags_the_joints_the_network_received():
    from perspose_rt.lifter import Lifter

    conf = np.ones((2, 17))
    conf[0, [2, 3, 5, 6]] = 0.0  # legs below the frame
    conf[1, 9] = 0.05  # at the drop threshold: not received
    flags = Lifter.in_view(conf)
    assert flags.shape == (2, 17) and flags.dtype == bool
    np.testing.assert_array_equal(~flags[0], np.isin(np.arange(17), [2, 3, 5, 6]))
    np.testing.assert_array_equal(~flags[1], np.arange(17) == 9)
    assert Lifter.in_view(None, n_frames=3).all()
