"""Is a view good enough to keep? Sharpness (edge width) and steadiness (pattern motion).

Sharpness is measured as the **width of the pattern's edges in pixels**, which does not depend
on the pattern's size in the image, its contrast or the image resolution (unlike the variance of
the Laplacian). For a step edge of contrast ``C`` blurred by a Gaussian of σ px the steepest
gradient is ``C / (σ·√(2π))``, so ``C / max gradient = σ·√(2π) ≈ 2.5 σ``. Gradients are central
differences (Sobel / 8), so a perfectly sharp edge measures 2 px; σ = 1 gives about 3 px, σ = 2
about 5 px. The x and y directions are measured separately and the worse one counts, so motion
blur along one axis is caught. Real webcam and JPEG images of a board in focus measure 3–4 px
(the real calibration set of the tests: 3.2–4.2 px), hence the default limit of 5 px.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from perspose_rt.calib.detect import PatternView, to_gray

#: Views whose edges are wider than this (px) are too blurry to capture automatically.
DEFAULT_MAX_EDGE_WIDTH_PX = 5.0


def edge_width(image: np.ndarray, points: np.ndarray | None = None, margin: float = 0.1) -> float:
    """Edge width in px of ``image`` (BGR or grey), within the box around ``points`` if given.

    Args:
        image: the frame.
        points: ``(N, 2)`` pixels of the detected pattern; the box around them, grown by
            ``margin`` of its size, is measured. ``None``: the whole image.

    Returns:
        ``max over x, y of contrast / 99.5th-percentile |gradient|`` (inf for a flat region).
    """
    gray = to_gray(image)
    if points is not None and len(points):
        lo = points.min(axis=0)
        hi = points.max(axis=0)
        pad = (hi - lo) * margin + 2
        x0, y0 = np.maximum(np.floor(lo - pad).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(hi + pad).astype(int) + 1, [gray.shape[1], gray.shape[0]])
        gray = gray[y0:y1, x0:x1]
    if gray.size < 16:
        return float("inf")
    g = gray.astype(np.float32)
    lo_i, hi_i = np.percentile(g, [2.0, 98.0])
    contrast = float(hi_i - lo_i)
    if contrast < 10.0:
        return float("inf")
    # Central differences (Sobel with a 1-px smoothing across the edge direction).
    gx = np.abs(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)) / 8.0
    gy = np.abs(cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)) / 8.0
    widths = []
    for grad in (gx, gy):
        peak = float(np.percentile(grad, 99.5))
        widths.append(contrast / peak if peak > 0 else float("inf"))
    return float(max(widths))


class SteadinessMeter:
    """How far the pattern moved over the last few frames.

    Feed it every frame's detection (``None`` when the pattern is lost). :meth:`update` returns
    the largest per-frame motion in px of the points seen in consecutive frames over the last
    ``window`` frames (``inf`` until ``window`` consecutive detections exist). Points are matched
    by id; because chessboard and circle detectors may number a board from either end, the
    reversed order is tried too and the smaller motion taken.
    """

    def __init__(self, window: int = 4) -> None:
        self.window = max(2, int(window))
        self._prev: PatternView | None = None
        self._motions: deque[float] = deque(maxlen=self.window - 1)

    def reset(self) -> None:
        self._prev = None
        self._motions.clear()

    def update(self, view: PatternView | None) -> float:
        if view is None:
            self.reset()
            return float("inf")
        if self._prev is not None:
            self._motions.append(motion_px(self._prev, view))
        self._prev = view
        if len(self._motions) < self._motions.maxlen:
            return float("inf")
        return float(max(self._motions))


def motion_px(a: PatternView, b: PatternView) -> float:
    """Mean displacement (px) of the points two views share (by id; reversed order tried too)."""
    common, ia, ib = np.intersect1d(a.ids, b.ids, return_indices=True)
    if len(common) < 4:
        return float("inf")
    d = float(np.linalg.norm(a.image_points[ia] - b.image_points[ib], axis=1).mean())
    if len(a.ids) == len(b.ids) and np.array_equal(a.ids, np.arange(len(a.ids))):
        d_rev = float(np.linalg.norm(a.image_points[::-1] - b.image_points, axis=1).mean())
        d = min(d, d_rev)
    return d
