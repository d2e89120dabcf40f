"""Finding the people a plain full-frame detector misses: small, far away, lying or upside down.

BlazePose's person detector sees the whole frame letterboxed to 224×224 and was trained on
upright people, so a person under ~100 px tall, or one lying down or bent over with the face
turned down, is often missed. When the plain search finds nobody, :class:`ExtendedSearch` looks
again through *views* of the frame, stage by stage, and stops at the first stage that finds
someone:

1. ``around-last``: the region around the last box of the track (video, live), enlarged and
   zoomed, so a person who shrank or moved fast is found where they were;
2. ``tiles``: overlapping zoomed tiles of the frame (small people);
3. ``rot90``, ``rot270``, ``rot180``: the frame turned a quarter, three quarters and half a turn
   (lying, bent over, upside down).

The extra detector runs are paid only when the plain search failed, and after repeated failures
(an empty room) the extended search runs only every few frames (``backoff``).

A view is an affine map ``M`` (2×3) from original-image pixels to view pixels in the package's
pixel convention (pixel centres at integer coordinates): the view image is
``cv2.warpAffine(image, M, size)``, whose sampling uses exactly that convention, and a detection
found in the view is mapped back with ``M⁻¹``, keypoints and box alike, so the pixels handed on
are exact in the original image (and the camera's ``K`` applies to them unchanged).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from perspose_rt.detect.blazepose import landmarks_box
from perspose_rt.geometry.camera_math import in_frame
from perspose_rt.types import Detection

#: BlazePose body landmarks (shoulders, elbows, wrists, hips, knees, ankles).
_BODY = (11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)


@dataclass(frozen=True)
class View:
    """A view of an image: ``M`` (2, 3) maps original pixels to view pixels; ``size`` is (w, h)."""

    name: str
    M: np.ndarray
    size: tuple[int, int]

    def inverse(self) -> np.ndarray:
        """``(2, 3)`` the map from view pixels back to original pixels."""
        A = np.vstack([self.M, [0.0, 0.0, 1.0]])
        return np.linalg.inv(A)[:2]

    def render(self, image: np.ndarray) -> np.ndarray:
        """The view's image (out-of-frame parts black)."""
        import cv2

        exact = np.allclose(self.M[:, :2], np.round(self.M[:, :2])) and np.allclose(self.M[:, 2], np.round(self.M[:, 2]))
        return cv2.warpAffine(image, self.M, self.size, flags=cv2.INTER_NEAREST if exact else cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


def apply_affine(M: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """``(..., 2)`` points mapped by the ``(2, 3)`` affine ``M``."""
    pts = np.asarray(pts, dtype=np.float64)
    return pts @ M[:, :2].T + M[:, 2]


def rotation_view(width: int, height: int, degrees: int) -> View:
    """The whole frame turned clockwise by 90, 180 or 270 degrees (exact pixel permutation)."""
    w1, h1 = width - 1, height - 1
    if degrees == 90:      # (x, y) → (h−1−y, x)
        M, size = [[0, -1, h1], [1, 0, 0]], (height, width)
    elif degrees == 180:   # (x, y) → (w−1−x, h−1−y)
        M, size = [[-1, 0, w1], [0, -1, h1]], (width, height)
    elif degrees == 270:   # (x, y) → (y, w−1−x)
        M, size = [[0, 1, 0], [-1, 0, w1]], (height, width)
    else:
        raise ValueError(f"rotation must be 90, 180 or 270 degrees, got {degrees}")
    return View(f"rot{degrees}", np.asarray(M, dtype=np.float64), size)


def crop_view(box_xyxy: Sequence[float], out_size: int, name: str) -> View:
    """The square around the box's centre with side ``max(box w, box h)``, scaled to ``out_size``².

    The box may reach past the image: those pixels render black.
    """
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    side = max(x1 - x0, y1 - y0, 1.0)
    s = out_size / side
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    c = (out_size - 1) / 2
    M = np.array([[s, 0, c - s * cx], [0, s, c - s * cy]], dtype=np.float64)
    return View(name, M, (int(out_size), int(out_size)))


def around_box_view(box_xyxy: Sequence[float], scale: float = 2.0, out_size: int = 384) -> View:
    """The region ``scale`` times the box's longer side around its centre, zoomed to ``out_size``."""
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half = max(x1 - x0, y1 - y0, 8.0) * scale / 2
    return crop_view((cx - half, cy - half, cx + half, cy + half), out_size, "around-last")


def tile_views(width: int, height: int, grid: int = 2, overlap: float = 0.3,
               out_size: int = 384) -> list[View]:
    """``grid × grid`` square tiles covering the frame, neighbours overlapping by ``overlap``.

    Each tile is square with side ``max(W, H) / (grid − (grid − 1)·overlap)``, the tiles'
    centres spread evenly so the outer tiles touch the frame's edges along its long side.
    """
    if grid < 1 or not 0.0 <= overlap < 1.0:
        raise ValueError(f"need grid >= 1 and 0 <= overlap < 1, got {grid}, {overlap}")
    side = max(width, height) / (grid - (grid - 1) * overlap)

    def centres(extent: float) -> np.ndarray:
        if extent <= side or grid == 1:
            return np.array([(extent - 1) / 2])
        return np.linspace(side / 2 - 0.5, extent - side / 2 - 0.5, grid)

    views = []
    for j, cy in enumerate(centres(height)):
        for i, cx in enumerate(centres(width)):
            box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
            views.append(crop_view(box, out_size, f"tiles{grid}x{grid}"))
    return views


def to_original(det: Detection, view: View, width: int, height: int) -> Detection:
    """A detection found in ``view`` with its keypoints and box in original-image pixels."""
    Minv = view.inverse()
    kp = apply_affine(Minv, det.keypoints) if det.keypoints is not None else None
    if kp is not None and det.keypoint_conf is not None:
        box = landmarks_box(kp, np.asarray(det.keypoint_conf), width, height)
    else:
        corners = apply_affine(Minv, _box_corners(det.bbox_xyxy))
        box = np.clip(np.r_[corners.min(0), corners.max(0)], 0, [width - 1, height - 1] * 2)
    return replace(det, keypoints=kp, bbox_xyxy=np.asarray(box, dtype=np.float64))


def _box_corners(box: Sequence[float]) -> np.ndarray:
    x0, y0, x1, y1 = (float(v) for v in box)
    return np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]])


