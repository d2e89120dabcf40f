"""Which parts of the image and which board tilts the captured views already cover.

A good calibration sees the pattern all over the image (the distortion model is fitted where
there are points) and tilted both ways about both axes (views parallel to the image plane
cannot separate the focal length from the distance). :class:`CoverageMap` keeps:

* a grid of cells over the image, counting the captured views whose points fall in each cell;
* four tilt bins — left edge near, right edge near, top near, bottom near — counting the views
  whose board normal is turned more than ``tilt_deg`` that way. Tilts are measured with a
  provisional camera (60° horizontal field of view, or the latest calibration), which is
  plenty to tell 25° from 0°.

:meth:`CoverageMap.gain` says how much a candidate view would add (the wizard captures only
views that add something); :func:`select_views` greedily picks a diverse subset of many views.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from perspose_rt.calib.detect import PatternView
from perspose_rt.camera import CameraModel

TILT_BINS = ("left", "right", "top", "bottom")


@dataclass(frozen=True)
class Tilt:
    """Board orientation: ``yaw_deg`` > 0 when the left edge is nearer the camera, ``pitch_deg`` > 0
    when the top edge is nearer; ``bins`` the tilt bins it falls in."""

    yaw_deg: float
    pitch_deg: float
    bins: tuple[str, ...]


def measure_tilt(view: PatternView, K: np.ndarray, dist: np.ndarray | None = None, tilt_deg: float = 20.0) -> Tilt:
    """Orientation of the board in ``view`` from a PnP solve with intrinsics ``K``."""
    ok, rvec, _ = cv2.solvePnP(
        view.object_points.astype(np.float64),
        view.image_points.astype(np.float64),
        np.asarray(K, np.float64),
        None if dist is None else np.asarray(dist, np.float64),
        flags=cv2.SOLVEPNP_IPPE,
    )
    if not ok:
        return Tilt(0.0, 0.0, ())
    n = cv2.Rodrigues(rvec)[0][:, 2]
    if n[2] > 0:  # make the normal face the camera
        n = -n
    yaw = float(np.degrees(np.arctan2(n[0], -n[2])))
    pitch = float(np.degrees(np.arctan2(n[1], -n[2])))
    bins = []
    if yaw > tilt_deg:
        bins.append("left")
    if yaw < -tilt_deg:
        bins.append("right")
    if pitch > tilt_deg:
        bins.append("top")
    if pitch < -tilt_deg:
        bins.append("bottom")
    return Tilt(yaw, pitch, tuple(bins))


class CoverageMap:
    """Coverage of the image and of board tilts by the captured views.

    Args:
        image_size: ``(width, height)``.
        grid_cols: cells across (rows follow the aspect ratio).
        cell_target: views per cell that count as fully covered (2: every region seen twice).
        tilt_target: views needed in each tilt bin.
        tilt_deg: tilt beyond which a view counts in a bin.
    """

    def __init__(
        self,
        image_size: tuple[int, int],
        grid_cols: int = 8,
        cell_target: int = 2,
        tilt_target: int = 2,
        tilt_deg: float = 20.0,
    ) -> None:
        self.image_size = (int(image_size[0]), int(image_size[1]))
        w, h = self.image_size
        self.grid = (max(2, round(grid_cols * h / w)), int(grid_cols))  # (rows, cols)
        self.cells = np.zeros(self.grid, np.int32)
        self.cell_target = cell_target
        self.tilt_target = tilt_target
        self.tilt_deg = tilt_deg
        self.tilts = dict.fromkeys(TILT_BINS, 0)
        self.K = CameraModel.from_fov(60.0, self.image_size).K
        self.dist: np.ndarray | None = None

    def set_camera(self, K: np.ndarray, dist: np.ndarray | None = None) -> None:
        """Measure tilts of future views with a better camera (e.g. a first calibration)."""
        self.K = np.asarray(K, np.float64)
        self.dist = None if dist is None else np.asarray(dist, np.float64)

    def cells_of(self, view: PatternView) -> np.ndarray:
        """``(rows, cols)`` bool: cells that hold at least one point of ``view``."""
        w, h = self.image_size
        rows, cols = self.grid
        pts = view.image_points
        cx = np.clip((pts[:, 0] + 0.5) * cols / w, 0, cols - 1).astype(int)
        cy = np.clip((pts[:, 1] + 0.5) * rows / h, 0, rows - 1).astype(int)
        hit = np.zeros(self.grid, bool)
        hit[cy, cx] = True
        return hit

    def tilt_of(self, view: PatternView) -> Tilt:
        return measure_tilt(view, self.K, self.dist, self.tilt_deg)

    def gain(self, view: PatternView, tilt: Tilt | None = None) -> float:
        """What ``view`` would add: newly (re)covered cells + 3 per tilt bin still short of its target."""
        hit = self.cells_of(view)
        cell_gain = int(np.count_nonzero(hit & (self.cells < self.cell_target)))
        tilt = tilt or self.tilt_of(view)
        tilt_gain = sum(3 for b in tilt.bins if self.tilts[b] < self.tilt_target)
        return float(cell_gain + tilt_gain)

    def add(self, view: PatternView, tilt: Tilt | None = None) -> None:
        self.cells += self.cells_of(view)
        for b in (tilt or self.tilt_of(view)).bins:
            self.tilts[b] += 1

    @property
    def fraction(self) -> float:
        """Share of cells seen by at least one captured view."""
        return float(np.count_nonzero(self.cells)) / self.cells.size

    @property
    def missing_tilts(self) -> list[str]:
        """Tilt bins with no view yet."""
        return [b for b in TILT_BINS if self.tilts[b] == 0]

    def draw(self, image: np.ndarray, alpha: float = 0.35) -> np.ndarray:
        """Shade covered cells green (darker = more views) and empty ones red on a BGR image copy."""
        h, w = image.shape[:2]
        rows, cols = self.grid
        overlay = image.copy()
        for r in range(rows):
            for c in range(cols):
                x0, x1 = round(c * w / cols), round((c + 1) * w / cols)
                y0, y1 = round(r * h / rows), round((r + 1) * h / rows)
                n = int(self.cells[r, c])
                color = (0, 0, 160) if n == 0 else ((0, 150, 0) if n < self.cell_target else (0, 230, 0))
                cv2.rectangle(overlay, (x0, y0), (x1 - 1, y1 - 1), color, -1)
        out = cv2.addWeighted(overlay, alpha, image, 1 - alpha, 0)
        for c in range(1, cols):
            x = round(c * w / cols)
            cv2.line(out, (x, 0), (x, h - 1), (90, 90, 90), 1)
        for r in range(1, rows):
            y = round(r * h / rows)
            cv2.line(out, (0, y), (w - 1, y), (90, 90, 90), 1)
        return out


def select_views(views: list[PatternView], max_views: int, image_size: tuple[int, int]) -> list[int]:
    """Indices of at most ``max_views`` views chosen for coverage (all of them when few enough).

    Greedy: repeatedly take the view that adds most to a :class:`CoverageMap`; once nothing adds
    coverage, fill up with the remaining views spread evenly over the sequence.
    """
    if len(views) <= max_views:
        return list(range(len(views)))
    cov = CoverageMap(image_size)
    tilts = [cov.tilt_of(v) for v in views]
    chosen: list[int] = []
    left = set(range(len(views)))
    while left and len(chosen) < max_views:
        best = max(sorted(left), key=lambda i: cov.gain(views[i], tilts[i]))
        if cov.gain(views[best], tilts[best]) <= 0:
            break
        cov.add(views[best], tilts[best])
        chosen.append(best)
        left.discard(best)
    rest = sorted(left)
    need = max_views - len(chosen)
    if need > 0 and rest:
        pick = np.linspace(0, len(rest) - 1, min(need, len(rest))).round().astype(int)
        chosen.extend(rest[i] for i in sorted(set(pick.tolist())))
    return sorted(chosen)
