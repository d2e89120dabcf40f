"""When the pattern is not found as described, find out whether it is there under another size.

Two slips are common and cost a user a whole session:

* **rows and columns swapped.** OpenCV names its asymmetric circles grid "4 x 11" after its
  ``patternSize=(4, 11)``: 4 circles per row, 11 rows. In perspose-rt's terms that is
  ``--rows 11 --cols 4``; ``--rows 4 --cols 11`` finds nothing. (A chessboard is found either way
  round, so this only matters for circle grids and ChArUco boards.)
* **squares counted instead of inner corners** (chessboard): a board of 7×10 squares has 6×9
  inner corners. ChArUco, the other way: it is counted in squares.

:func:`suggest_pattern_size` tries those alternatives on a few frames in which nothing was found
and returns one line with the exact flags to use, or ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np

from perspose_rt.calib.detect import PatternDetector
from perspose_rt.calib.patterns import PatternSpec
from perspose_rt.errors import UserError


def alternatives(spec: PatternSpec) -> list[tuple[PatternSpec, str]]:
    """Other sizes the user may have meant, most likely first, each with the slip it corrects."""
    swapped = (f"rows and columns swapped: OpenCV's \"{spec.rows} x {spec.cols}\" circles grid has "
               f"{spec.cols} rows of {spec.rows} circles" if spec.kind == "acircles"
               else "rows and columns swapped")
    cands: list[tuple[int, int, str]] = [(spec.cols, spec.rows, swapped)]
    if spec.kind == "chessboard":
        why = (f"a chessboard is counted in inner corners: {spec.rows}×{spec.cols} squares have "
               f"{spec.rows - 1}×{spec.cols - 1} inner corners")
        cands += [(spec.rows - 1, spec.cols - 1, why), (spec.cols - 1, spec.rows - 1, why)]
    elif spec.kind == "charuco":
        why = (f"a ChArUco board is counted in squares: {spec.rows}×{spec.cols} inner corners belong "
               f"to {spec.rows + 1}×{spec.cols + 1} squares")
        cands += [(spec.rows + 1, spec.cols + 1, why), (spec.cols + 1, spec.rows + 1, why)]
    out: list[tuple[PatternSpec, str]] = []
    seen = {(spec.rows, spec.cols)}
    for rows, cols, why in cands:
        if (rows, cols) in seen:
            continue
        seen.add((rows, cols))
        try:
            out.append((replace(spec, rows=rows, cols=cols), why))
        except UserError:  # too small to be a pattern
            continue
    return out


def suggest_pattern_size(spec: PatternSpec, images: Iterable[np.ndarray]) -> str | None:
    """One line naming the flags under which the pattern *is* found in ``images``, or ``None``.

    ``images``: a few frames in which ``spec`` found nothing (each alternative is tried on each).
    """
    images = list(images)
    for alt, why in alternatives(spec):
        detector = PatternDetector(alt)
        if any(detector.detect(img) is not None for img in images):
            flags = f"--rows {alt.rows} --cols {alt.cols}"
            return f"the pattern is there with {flags} ({why}): rerun with {flags}"
    return None
