"""Calibration patterns: geometry conventions, true-scale rendering, printable pages, detection
on the clean rendering (every kind, against the known corner positions)."""

from __future__ import annotations

import numpy as np
import pytest

from perspose_rt.calib.detect import PatternDetector, _charuco_bias
from perspose_rt.calib.patterns import PatternSpec
from perspose_rt.calib.printable import render_page, write_pattern
from perspose_rt.errors import UserError


def test_object_points_follow_opencv_conventions():
    chess = PatternSpec("chessboard", 3, 4, 10.0).object_points()
    assert chess.shape == (12, 3) and chess.dtype == np.float32
    np.testing.assert_allclose(chess[:5, :2], [[0, 0], [10, 0], [20, 0], [30, 0], [0, 10]])
    # OpenCV calibration sample: asymmetric circle (row i, col j) at ((2j + i % 2)·s, i·s).
    circles = PatternSpec("acircles", 11, 4, 20.0).object_points()
    assert circles.shape == (44, 3)
    np.testing.assert_allclose(circles[[0, 1, 4, 5, 43], :2], [[0, 0], [40, 0], [20, 20], [60, 20], [120, 200]])
    charuco = PatternSpec("charuco", 7, 5, 30.0, 22.0)
    pts = charuco.object_points()
    assert pts.shape == (24, 3) == (charuco.n_points, 3)
    np.testing.assert_allclose(pts[0, :2], [30, 30])  # first inner corner, one square in
    assert np.all(pts[:, 2] == 0)


@pytest.mark.parametrize(
    "args, needle",
    [
        (("circle", 4, 4, 10.0), "unknown pattern"),
        (("chessboard", 1, 5, 10.0), "at least"),
        (("chessboard", 5, 6, 0.0), "square-mm"),
        (("charuco", 5, 7, 30.0, 35.0), "smaller than its square"),
        (("charuco", 5, 7, 30.0, 20.0, "DICT_NOPE"), "dictionary"),
    ],
)
def test_bad_pattern_options_are_one_line_user_errors(args, needle):
    with pytest.raises(UserError, match=needle):
        PatternSpec(*args)


@pytest.mark.parametrize("kind", ["chessboard", "charuco", "acircles"])
def test_detection_on_the_rendering_lands_on_the_known_points(kind):
    """render() states where every object point lands; each detector must agree to < 0.1 px."""
    spec = PatternSpec.default(kind)
    board = spec.render(px_per_mm=3.0, margin_mm=spec.square_mm / 2)
    view = PatternDetector(spec).detect(board.image, "rendering")
    assert view is not None and view.n_points == spec.n_points
    truth = board.to_pixels(view.object_points)
    err = np.linalg.norm(view.image_points - truth, axis=1)
    if kind != "charuco":  # symmetric boards may be numbered from the other end
        err = np.minimum(err, np.linalg.norm(view.image_points[::-1] - truth, axis=1))
    assert err.max() < 0.1, err.max()


def test_charuco_offset_of_this_opencv_is_measured_not_assumed():
    bias = _charuco_bias(PatternSpec.default("charuco"))
    assert bias in ((0.5, 0.5), (0.0, 0.0))


def test_printable_page_is_true_scale_with_a_50mm_bar():
    spec = PatternSpec.default("chessboard")
    dpi = 100
    page = render_page(spec, "A4", dpi)
    ppm = dpi / 25.4
    # 7×10 squares of 22 mm = 154 × 220 mm: landscape A4.
    assert page.shape == (round(210 * ppm), round(297 * ppm))
    dark = page < 128
    # The longest dark horizontal run on the page is the 50 mm scale bar (squares are 22 mm).
    assert abs(max(_longest_run(r) for r in dark) - 50 * ppm) <= 1.5
    # Left edges of two black squares in one row are 2 × 22 mm apart.
    top = np.flatnonzero(dark.any(axis=1))[0] + 5
    edges = np.flatnonzero(np.diff(dark[top].astype(int)) == 1)
    assert abs((edges[1] - edges[0]) - 44 * ppm) <= 1.5


def _longest_run(row: np.ndarray) -> int:
    idx = np.flatnonzero(row)
    if idx.size == 0:
        return 0
    return max(len(r) for r in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1))


def test_pattern_too_big_for_the_paper_is_refused():
    with pytest.raises(UserError, match="does not fit"):
        render_page(PatternSpec("chessboard", 9, 12, 40.0), "A4", 72)


def test_write_pattern_png_and_pdf(tmp_path):
    from PIL import Image

    spec = PatternSpec.default("acircles")
    png = write_pattern(spec, tmp_path / "p.png", "A4", 150)
    pdf = write_pattern(spec, tmp_path / "p.pdf", "A4", 150)
    with Image.open(png) as im:
        assert im.info["dpi"][0] == pytest.approx(150, abs=0.5)
        assert im.size == (round(210 / 25.4 * 150), round(297 / 25.4 * 150))
    head = pdf.read_bytes()
    assert head.startswith(b"%PDF")
    # A4 in PostScript points (1/72 inch): 595 × 842.
    assert b"/MediaBox [ 0 0 595" in head or b"/MediaBox [0 0 595" in head
    with pytest.raises(UserError, match=r"\.png or \.pdf"):
        write_pattern(spec, tmp_path / "p.jpg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.pdf", "p.png"]
