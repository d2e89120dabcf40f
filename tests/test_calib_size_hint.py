"""The wizard forgives swapped grid sizes and squares counted for corners, and runs on any live
source (a simulated camera playing the real calibration images) headless to a saved profile."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from perspose_rt.calib.offline import collect_views
from perspose_rt.calib.patterns import PatternSpec
from perspose_rt.calib.size_hint import alternatives, suggest_pattern_size
from perspose_rt.calib.sources import FrameListSource, ImageFolderSource
from perspose_rt.calib.synthetic import SyntheticCamera, demo_poses
from perspose_rt.calib.wizard import CalibrationSession
from perspose_rt.camera import load_profile
from perspose_rt.cli import main
from perspose_rt.errors import CalibrationError

K = np.array([[600.0, 0.0, 318.0], [0.0, 600.0, 242.0], [0.0, 0.0, 1.0]])
CHESS = PatternSpec.default("chessboard")  # 6×9 inner corners = 7×10 squares


@pytest.fixture(scope="module")
def chess_frames() -> list[np.ndarray]:
    cam = SyntheticCamera(K, np.zeros(5), (640, 480))
    board = CHESS.render(4.0, CHESS.square_mm / 2)
    return [cam.render(board, r, t) for r, t in demo_poses(CHESS, 3, K, (640, 480), seed=3)]


def test_alternatives_name_the_likely_slips() -> None:
    circles = PatternSpec("acircles", 4, 11, 20.0)
    (alt, why), *_ = alternatives(circles)
    assert (alt.rows, alt.cols) == (11, 4) and '"4 x 11"' in why and "11 rows of 4 circles" in why
    squares = PatternSpec("chessboard", 7, 10, 22.0)
    sizes = [(a.rows, a.cols) for a, _ in alternatives(squares)]
    assert sizes == [(10, 7), (6, 9), (9, 6)]
    assert all((a.rows, a.cols) != (2, 1) for a, _ in alternatives(PatternSpec("chessboard", 2, 3, 22.0)))


def test_chessboard_counted_in_squares_gets_the_inner_corner_flags(chess_frames) -> None:
    squares = PatternSpec("chessboard", 7, 10, 22.0)
    with pytest.raises(CalibrationError) as err:
        collect_views(squares, FrameListSource(chess_frames))
    msg = str(err.value)
    assert "\n" not in msg and msg.endswith("rerun with --rows 6 --cols 9")
    assert "inner corners: 7×10 squares have 6×9 inner corners" in msg
    assert suggest_pattern_size(squares, [np.full((480, 640, 3), 128, np.uint8)]) is None  # no board at all


def test_wizard_says_which_flags_find_the_board(chess_frames) -> None:
    session = CalibrationSession(PatternSpec("chessboard", 7, 10, 22.0))
    status = session.process(chess_frames[0], "frame 0")
    assert status.view is None and status.reason.endswith("rerun with --rows 6 --cols 9")
    assert session.hint() == session.size_hint
    with pytest.raises(CalibrationError, match=r"not found in any of the 1 frames, but .*--rows 6 --cols 9$"):
        session.calibrate()


def test_opencv_4x11_circles_with_rows_and_cols_swapped(calibration_dir: Path, tmp_path: Path, capsys) -> None:
    with pytest.raises(CalibrationError, match=r"rerun with --rows 11 --cols 4$"):
        collect_views(PatternSpec("acircles", 4, 11, 20.0), ImageFolderSource(calibration_dir))
    code = main(["calibrate", "--images", str(calibration_dir), "--pattern", "acircles", "--rows", "4",
                 "--cols", "11", "--calib-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--rows 11 --cols 4" in err[0]
    assert not list(tmp_path.iterdir())


def test_wizard_on_a_simulated_camera_saves_a_profile(calibration_dir: Path, tmp_path: Path, capsys) -> None:
    """``calibrate --camera sim:VIDEO --headless``: the real 4×11 circle images played as a camera."""
    paths = sorted(calibration_dir.glob("right*.jpg"))
    h, w = cv2.imread(str(paths[0])).shape[:2]
    video = tmp_path / "board.avi"
    out = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30, (w, h))
    for p in paths:  # each pose held for 6 frames, as a user holds the board still
        img = cv2.imread(str(p))
        for _ in range(6):
            out.write(img)
    out.release()
    code = main(["calibrate", "--camera", f"sim:{video}", "--fps", "300", "--headless", "--pattern", "acircles",
                 "--rows", "11", "--cols", "4", "--square-mm", "20", "--opencv-sample-flags",
                 "--calib-dir", str(tmp_path / "calib")])  # a simulated camera plays its video once
    text = capsys.readouterr().out
    assert code == 0, text
    assert text.count("captured frame") >= 8
    profile = tmp_path / "calib" / "board.yaml"  # named after the simulated camera's video
    cam = load_profile(profile)
    assert cam.resolution == (w, h)
    # OpenCV's own sample on all 25 images: fx = fy = 512.17 (out_camera_data_right.xml)
    assert cam.K[0, 0] == pytest.approx(512.17, rel=0.03)
