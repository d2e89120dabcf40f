"""A default run starts without torch/ONNX/Open3D and prints no MediaPipe/TFLite noise (issue 13)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np

from perspose_rt.detect.mediapipe_env import NOISE_PATTERNS, is_noise
from perspose_rt.paths import REPO_ROOT

#: real lines of a MediaPipe 0.10.21 run and a headless EGL render (issue 13).
NOISE = [
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    ("W0000 00:00:1796208631.566364    5710 inference_feedback_manager.cc:114] Feedback manager requires a "
     "model with a single signature inference. Disabling support for feedback tensors."),
    ("W0000 00:00:1796208631.709302    5710 landmark_projection_calculator.cc:186] Using NORM_RECT without "
     "IMAGE_DIMENSIONS is only supported for the square ROI. Provide IMAGE_DIMENSIONS or use PROJECTION_MATRIX."),
    "error: XDG_RUNTIME_DIR is invalid or not set in the environment.",
    "I0000 00:00:1796209579.931035   19456 gl_context_egl.cc:85] Successfully initialized EGL. Major : 1 Minor: 5",
]
HEAVY = ("torch", "onnx", "onnxruntime", "open3d", "tensorrt")
PHOTO = REPO_ROOT / "examples" / "photos" / "IMG-without-exif-1_26_f35.jpg"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PERSPOSE_RT_VERBOSE"}
    env.update(extra)
    return env


def test_every_noise_line_is_recognised_and_real_errors_are_not() -> None:
    assert all(is_noise(line) for line in NOISE)
    assert len(NOISE_PATTERNS) == len(NOISE)
    for real in ("E0000 00:00:1796208631.566364    5710 calculator_graph.cc:928] INTERNAL: boom",
                 "F0000 00:00:1796208631.566364    5710 inference_feedback_manager.cc:114] Check failed",
                 "E0000 00:00:1796209579.941368   19518 gl_context.cc:369] cannot create a GL context",
                 "perspose-rt: error: video file not found: x.mp4",
                 "WARNING perspose_rt.camera.model: no camera intrinsics given"):
        assert not is_noise(real), real


def test_filter_passes_real_lines_and_partial_lines_even_when_the_process_aborts() -> None:
    noise = "".join(f"{line}\n" for line in NOISE)
    code = textwrap.dedent(f"""
        import os, sys, time
        from perspose_rt.detect.mediapipe_env import install_stderr_filter
        assert install_stderr_filter()
        os.write(2, {noise!r}.encode() + b"E0000 00:00:1.0  1 graph.cc:1] real error\\n")
        os.write(2, b"\\r 50%|#####     | 5/10")
        time.sleep(0.3)
        os.write(2, b"\\r100%|##########| 10/10\\n" + {NOISE[0]!r}.encode() + b"\\nF0000 check failed\\n")
        os.abort()
    """)
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, env=_env(), timeout=60)
    assert proc.returncode != 0
    err = proc.stderr.decode()
    assert "real error" in err and "F0000 check failed" in err  # written just before abort()
    assert "\r 50%|#####     | 5/10\r100%|##########| 10/10\n" in err  # a progress bar is untouched
    assert not any(line in err for line in NOISE), err


def test_verbose_keeps_the_native_lines() -> None:
    code = ("import os; from perspose_rt.detect.mediapipe_env import quiet_mediapipe; quiet_mediapipe(); "
            f"os.write(2, {NOISE[0]!r}.encode() + b'\\n')")
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60,
                          env=_env(PERSPOSE_RT_VERBOSE="1"))
    assert proc.returncode == 0 and NOISE[0] in proc.stderr


def test_default_runs_are_quiet_and_import_neither_torch_nor_onnx_nor_open3d(tmp_path: Path) -> None:
    """`images`, `video` and `live` (simulated camera) with the lifter, in one process."""
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(PHOTO, photos / PHOTO.name)
    video = tmp_path / "clip.mp4"
    img = cv2.resize(cv2.imread(str(PHOTO)), (480, 480))
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 25, (480, 480))
    for i in range(8):
        writer.write(np.roll(img, 4 * i, axis=1))
    writer.release()
    out = tmp_path / "out"
    code = textwrap.dedent(f"""
        import json, sys
        from perspose_rt.cli import main
        codes = [main(["images", {str(photos)!r}, "--out", {str(out / "img")!r}, "--no-3d"]),
                 main(["video", {str(video)!r}, "--out", {str(out / "v.npz")!r}, "--no-progress"]),
                 main(["live", "--camera", "sim:" + {str(video)!r}, "--no-view", "--max-frames", "4",
                       "--fps", "100", "--out-dir", {str(out / "rec")!r}])]
        print(json.dumps({{"codes": codes, "heavy": sorted(m for m in sys.modules
                                                         if m.split(".")[0] in {HEAVY!r})}}))
    """)
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, env=_env(),
                          timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["codes"] == [0, 0, 0]
    assert report["heavy"] == [], f"a default run imported {report['heavy']}"
    assert not [line for line in proc.stderr.splitlines() if any(n[:40] in line for n in NOISE)], proc.stderr
    assert "no camera intrinsics given" in proc.stderr  # the warnings that matter stay


def test_help_loads_neither_numpy_nor_any_command_it_does_not_show() -> None:
    """``perspose-rt --help`` stays instant: no numpy, no OpenCV, no command's own arguments."""
    code = ("import sys; from perspose_rt.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('numpy', 'cv2', 'torch', 'mediapipe', 'perspose_rt.bench.startup') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
    assert "video" in proc.stdout and "calibrate" in proc.stdout  # every command is listed


def test_bench_startup_makes_its_640x480_input(tmp_path: Path) -> None:
    from perspose_rt.bench.startup import make_video

    src = tmp_path / "src.mp4"
    writer = cv2.VideoWriter(str(src), cv2.VideoWriter_fourcc(*"mp4v"), 25, (1280, 720))
    for i in range(4):
        writer.write(np.full((720, 1280, 3), 40 * i, np.uint8))
    writer.release()
    assert make_video(src, tmp_path / "out.mp4", 11) == 11
    cap = cv2.VideoCapture(str(tmp_path / "out.mp4"))
    frames = []
    while (ok_frame := cap.read())[0]:
        frames.append(ok_frame[1])
    assert len(frames) == 11 and frames[0].shape == (480, 640, 3)
    # played forwards then backwards: 0 1 2 3 2 1 0 1 2 3 2
    assert [round(f.mean() / 40) for f in frames] == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2]