def plausible_body(det: Detection, width: int, height: int, min_joints: int = 4) -> bool:
    """Whether a detection on a whole ``width × height`` frame shows enough of a body to lift:
    at least ``min_joints`` of the 12 body landmarks confident and inside the frame. A head or a
    hand alone is not a person to lift (BlazePose invents the rest of the body around them)."""
    frame = View("frame", np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), (int(width), int(height)))
    return body_seen(det, frame, min_joints=min_joints, min_extent_px=0.0)


def body_seen(det: Detection, view: View, min_conf: float = 0.5, min_joints: int = 4,
              min_extent_px: float = 64.0) -> bool:
    """Whether at least ``min_joints`` body landmarks are confident and inside the view, spanning
    at least ``min_extent_px`` view pixels.

    A crop or tile that shows only a face or a hand gives BlazePose a "person" whose body is
    invented, and a body a few dozen pixels tall gives landmarks that are mostly guesses; neither
    is accepted from the extended search.
    """
    if det.keypoints is None or det.keypoint_conf is None or det.keypoint_format != "blazepose33":
        return det.score >= min_conf
    kp = np.asarray(det.keypoints)[list(_BODY)]
    conf = np.asarray(det.keypoint_conf)[list(_BODY)]
    w, h = view.size
    seen = in_frame(kp, w, h) & (conf >= min_conf)
    if int(seen.sum()) < min_joints:
        return False
    return float(np.ptp(kp[seen], axis=0).max()) >= min_extent_px


def box_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection of two xyxy boxes over the smaller one's area (1 when one holds the other)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return float(ix * iy / smaller) if smaller > 0 else 0.0


