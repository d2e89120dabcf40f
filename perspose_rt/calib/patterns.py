"""Calibration pattern definitions: geometry of the board and a true-scale rendering of it.

Three kinds, with the size conventions OpenCV's own tools use:

* ``chessboard``: ``rows`` × ``cols`` **inner corners** (the printed board has one more square
  each way); ``square_mm`` is the side of a square. Object point ``k = r·cols + c`` sits at
  ``(c·s, r·s, 0)``.
* ``charuco``: ``rows`` × ``cols`` **squares** with ArUco markers in the white ones (OpenCV
  ``CharucoBoard((cols, rows), …)``); ``marker_mm`` is a marker's side. Its ``(rows−1)·(cols−1)``
  inner corners are identified individually, so partly visible boards still count.
* ``acircles``: asymmetric circles grid of ``rows`` rows of ``cols`` circles (OpenCV
  ``patternSize=(cols, rows)``); ``square_mm`` is the *spacing* s of OpenCV's calibration sample:
  circle ``k = r·cols + c`` sits at ``((2c + r mod 2)·s, r·s, 0)``.

Object points are in millimetres on the board plane (z = 0), float32 ``(N, 3)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from perspose_rt.errors import UserError

KINDS = ("chessboard", "charuco", "acircles")

#: Sensible defaults per kind: (rows, cols, square_mm, marker_mm); all fit on an A4 page.
DEFAULTS: dict[str, tuple[int, int, float, float | None]] = {
    "chessboard": (6, 9, 22.0, None),
    "charuco": (7, 5, 30.0, 22.0),
    "acircles": (11, 4, 20.0, None),
}

#: Background and ink levels of rendered patterns (uint8).
WHITE, BLACK = 255, 0


@dataclass(frozen=True)
class PatternSpec:
    """A calibration target.

    Attributes:
        kind: ``"chessboard"``, ``"charuco"`` or ``"acircles"``.
        rows, cols: see the module docstring (inner corners, squares or circles).
        square_mm: square side (chessboard, ChArUco) or circle spacing (acircles), millimetres.
        marker_mm: ChArUco marker side in millimetres (``None`` for the other kinds).
        dictionary: ChArUco ArUco dictionary name, e.g. ``"DICT_5X5_100"``.
    """

    kind: str
    rows: int
    cols: int
    square_mm: float
    marker_mm: float | None = None
    dictionary: str = "DICT_5X5_100"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UserError(f"unknown pattern {self.kind!r}: use one of {', '.join(KINDS)}")
        low = 3 if self.kind == "charuco" else 2
        if self.rows < low or self.cols < low:
            raise UserError(f"a {self.kind} pattern needs at least {low}×{low} (got {self.rows}×{self.cols})")
        if not self.square_mm > 0:
            raise UserError(f"--square-mm must be positive (got {self.square_mm})")
        if self.kind == "charuco":
            if self.marker_mm is None or not 0 < self.marker_mm < self.square_mm:
                raise UserError(
                    f"a ChArUco marker must be smaller than its square (--marker-mm {self.marker_mm}, "
                    f"--square-mm {self.square_mm})"
                )
            if not hasattr(cv2.aruco, self.dictionary):
                raise UserError(f"unknown ArUco dictionary {self.dictionary!r} (e.g. DICT_5X5_100)")

    @classmethod
    def default(cls, kind: str) -> PatternSpec:
        rows, cols, square, marker = DEFAULTS.get(kind, (0, 0, 0.0, None))
        return cls(kind, rows, cols, square, marker)

    # ----- geometry -------------------------------------------------------------------------
    @property
    def pattern_size(self) -> tuple[int, int]:
        """OpenCV ``patternSize`` ``(points per row, rows)`` for chessboard and circles."""
        return (self.cols, self.rows)

    @property
    def n_points(self) -> int:
        if self.kind == "charuco":
            return (self.rows - 1) * (self.cols - 1)
        return self.rows * self.cols

    def object_points(self) -> np.ndarray:
        """``(n_points, 3)`` float32 board coordinates in mm, in detection order (ids for ChArUco)."""
        s = self.square_mm
        if self.kind == "charuco":
            return np.asarray(self.charuco_board().getChessboardCorners(), np.float32).reshape(-1, 3)
        r, c = np.mgrid[0 : self.rows, 0 : self.cols]
        if self.kind == "chessboard":
            x, y = c * s, r * s
        else:
            x, y = (2 * c + r % 2) * s, r * s
        return np.stack([x.ravel(), y.ravel(), np.zeros(r.size)], axis=1).astype(np.float32)

    def board_size_mm(self) -> tuple[float, float]:
        """Printed extent ``(width, height)`` in mm, quiet margin excluded."""
        s = self.square_mm
        if self.kind == "chessboard":
            return ((self.cols + 1) * s, (self.rows + 1) * s)
        if self.kind == "charuco":
            return (self.cols * s, self.rows * s)
        d = 2 * self.circle_radius_mm()
        return ((2 * self.cols - 1) * s + d, (self.rows - 1) * s + d)

    def circle_radius_mm(self) -> float:
        """Radius of a printed circle (acircles): 0.3 × spacing, well apart from its neighbours."""
        return 0.3 * self.square_mm

    def board_origin_mm(self) -> tuple[float, float]:
        """Where object point (0, 0) lies from the board's top-left printed edge, in mm."""
        if self.kind == "chessboard":
            return (self.square_mm, self.square_mm)
        if self.kind == "charuco":
            return (0.0, 0.0)  # OpenCV's CharucoBoard places its own corner points
        r = self.circle_radius_mm()
        return (r, r)

    def charuco_board(self) -> cv2.aruco.CharucoBoard:
        if self.kind != "charuco":
            raise ValueError("not a ChArUco pattern")
        dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        return cv2.aruco.CharucoBoard((self.cols, self.rows), self.square_mm, self.marker_mm, dictionary)

    def describe(self) -> str:
        """One human line: what to print and hold up."""
        s = f"{self.square_mm:g} mm"
        if self.kind == "chessboard":
            return (
                f"chessboard with {self.rows}×{self.cols} inner corners "
                f"({self.rows + 1}×{self.cols + 1} squares of {s})"
            )
        if self.kind == "charuco":
            return (
                f"ChArUco board of {self.rows}×{self.cols} squares of {s}, "
                f"{self.marker_mm:g} mm {self.dictionary} markers"
            )
        return f"asymmetric circles grid, {self.rows} rows of {self.cols} circles, spacing {s}"

    def as_metadata(self) -> dict:
        """The ``pattern`` entry of a camera profile."""
        meta = {"type": self.kind, "rows": self.rows, "cols": self.cols, "square_mm": float(self.square_mm)}
        if self.kind == "charuco":
            meta.update(marker_mm=float(self.marker_mm), dictionary=self.dictionary)
        return meta

    # ----- rendering ------------------------------------------------------------------------
    def render(self, px_per_mm: float, margin_mm: float = 10.0) -> BoardImage:
        """Draw the pattern at ``px_per_mm`` with a white quiet zone of ``margin_mm`` around it.

        Returns a :class:`BoardImage` whose ``origin_px`` is where object point (0, 0) lands
        (pixel-centre convention), so ``texture_px = origin_px + px_per_mm · (X, Y)``.
        Square edges are rounded to whole pixels: choose ``px_per_mm · square_mm`` integer (and
        integer margins) for an exact rendering.
        """
        w_mm, h_mm = self.board_size_mm()
        m = margin_mm * px_per_mm
        width, height = round(w_mm * px_per_mm + 2 * m), round(h_mm * px_per_mm + 2 * m)
        img = np.full((height, width), WHITE, np.uint8)
        s = self.square_mm * px_per_mm
        if self.kind == "chessboard":
            for i in range(self.rows + 1):
                for j in range(self.cols + 1):
                    if (i + j) % 2 == 0:
                        y0, y1 = round(m + i * s), round(m + (i + 1) * s)
                        x0, x1 = round(m + j * s), round(m + (j + 1) * s)
                        img[y0:y1, x0:x1] = BLACK
        elif self.kind == "charuco":
            bw, bh = round(self.cols * s), round(self.rows * s)
            img[round(m) : round(m) + bh, round(m) : round(m) + bw] = self.charuco_board().generateImage(
                (bw, bh), marginSize=0, borderBits=1
            )
        else:
            shift = 4
            radius = round(self.circle_radius_mm() * px_per_mm * (1 << shift))
            ox, oy = self.board_origin_mm()
            for x, y, _ in self.object_points():
                cx = round((m + (ox + x) * px_per_mm - 0.5) * (1 << shift))
                cy = round((m + (oy + y) * px_per_mm - 0.5) * (1 << shift))
                cv2.circle(img, (cx, cy), radius, BLACK, -1, cv2.LINE_AA, shift)
        ox, oy = self.board_origin_mm()
        # A printed edge at x mm covers pixels from m + x·ppm on; pixel centres sit at +0.5.
        origin = (m + ox * px_per_mm - 0.5, m + oy * px_per_mm - 0.5)
        return BoardImage(img, float(px_per_mm), (float(origin[0]), float(origin[1])))


@dataclass(frozen=True)
class BoardImage:
    """A rendered pattern: ``image`` (H, W) uint8, ``px_per_mm``, ``origin_px`` of object point (0, 0)."""

    image: np.ndarray
    px_per_mm: float
    origin_px: tuple[float, float]

    def to_pixels(self, object_points: np.ndarray) -> np.ndarray:
        """``(..., 3)`` or ``(..., 2)`` board mm → ``(..., 2)`` texture pixels."""
        xy = np.asarray(object_points, np.float64)[..., :2]
        return np.asarray(self.origin_px) + self.px_per_mm * xy
