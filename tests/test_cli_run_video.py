"""``perspose-rt video`` end to end on the real video, and every bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from perspose_rt.cli import main
from perspose_rt.io.results import load_result
from perspose_rt.metrics import acceleration_error
from perspose_rt.metrics.joints import H36M17_NAMES, H36M17_PARENTS

N_FRAMES = 60
#: (parent, child) of every bone of the H36M-17 skeleton
ALL_BONES = [(p, c) for c, p in enumerate(H36M17_PARENTS) if p >= 0]


@pytest.fixture(scope="module")
def skating(video_path: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    out = tmp_path_factory.mktemp("video")
    npz, overlay = out / "skating.npz", out / "skating.mp4"
    code = main(["video", str(video_path), "--out", str(npz), "--overlay", str(overlay),
                 "--max-frames", str(N_FRAMES), "--no-progress"])
    return npz, overlay, code


def test_every_frame_of_the_skater_is_valid(skating) -> None:
    npz, overlay, code = skating
    assert code == 0
    r = load_result(npz)
    assert len(r) == N_FRAMES and r["valid"].all()  # the skater is in every frame
    np.testing.assert_array_equal(r["frame_index"], np.arange(N_FRAMES))
    np.testing.assert_allclose(np.diff(r["timestamp"]), 1 / 25)
    assert r.meta["estimator"] == "lifter" and r.joint_names == list(H36M17_NAMES)
    assert r.meta["intrinsics_source"].startswith("default:") and r.meta["n_failed_frames"] == 0
    assert len(r.meta["weights_sha256"]) == 64 and r.meta["smoothing"] == "kalman-cv"
    assert r.meta["detector_smoothing"] is False  # one temporal filter: ours
    assert r.meta["complete"] is True and r.meta["stop_reason"] == "max-frames" and r.meta["error"] is None
    steps = {"pose.track", "pose.lift", "pose.smooth", "pose.ik", "pose.project"}
    assert {"detect", "pose"} | steps <= set(r.meta["timings"]["stages_ms"])  # two threads
    assert {"detect", "pose"} | steps <= set(r.meta["timings"]["stages_cpu_ms"])
    assert np.all(r["joints_cam"][:, :, 2] > 1.0)  # in front of the camera, metres away
    assert r["rotations"].shape == (N_FRAMES, 17, 3, 3) and r["rotations_valid"].all()
    cap = cv2.VideoCapture(str(overlay))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == N_FRAMES and cap.get(cv2.CAP_PROP_FRAME_WIDTH) == 1280


def test_projection_of_the_final_3d_is_stored_apart_from_the_detector_2d(skating) -> None:
    """``joints_2d`` is what the detector saw; ``joints_2d_proj`` is the projection of the final
    (smoothed, rigid) ``joints_cam``, so it is the 2D that matches the 3D."""
    from perspose_rt.geometry import project_points

    r = load_result(skating[0])
    assert r.meta["version"] == 1 and r.meta["max_people"] == 1  # --max-people 1 keeps version 1
    X, K = r["joints_cam"].astype(np.float64), r["K"]
    proj = np.stack([project_points(X[i], K[i]) for i in range(len(r))])
    np.testing.assert_allclose(r["joints_2d_proj"], proj, atol=0.05)  # float32 storage
    gap = np.linalg.norm(r["joints_2d"] - r["joints_2d_proj"], axis=-1)
    assert np.median(gap) > 1.0  # the detector's 2D is not the projection of the smoothed rigid 3D


def _bone_cv(X: np.ndarray, bones: list[tuple[int, int]]) -> dict[str, float]:
    out = {}
    for p, c in bones:
        length = np.linalg.norm(X[:, c] - X[:, p], axis=-1)
        out[f"{H36M17_NAMES[p]}-{H36M17_NAMES[c]}"] = float(length.std() / length.mean())
    return out


def test_bone_lengths_are_stable(skating) -> None:
    """The default video output (the lifter with the fitted skeleton) keeps every bone's length."""
    r = load_result(skating[0])
    assert r.meta["skeleton"].startswith("rigid")
    cv = _bone_cv(r["joints_cam"].astype(np.float64), ALL_BONES)
    assert max(cv.values()) < 0.10, cv