def suppress_duplicates(dets: Sequence[Detection], overlap: float = 0.5) -> list[Detection]:
    """Greedy suppression by score: one detection per person, also when one tile saw the whole
    person and its neighbour only a part (intersection over the smaller box, not IoU)."""
    kept: list[Detection] = []
    for d in sorted(dets, key=lambda d: -d.score):
        if all(box_overlap(np.asarray(d.bbox_xyxy), np.asarray(k.bbox_xyxy)) < overlap for k in kept):
            kept.append(d)
    return kept


@dataclass(frozen=True)
class SearchConfig:
    """What the extended search tries, in order, when the plain search finds nobody.

    Attributes:
        around_last: look around the track's last box first (needs ``last_box``).
        around_scale: that region's side, in units of the last box's longer side.
        tiles: tile grids to try, e.g. ``(2,)`` or ``(2, 3)``; ``()`` turns tiles off.
        tile_overlap: overlap of neighbouring tiles (fraction of a tile).
        rotations: clockwise quarter turns to try, in order; ``()`` turns them off.
        view_size: side in pixels of the zoomed crop and tile images.
        min_body_joints: confident, in-view body landmarks needed to accept a detection.
        min_body_px: the extent those landmarks must span in the view, pixels.
        backoff: after this many failed extended searches in a row, search only every
            ``backoff_every`` frames (an empty room costs little); ``0`` searches every frame.
        backoff_every: the period of the extended search once backing off.
        confirm: re-detect each candidate in a zoomed crop around it and keep it only when the
            two agree (body landmarks within ``confirm_tol`` of the body's size, median): a
            person invented from a texture or a face does not survive a second, differently
            framed look. One more detector run per candidate.
        confirm_tol: that agreement threshold.
        max_runs: at most about this many detector runs per call (``0``: no limit): the views
            are tried one by one, and a search that runs out goes on where it stopped at the next
            call, on the next frame (a live stream spreads the search over frames instead of
            stalling on one); the first view that finds someone confirmed ends it.
    """

    around_last: bool = True
    around_scale: float = 2.0
    tiles: tuple[int, ...] = (2, 3)
    tile_overlap: float = 0.3
    rotations: tuple[int, ...] = (90, 270, 180)
    view_size: int = 384
    min_body_joints: int = 4
    min_body_px: float = 64.0
    backoff: int = 5
    backoff_every: int = 5
    confirm: bool = True
    confirm_tol: float = 0.15
    max_runs: int = 0


@dataclass
class SearchResult:
    """What one extended search found: detections (original pixels), the view that found them
    (``""`` when none did) and the number of detector runs it cost."""

    detections: list[Detection]
    found_by: str
    runs: int


