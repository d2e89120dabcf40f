"""BlazePose-33 → H36M-17 mapping: known answers and properties."""

from __future__ import annotations

import numpy as np
import pytest

from perspose_rt.detect import BLAZEPOSE33_NAMES, BLAZEPOSE33_TO_H36M17, blazepose_to_h36m
from perspose_rt.metrics.joints import H36M17_NAMES


def _landmarks(rng, shape=()):
    return rng.uniform(0, 1000, shape + (33, 2)), rng.uniform(0, 1, shape + (33,))


def test_names_and_rows_sum_to_one():
    assert len(BLAZEPOSE33_NAMES) == 33 and len(H36M17_NAMES) == 17
    np.testing.assert_allclose(BLAZEPOSE33_TO_H36M17.sum(1), 1.0)  # affine: a translation commutes


def test_known_answers():
    rng = np.random.default_rng(0)
    kp, vis = _landmarks(rng)
    out, conf = blazepose_to_h36m(kp, vis)
    name = {n: i for i, n in enumerate(BLAZEPOSE33_NAMES)}
    mid = lambda a, b: 0.5 * (kp[name[a]] + kp[name[b]])
    pelvis, thorax = mid("left_hip", "right_hip"), mid("left_shoulder", "right_shoulder")
    expect = {
        0: pelvis, 1: kp[name["right_hip"]], 2: kp[name["right_knee"]], 3: kp[name["right_ankle"]],
        4: kp[name["left_hip"]], 5: kp[name["left_knee"]], 6: kp[name["left_ankle"]],
        7: 0.5 * (pelvis + thorax), 8: thorax, 9: thorax + 0.5 * (kp[name["nose"]] - thorax),
        10: mid("left_ear", "right_ear"), 11: kp[name["left_shoulder"]], 12: kp[name["left_elbow"]],
        13: kp[name["left_wrist"]], 14: kp[name["right_shoulder"]], 15: kp[name["right_elbow"]],
        16: kp[name["right_wrist"]],
    }
    for j, v in expect.items():
        np.testing.assert_allclose(out[j], v, err_msg=H36M17_NAMES[j])
    assert conf[0] == min(vis[name["left_hip"]], vis[name["right_hip"]])
    assert conf[2] == vis[name["right_knee"]]
    assert conf[9] == min(vis[name["nose"]], vis[name["left_shoulder"]], vis[name["right_shoulder"]])


def test_batched_and_equivariant():
    rng = np.random.default_rng(1)
    kp, vis = _landmarks(rng, (4, 5))
    out, conf = blazepose_to_h36m(kp, vis)
    assert out.shape == (4, 5, 17, 2) and conf.shape == (4, 5, 17)
    o1, c1 = blazepose_to_h36m(kp[2, 3], vis[2, 3])
    np.testing.assert_allclose(out[2, 3], o1)
    np.testing.assert_array_equal(conf[2, 3], c1)
    # a similarity transform of the image commutes with the mapping (all recipes are affine)
    a = 0.7
    R = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    t = np.array([13.0, -4.0])
    moved, _ = blazepose_to_h36m(2.0 * kp @ R.T + t, vis)
    np.testing.assert_allclose(moved, 2.0 * out @ R.T + t, atol=1e-9)
    assert (conf >= 0).all() and (conf <= 1).all()


def test_left_right_mirror():
    """Mirroring the image and swapping BlazePose's left/right gives H36M's left/right swapped."""
    rng = np.random.default_rng(2)
    kp, vis = _landmarks(rng)
    swap33 = [BLAZEPOSE33_NAMES.index(n.replace("left", "#").replace("right", "left").replace("#", "right"))
              for n in BLAZEPOSE33_NAMES]
    mirrored = kp.copy()
    mirrored[:, 0] = 1000 - mirrored[:, 0]
    out, _ = blazepose_to_h36m(mirrored[swap33], vis[swap33])
    ref, _ = blazepose_to_h36m(kp, vis)
    swap17 = [0, 4, 5, 6, 1, 2, 3, 7, 8, 9, 10, 14, 15, 16, 11, 12, 13]
    ref = ref[swap17]
    ref[:, 0] = 1000 - ref[:, 0]
    np.testing.assert_allclose(out, ref, atol=1e-9)


def test_bad_shapes():
    with pytest.raises(ValueError):
        blazepose_to_h36m(np.zeros((17, 2)), np.zeros(17))
    with pytest.raises(ValueError):
        blazepose_to_h36m(np.zeros((33, 2)), np.zeros(32))
