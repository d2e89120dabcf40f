"""Stability metrics (jitter, jumps, bone lengths) against hand-computed answers."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from perspose_rt.metrics.stability import (
    acceleration_mm,
    bone_lengths,
    fraction_in_range,
    steps_mm,
)


def test_uniform_motion_has_no_acceleration_and_known_steps():
    t = np.arange(6, dtype=float)
    X = np.zeros((6, 2, 3))
    X[:, 1, 0] = 0.01 * t  # joint 1 moves 10 mm per frame along x
    fi, ok = np.arange(6), np.ones(6, bool)
    np.testing.assert_allclose(acceleration_mm(X, fi, ok), 0.0, atol=1e-9)
    np.testing.assert_allclose(steps_mm(X, fi, ok), [[0.0, 10.0]] * 5)
    # relative to joint 1, joint 0 moves the other way
    np.testing.assert_allclose(steps_mm(X, fi, ok, relative_to=1)[:, 0], 10.0)


def test_a_one_frame_spike_gives_known_acceleration():
    X = np.zeros((5, 1, 3))
    X[2, 0, 1] = 0.004  # 4 mm out and back
    a = acceleration_mm(X, np.arange(5), np.ones(5, bool))
    np.testing.assert_allclose(a[:, 0], [4.0, 8.0, 4.0])


def test_drops_and_invalid_rows_never_make_a_jump():
    X = np.zeros((6, 1, 3))
    X[3:, 0, 2] = 1.0  # a 1 m jump between rows 2 and 3 ...
    fi = np.array([0, 1, 2, 5, 6, 7])  # ... across dropped frames 3 and 4
    ok = np.ones(6, bool)
    assert steps_mm(X, fi, ok).max() == 0.0 and acceleration_mm(X, fi, ok).max() == 0.0
    assert steps_mm(X, fi, ok).shape == (4, 1) and acceleration_mm(X, fi, ok).shape == (2, 1)
    ok[1] = False
    assert steps_mm(X, fi, ok).shape == (2, 1) and acceleration_mm(X, fi, ok).shape == (1, 1)
    assert steps_mm(X[:1], fi[:1], ok[:1]).shape == (0, 1)


@settings(max_examples=30, deadline=None)
@given(st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1))
def test_a_shared_translation_does_not_move_relative_joints(dx, dy, dz):
    rng = np.random.default_rng(1)
    X = np.repeat(rng.normal(size=(1, 4, 3)), 5, axis=0)
    X += np.arange(5)[:, None, None] * np.array([dx, dy, dz])  # the whole body translates
    fi, ok = np.arange(5), np.ones(5, bool)
    np.testing.assert_allclose(steps_mm(X, fi, ok, relative_to=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(acceleration_mm(X, fi, ok), 0.0, atol=1e-9)


def test_bone_lengths_and_range():
    X = np.zeros((2, 3, 3))
    X[:, 1] = [0.3, 0.0, 0.0]
    X[:, 2] = [0.3, 0.4, 0.0]
    X[1, 2] = [0.3, 0.1, 0.0]
    L = bone_lengths(X, [(0, 1), (1, 2)])
    np.testing.assert_allclose(L, [[0.3, 0.4], [0.3, 0.1]])
    assert fraction_in_range(L[:, 1], 0.15, 0.40) == 0.5
    assert np.isnan(fraction_in_range(np.zeros(0), 0, 1))