class ExtendedSearch:
    """Second-chance person search through zoomed, tiled and rotated views.

    Args:
        detector: a detector for unrelated images: a :class:`~perspose_rt.types.Detector`
            (closed by :meth:`close`) or a function ``(H, W, 3) uint8 BGR → list[Detection]``, in
            that image's pixels. It must not carry tracking state from call to call (use a
            ``static_image_mode`` detector: the views are unrelated images).
        config: what to try; see :class:`SearchConfig`.
    """

    def __init__(self, detector, config: SearchConfig | None = None) -> None:
        self._detector = detector
        self.detect: Callable[[np.ndarray], Sequence[Detection]] = getattr(detector, "detect", detector)
        self.config = config or SearchConfig()
        self._failures = 0
        self._skipped = 0
        self._resume = 0

    def close(self) -> None:
        """Close the detector (when it has a ``close``)."""
        close = getattr(self._detector, "close", None)
        if close is not None:
            close()

    def reset(self) -> None:
        """Forget the failure count (a new video, or someone was found by the plain search)."""
        self._failures = 0
        self._skipped = 0
        self._resume = 0

    def stages(self, width: int, height: int, last_box: np.ndarray | None) -> list[list[View]]:
        """The groups of views tried in order; the search stops after the first group that finds
        someone."""
        c = self.config
        groups: list[list[View]] = []
        if c.around_last and last_box is not None:
            groups.append([around_box_view(last_box, c.around_scale, c.view_size)])
        for g in c.tiles:
            groups.append(tile_views(width, height, g, c.tile_overlap, c.view_size))
        groups += [[rotation_view(width, height, r)] for r in c.rotations]
        return groups

    def __call__(self, image: np.ndarray, last_box: np.ndarray | None = None) -> SearchResult:
        """Search ``image`` (the frame where the plain search found nobody)."""
        c = self.config
        if c.backoff and self._failures >= c.backoff:
            self._skipped += 1
            if self._skipped % max(c.backoff_every, 1):
                return SearchResult([], "", 0)
        if c.max_runs > 0:
            return self._budgeted(image, last_box)
        h, w = image.shape[:2]
        runs = 0
        for group in self.stages(w, h, last_box):
            found = []
            for view in group:
                runs += 1
                for det in self.detect(view.render(image)):
                    if body_seen(det, view, min_joints=c.min_body_joints, min_extent_px=c.min_body_px):
                        found.append(to_original(det, view, w, h))
            if found and c.confirm:
                confirmed = []
                for cand in found:
                    runs += 1
                    if self._confirmed(image, cand):
                        confirmed.append(cand)
                found = confirmed
            if found:
                self._failures = 0
                self._skipped = 0
                return SearchResult(suppress_duplicates(found), group[0].name, runs)
        self._failures += 1
        return SearchResult([], "", runs)

    def _budgeted(self, image: np.ndarray, last_box: np.ndarray | None) -> SearchResult:
        """The search with ``max_runs``: view by view from where the last call stopped."""
        c = self.config
        h, w = image.shape[:2]
        views = [v for group in self.stages(w, h, last_box) for v in group]
        i = self._resume if self._resume < len(views) else 0
        runs = 0
        while i < len(views) and runs < c.max_runs:
            view = views[i]
            i += 1
            runs += 1
            found = [to_original(det, view, w, h) for det in self.detect(view.render(image))
                     if body_seen(det, view, min_joints=c.min_body_joints, min_extent_px=c.min_body_px)]
            if found and c.confirm:
                runs += len(found)
                found = [cand for cand in found if self._confirmed(image, cand)]
            if found:
                self.reset()
                return SearchResult(suppress_duplicates(found), view.name, runs)
        if i >= len(views):  # a whole pass found nobody
            self._resume = 0
            self._failures += 1
        else:
            self._resume = i
        return SearchResult([], "", runs)

    def confirm(self, image: np.ndarray, cand: Detection) -> bool:
        """Whether a second, zoomed look at a whole-frame detection finds the same body, compared
        on the body landmarks the first look saw (confident and inside the frame): a body
        BlazePose invents around a blurred hand or a face does not survive it, a real one cut by
        the frame's edge does (its unseen landmarks are guesses and are not compared)."""
        c = self.config
        h, w = image.shape[:2]
        body = list(_BODY)
        ref = np.asarray(cand.keypoints)[body]
        seen = in_frame(ref, w, h) & (np.asarray(cand.keypoint_conf)[body] >= 0.5)
        if seen.sum() < 2:
            return False
        size = float(np.ptp(ref[seen], axis=0).max())
        view = around_box_view(cand.bbox_xyxy, 1.5, c.view_size)
        for det in self.detect(view.render(image)):
            if det.keypoints is None:
                continue
            again = np.asarray(to_original(det, view, w, h).keypoints)[body]
            if np.median(np.linalg.norm(again[seen] - ref[seen], axis=1)) <= c.confirm_tol * size:
                return True
        return False

    def _confirmed(self, image: np.ndarray, cand: Detection) -> bool:
        """Whether a second look, zoomed on the candidate's box, finds the same body."""
        c = self.config
        h, w = image.shape[:2]
        view = around_box_view(cand.bbox_xyxy, 1.5, c.view_size)
        body = list(_BODY)
        ref = np.asarray(cand.keypoints)[body]
        size = float(np.ptp(ref, axis=0).max())
        for det in self.detect(view.render(image)):
            if det.keypoints is None:
                continue
            again = to_original(det, view, w, h)
            err = np.median(np.linalg.norm(np.asarray(again.keypoints)[body] - ref, axis=1))
            if err <= c.confirm_tol * size:
                return True
        return False