@pytest.fixture(scope="module")
def skating_free(video_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    npz = tmp_path_factory.mktemp("video") / "free.npz"
    assert main(["video", str(video_path), "--out", str(npz), "--max-frames", str(N_FRAMES), "--no-progress",
                 "--no-rigid"]) == 0
    return npz


def test_no_rigid_outputs_the_lifters_own_joints(skating, skating_free: Path) -> None:
    free, fitted = load_result(skating_free), load_result(skating[0])
    assert free["valid"].all() and free.meta["skeleton"] == "free"
    # the estimator's own (pre-smoothing) joints are the same; the fit replaces only joints_cam
    np.testing.assert_allclose(fitted["joints_cam_raw"], free["joints_cam_raw"], atol=1e-6)
    assert not np.allclose(fitted["joints_cam"], free["joints_cam"], atol=1e-3)
    # The fitted skeleton follows the estimate: its joints stay near the (smoothed) lifter output.
    dev = np.linalg.norm(fitted["joints_cam"] - fitted["joints_cam_raw"], axis=-1).mean()
    assert dev < 0.15


def test_smoothing_lowers_jitter(skating_free: Path) -> None:
    """No ground truth for this video: the smoothed joints' acceleration (frame to frame) must be
    lower than the raw ones' (``acceleration_error`` against a motionless reference). Measured on
    the --no-rigid output so that it is the smoothing alone."""
    r = load_result(skating_free)
    still = np.zeros_like(r["joints_cam"])
    smooth = acceleration_error(r["joints_cam"], still).mean()
    raw = acceleration_error(r["joints_cam_raw"], still).mean()
    assert smooth < 0.8 * raw


def _avi(path: Path, frames: list[np.ndarray], fps: float = 25) -> Path:
    h, w = frames[0].shape[:2]
    wr = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for f in frames:
        wr.write(f)
    wr.release()
    return path


def test_missing_and_unreadable_video_exit_2(tmp_path: Path, capsys) -> None:
    assert main(["video", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "o.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"perspose-rt: error: video file not found: {tmp_path / 'nope.mp4'}"]
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(4096))
    assert main(["video", str(junk), "--out", str(tmp_path / "o.npz")]) == 2
    assert "perspose-rt: error:" in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()


def test_unwritable_output_fails_before_processing(tmp_path: Path, capsys) -> None:
    video = _avi(tmp_path / "v.avi", [np.zeros((240, 320, 3), np.uint8)] * 2)
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    assert main(["video", str(video), "--out", str(blocker / "o.npz")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_nobody_in_frame_gives_invalid_rows(tmp_path: Path) -> None:
    video = _avi(tmp_path / "empty.avi", [np.full((240, 320, 3), 90, np.uint8)] * 5)
    out = tmp_path / "empty.npz"
    assert main(["video", str(video), "--out", str(out), "--no-progress", "--fov", "60"]) == 0
    r = load_result(out)
    assert len(r) == 5 and not r["valid"].any()
    for name in ("joints_cam", "joints_2d", "joints_rel", "bbox", "confidence"):
        assert np.all(r[name] == 0) and np.all(np.isfinite(r[name]))
    assert r.meta["intrinsics_source"].startswith("fov:60")


def test_truncated_video_records_failed_frames(video_path: Path, tmp_path: Path) -> None:
    cap = cv2.VideoCapture(str(video_path))
    frames = [cv2.resize(cap.read()[1], (640, 360)) for _ in range(20)]
    data = _avi(tmp_path / "full.avi", frames).read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "cut.npz"
    assert main(["video", str(cut), "--out", str(out), "--no-progress"]) == 0
    r = load_result(out)
    assert 0 < len(r) < 20 and r.meta["n_failed_frames"] + r.meta["n_missing_frames"] == 20 - len(r)
    assert r.meta["n_missing_frames"] > 0
    assert r["valid"].all()


def test_calibration_of_another_aspect_ratio_is_refused(tmp_path: Path, capsys) -> None:
    from perspose_rt.camera import CameraModel, save_profile

    video = _avi(tmp_path / "v.avi", [np.zeros((240, 320, 3), np.uint8)] * 2)
    prof = save_profile(tmp_path / "cam.yaml", CameraModel.from_fov(60, (640, 360)))
    assert main(["video", str(video), "--out", str(tmp_path / "o.npz"), "--calib", str(prof)]) == 2
    assert "aspect ratio" in capsys.readouterr().err


def test_perspose_without_weights_is_one_line(tmp_path: Path, capsys) -> None:
    video = _avi(tmp_path / "v.avi", [np.zeros((240, 320, 3), np.uint8)] * 2)
    assert main(["video", str(video), "--out", str(tmp_path / "o.npz"), "--estimator", "perspose"]) == 2
    assert "needs --weights" in capsys.readouterr().err


def test_ctrl_c_leaves_a_complete_npz(long_video: Path, tmp_path: Path) -> None:
    out = tmp_path / "part.npz"
    # Ctrl-C reaches a foreground process. A suite started in the background by a non-interactive
    # shell hands its children SIGINT ignored, which Python then keeps: the child restores
    # Python's own SIGINT handler first, as a foreground run has it.
    start = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
             "sys.argv = ['perspose-rt'] + sys.argv[1:]; runpy.run_module('perspose_rt', run_name='__main__')")
    proc = subprocess.Popen(
        [sys.executable, "-c", start, "video", str(long_video), "--out", str(out), "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 120
    line = ""
    while " fps; camera " not in line and time.monotonic() < deadline:  # printed once the stages are built
        line = proc.stderr.readline()
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    r = load_result(out)
    assert 0 < len(r) < 1200 and r.meta["interrupted"] is True
    np.testing.assert_array_equal(r["frame_index"], np.arange(len(r)))
