"""A printable, true-scale page of a calibration pattern (PNG or PDF).

The page carries the pattern centred, a caption saying what it is, and a 50 mm scale bar so the
user can check with a ruler that the printer did not rescale it ("print at 100 %, no fit to
page"). PDF pages have the physical paper size; PNG files carry the DPI in their metadata.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from perspose_rt.calib.patterns import PatternSpec
from perspose_rt.errors import UserError
from perspose_rt.io import atomic_path

#: Paper sizes in millimetres (portrait).
PAPERS: dict[str, tuple[float, float]] = {
    "A4": (210.0, 297.0),
    "A3": (297.0, 420.0),
    "letter": (215.9, 279.4),
}

_CAPTION_MM = 22.0  # room below the pattern for the caption and the scale bar


def render_page(spec: PatternSpec, paper: str = "A4", dpi: int = 300) -> np.ndarray:
    """The whole page as an (H, W) uint8 image at ``dpi``, orientation chosen to fit the pattern.

    Raises:
        UserError: the pattern (plus a 10 mm margin and the caption) does not fit on the paper.
    """
    if paper not in PAPERS:
        raise UserError(f"unknown paper {paper!r}: use one of {', '.join(PAPERS)}")
    if not 72 <= dpi <= 1200:
        raise UserError(f"--dpi must be between 72 and 1200 (got {dpi})")
    margin = 10.0
    bw, bh = spec.board_size_mm()
    need = (bw + 2 * margin, bh + 2 * margin + _CAPTION_MM)
    pw, ph = PAPERS[paper]
    if not (need[0] <= pw and need[1] <= ph):
        pw, ph = ph, pw  # landscape
        if not (need[0] <= pw and need[1] <= ph):
            raise UserError(
                f"the {spec.describe()} needs {need[0]:.0f}×{need[1]:.0f} mm and does not fit on {paper}: "
                "use a smaller --square-mm, fewer rows/cols or --paper A3"
            )
    ppm = dpi / 25.4
    page = np.full((round(ph * ppm), round(pw * ppm)), 255, np.uint8)
    board = spec.render(ppm, margin_mm=margin).image
    y0 = max(0, round((ph - _CAPTION_MM) * ppm / 2 - board.shape[0] / 2))
    x0 = round(pw * ppm / 2 - board.shape[1] / 2)
    page[y0 : y0 + board.shape[0], x0 : x0 + board.shape[1]] = board

    # Caption and a 50 mm scale bar under the pattern.
    ytxt = y0 + board.shape[0] + round(2 * ppm)
    scale = ppm * 0.12
    thick = max(1, round(ppm * 0.15))
    lines = [
        f"perspose-rt calibration pattern: {spec.describe()}",
        "Print at 100 % (no 'fit to page'), glue flat on a rigid board. The bar below must measure 50 mm:",
    ]
    for i, text in enumerate(lines):
        org = (round(x0 + margin * ppm), round(ytxt + (i + 1) * 4.5 * ppm))
        cv2.putText(page, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, 0, thick, cv2.LINE_AA)
    ybar = round(ytxt + 12.0 * ppm)
    xbar = round(x0 + margin * ppm)
    page[ybar : ybar + round(2 * ppm), xbar : xbar + round(50 * ppm)] = 0
    return page


def write_pattern(spec: PatternSpec, path: str | os.PathLike[str], paper: str = "A4", dpi: int = 300) -> Path:
    """Write the printable page to ``path`` (``.png`` or ``.pdf``) atomically; returns the path."""
    from PIL import Image  # pillow is a core dependency; imported here to keep start-up light

    path = Path(path)
    fmt = {".png": "PNG", ".pdf": "PDF"}.get(path.suffix.lower())
    if fmt is None:
        raise UserError(f"cannot write a pattern to {path.name}: the file name must end in .png or .pdf")
    page = Image.fromarray(render_page(spec, paper, dpi))
    with atomic_path(path) as tmp:
        if fmt == "PDF":
            page.save(tmp, format="PDF", resolution=float(dpi))
        else:
            page.save(tmp, format="PNG", dpi=(dpi, dpi))
    return path
