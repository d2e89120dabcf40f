"""Stability of an estimated pose sequence without ground truth: jitter, frame-to-frame jumps and
bone lengths.

All take joints ``(N, J, 3)`` in metres with each row's ``frame_index`` ``(N,)`` and ``valid``
``(N,)``; differences are taken only across rows whose frames are consecutive (index step 1,
both valid), so dropped frames and frames without a person never make a jump. Results are in
millimetres per frame (steps) and per frame² (accelerations) of the source's frame rate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: H36M-17 arm bones (parent, child): upper arms and forearms, left then right.
UPPER_ARMS: tuple[tuple[int, int], ...] = ((11, 12), (14, 15))
FOREARMS: tuple[tuple[int, int], ...] = ((12, 13), (15, 16))
#: Plausible adult bone lengths, metres (shoulder–elbow, elbow–wrist).
UPPER_ARM_RANGE_M = (0.18, 0.42)
FOREARM_RANGE_M = (0.15, 0.40)


def _consecutive(frame_index: np.ndarray, valid: np.ndarray, span: int) -> np.ndarray:
    """``(N − span,)`` bool: rows ``i … i + span`` are all valid and their frames consecutive."""
    fi = np.asarray(frame_index, dtype=np.int64)
    ok = np.asarray(valid, dtype=bool)
    n = fi.shape[0] - span
    if n <= 0:
        return np.zeros(0, dtype=bool)
    m = np.ones(n, dtype=bool)
    for k in range(span):
        m &= ok[k:k + n] & (fi[k + 1:k + 1 + n] - fi[k:k + n] == 1)
    return m & ok[span:span + n]


def steps_mm(joints: np.ndarray, frame_index: np.ndarray, valid: np.ndarray,
             relative_to: int | None = None) -> np.ndarray:
    """``(M, J)`` distance each joint moved between consecutive frames, mm; with ``relative_to`` a
    joint index, of its position relative to that joint (a leg that jumps while the pelvis stays)."""
    X = np.asarray(joints, dtype=np.float64)
    if relative_to is not None:
        X = X - X[:, relative_to:relative_to + 1]
    m = _consecutive(frame_index, valid, 1)
    d = np.linalg.norm(X[1:] - X[:-1], axis=-1)
    return d[m] * 1000.0


def acceleration_mm(joints: np.ndarray, frame_index: np.ndarray, valid: np.ndarray,
                    relative_to: int | None = None) -> np.ndarray:
    """``(M, J)`` norm of the second difference ``x[t+1] − 2x[t] + x[t−1]`` over three
    consecutive frames, mm/frame² (jitter: zero for a joint at rest or moving uniformly)."""
    X = np.asarray(joints, dtype=np.float64)
    if relative_to is not None:
        X = X - X[:, relative_to:relative_to + 1]
    m = _consecutive(frame_index, valid, 2)
    a = np.linalg.norm(X[2:] - 2 * X[1:-1] + X[:-2], axis=-1)
    return a[m] * 1000.0


def bone_lengths(joints: np.ndarray, bones: Sequence[tuple[int, int]]) -> np.ndarray:
    """``(..., B)`` lengths of the ``bones`` (parent, child) in the joints' unit."""
    X = np.asarray(joints, dtype=np.float64)
    p = [a for a, _ in bones]
    c = [b for _, b in bones]
    return np.linalg.norm(X[..., c, :] - X[..., p, :], axis=-1)


def fraction_in_range(values: np.ndarray, lo: float, hi: float) -> float:
    """Share of the values in ``[lo, hi]`` (NaN for none)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    return float(np.mean((v >= lo) & (v <= hi))) if v.size else float("nan")
