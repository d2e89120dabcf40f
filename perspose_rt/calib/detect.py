"""Find a calibration pattern in an image: chessboard, ChArUco or asymmetric circles.

:class:`PatternDetector` wraps the OpenCV detector of each kind and returns a
:class:`PatternView` (matched image and object points with their ids) or ``None``:

* chessboard: ``cv2.findChessboardCorners`` (fast), falling back to the sector-based
  ``cv2.findChessboardCornersSB`` (robust to blur and lighting), then ``cv2.cornerSubPix``
  (on rendered boards it halves the corner error of either detector); the whole board must
  be visible;
* ChArUco: ``cv2.aruco.CharucoDetector.detectBoard``; any ``min_charuco_corners`` (default 6)
  non-collinear identified corners make a view, so a board partly out of the frame still helps
  to cover the image corners;
* asymmetric circles: ``cv2.findCirclesGrid`` with ``CALIB_CB_ASYMMETRIC_GRID`` (then with
  ``CALIB_CB_CLUSTERING``, which copes with large images) and a blob detector whose area limits
  follow the image size.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from perspose_rt.calib.patterns import PatternSpec


@dataclass(frozen=True)
class PatternView:
    """The pattern found in one image.

    Attributes:
        image_points: ``(N, 2)`` float32 pixels (OpenCV pixel-centre convention).
        object_points: ``(N, 3)`` float32 board coordinates in mm, matched to ``image_points``.
        ids: ``(N,)`` int32 point ids (index into :meth:`PatternSpec.object_points`).
        image_size: ``(width, height)`` of the image it was found in.
        label: where it came from (file name, frame number), for messages.
    """

    image_points: np.ndarray
    object_points: np.ndarray
    ids: np.ndarray
    image_size: tuple[int, int]
    label: str = ""

    @property
    def n_points(self) -> int:
        return len(self.ids)

    def with_label(self, label: str) -> PatternView:
        return PatternView(self.image_points, self.object_points, self.ids, self.image_size, label)


def to_gray(image: np.ndarray) -> np.ndarray:
    """(H, W) uint8 from a BGR, BGRA or already grey uint8 image."""
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


class PatternDetector:
    """Detector for one :class:`PatternSpec`.

    Args:
        spec: the pattern.
        min_charuco_corners: fewest ChArUco corners that make a view (at least 6, the minimum
            for a homography with some redundancy).
    """

    def __init__(self, spec: PatternSpec, min_charuco_corners: int = 6) -> None:
        self.spec = spec
        self._obj = spec.object_points()
        self.min_charuco_corners = max(6, int(min_charuco_corners))
        self._charuco = None
        if spec.kind == "charuco":
            board = spec.charuco_board()
            self._board = board
            params = cv2.aruco.CharucoParameters()
            params.minMarkers = 1
            self._charuco = cv2.aruco.CharucoDetector(board, params)
            self._bias = _charuco_bias(spec)

    def _chessboard(self, gray: np.ndarray) -> np.ndarray | None:
        """Classic detector first (fast), the sector-based one when it fails but
        ``checkChessboard`` sees a board; then ``cornerSubPix``."""
        size = self.spec.pattern_size
        flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE | cv2.CALIB_CB_FAST_CHECK
        found, corners = cv2.findChessboardCorners(gray, size, flags=flags)
        if not found:
            # The sector-based detector costs 50–250 ms a frame: only where a board is likely.
            if not cv2.checkChessboard(gray, size):
                return None
            found, corners = cv2.findChessboardCornersSB(
                gray, size, flags=cv2.CALIB_CB_NORMALIZE_IMAGE | cv2.CALIB_CB_EXHAUSTIVE
            )
        if not found:
            return None
        return _refine_corners(gray, corners, size[0])

    def detect(self, image: np.ndarray, label: str = "") -> PatternView | None:
        """Find the pattern in ``image`` (BGR or grey uint8); ``None`` when it is not there."""
        gray = to_gray(image)
        size = (int(gray.shape[1]), int(gray.shape[0]))
        kind = self.spec.kind
        if kind == "chessboard":
            corners = self._chessboard(gray)
            if corners is None:
                return None
            ids = np.arange(self.spec.n_points, dtype=np.int32)
        elif kind == "acircles":
            blobs = _blob_detector(size)
            # The default grid finder has pixel-sized tolerances that fail on large images
            # (12 MP photos); the clustering finder is the fallback.
            for flags in (cv2.CALIB_CB_ASYMMETRIC_GRID, cv2.CALIB_CB_ASYMMETRIC_GRID | cv2.CALIB_CB_CLUSTERING):
                found, corners = cv2.findCirclesGrid(gray, self.spec.pattern_size, flags=flags, blobDetector=blobs)
                if found:
                    break
            else:
                return None
            ids = np.arange(self.spec.n_points, dtype=np.int32)
        else:
            corners, cids, _, _ = self._charuco.detectBoard(gray)
            if cids is None or len(cids) < self.min_charuco_corners:
                return None
            ids = cids.reshape(-1).astype(np.int32)
            if self._board.checkCharucoCornersCollinear(cids):
                return None
            corners = np.asarray(corners, np.float32).reshape(-1, 2) - np.float32(self._bias)
        pts = np.asarray(corners, np.float32).reshape(-1, 2)
        return PatternView(pts, self._obj[ids], ids, size, label)


def _refine_corners(gray: np.ndarray, corners: np.ndarray, cols: int) -> np.ndarray:
    """``cornerSubPix`` with a window a quarter of the corner spacing (2–10 px half-width)."""
    pts = corners.reshape(-1, 2)
    grid = pts.reshape(-1, cols, 2)
    steps = np.linalg.norm(np.diff(grid, axis=1), axis=-1).ravel()
    half = int(np.clip(np.median(steps) / 4.0, 2, 10))
    crit = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 40, 0.001)
    return cv2.cornerSubPix(gray, corners.reshape(-1, 1, 2).astype(np.float32), (half, half), (-1, -1), crit)


@functools.lru_cache(maxsize=8)
def _charuco_bias(spec: PatternSpec) -> tuple[float, float]:
    """Systematic offset of OpenCV's ChArUco corners: ``(0.5, 0.5)`` px or ``(0, 0)``.

    OpenCV 4.7–4.12 return ChArUco corners shifted by +0.5 px in x and y (opencv/opencv#25539,
    fixed by PR #28380: a ``+0.5`` added after ``cornerSubPix``). Rather than trust a version
    number, detect the board on a clean rendering whose corner positions are known exactly: a
    mean offset near 0.5 px means this OpenCV has the bug, near 0 that it does not.
    """
    ppm = 48.0 / spec.square_mm  # 48 px per square, enough for every marker bit
    board = spec.render(ppm, margin_mm=spec.square_mm / 2)
    corners, cids, _, _ = cv2.aruco.CharucoDetector(spec.charuco_board()).detectBoard(board.image)
    if cids is None or len(cids) < 4:
        raise RuntimeError("OpenCV's ChArUco detector cannot find a clean rendering of the board")
    truth = board.to_pixels(spec.object_points()[cids.reshape(-1)])
    bias = (np.asarray(corners, np.float64).reshape(-1, 2) - truth).mean(axis=0)
    if np.all(np.abs(bias - 0.5) < 0.15):
        return (0.5, 0.5)
    if np.all(np.abs(bias) < 0.15):
        return (0.0, 0.0)
    raise RuntimeError(f"unexpected ChArUco corner offset {bias} px in this OpenCV build")


def _blob_detector(size: tuple[int, int]) -> cv2.SimpleBlobDetector:
    """Blob detector for dark circles whose area limits scale with the image (default: 25–5000 px)."""
    params = cv2.SimpleBlobDetector_Params()
    area = float(size[0] * size[1])
    params.minArea = 12.0
    params.maxArea = max(5000.0, area / 40.0)
    return cv2.SimpleBlobDetector_create(params)


def draw_view(image: np.ndarray, spec: PatternSpec, view: PatternView | None) -> np.ndarray:
    """Draw a detection onto a BGR ``image`` in place (OpenCV's coloured corner chain); returns it."""
    if view is None:
        return image
    pts = view.image_points.reshape(-1, 1, 2)
    if spec.kind == "charuco":
        cv2.aruco.drawDetectedCornersCharuco(image, pts, view.ids.reshape(-1, 1), (0, 255, 0))
    else:
        cv2.drawChessboardCorners(image, spec.pattern_size, pts, True)
    return image
