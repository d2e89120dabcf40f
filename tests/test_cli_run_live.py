"""``perspose-rt live`` headless on a simulated camera, its keys, and its bad inputs; run_live.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from perspose_rt.cli import build_parser, main
from perspose_rt.io.results import load_result
from perspose_rt.paths import REPO_ROOT


def test_headless_live_on_simulated_camera(video_path: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "live.npz"
    code = main(["live", "--camera", f"sim:{video_path}", "--no-view", "--max-frames", "40",
                 "--record", str(out), "--f35", "50"])
    assert code == 0
    r = load_result(out)
    assert len(r) == 40 and r["valid"].mean() > 0.9
    assert np.all(np.diff(r["frame_index"]) >= 1) and np.all(np.diff(r["timestamp"]) > 0)
    m = r.meta
    assert m["source_kind"] == "SimulatedCamera" and m["intrinsics_source"].startswith("f35:50")
    t = m["timings"]
    assert t["frames_out"] == 40 and t["latency_ms"]["n"] == 40
    # Every frame taken from the camera was delivered, dropped for a newer one, or still inside the
    # pipeline when --max-frames stopped it: at most the newest-frame slot plus, for each of the 4
    # stages (detect, lift, smooth, ik), the frame it works on and one in its queue (size 1).
    in_flight = t["frames_in"] - t["frames_out"] - t["dropped"]
    assert 0 <= in_flight <= 1 + 4 * 2, t
    # the frames missing between the recorded ones are exactly drops
    assert int(np.sum(np.diff(r["frame_index"]) - 1)) <= t["dropped"]
    assert m["complete"] is True and m["stop_reason"] == "max-frames" and m["interrupted"] is False
    err = capsys.readouterr().err
    assert "end-to-end latency" in err and f"wrote {out}" in err


def test_keys_record_and_snapshot(video_path: Path, tmp_path: Path) -> None:
    """The q/r/s actions (what the windows' keys call), driven directly."""
    from perspose_rt.cli.live_cmd import LiveSession
    from perspose_rt.pipeline.build import EstimatorOptions, build_stages
    from perspose_rt.pipeline.live_sources import open_live_source
    from perspose_rt.pipeline.runner import Pipeline

    args = build_parser().parse_args(["live", "--camera", f"sim:{video_path}", "--no-view",
                                      "--out-dir", str(tmp_path)])
    source = open_live_source(args.camera)
    stages, meta = build_stages(EstimatorOptions(ik=False), fps=30)
    pipe = Pipeline(source, stages)
    session = LiveSession(args, source, meta, pipe)
    with pipe:
        for i, p in enumerate(pipe.results()):
            keys = {2: ["r"], 8: ["s"], 12: ["r"], 14: ["q"]}.get(i, [])
            if not session(p) or not session.handle_keys(keys, p):
                break
    assert i == 14
    recs = sorted(tmp_path.glob("recording_*.npz"))
    assert len(recs) == 1 and len(load_result(recs[0])) == 10  # frames 3..12 inclusive
    snaps = sorted(tmp_path.glob("snapshot_*"))
    assert {s.suffix for s in snaps} == {".png", ".npz"}
    assert len(load_result(next(s for s in snaps if s.suffix == ".npz"))) == 1


def test_no_display_needs_no_view(monkeypatch, capsys) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["live", "--camera", "sim:whatever.mp4"]) == 2
    assert "--no-view" in capsys.readouterr().err


def test_camera_that_cannot_be_opened(capsys) -> None:
    assert main(["live", "--camera", "/dev/video-perspose-missing", "--no-view", "--retry", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("perspose-rt: error: cannot open")


def test_run_live_py_is_the_live_command() -> None:
    out = subprocess.run([sys.executable, str(REPO_ROOT / "run_live.py"), "--help"], check=False,
                         capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "--camera" in out.stdout and "--no-view" in out.stdout


def test_windowed_mode_with_stubbed_windows(video_path: Path, tmp_path: Path, monkeypatch) -> None:
    """The windowed path (overlay + HUD + 3D viewer + keys) with OpenCV's window calls stubbed and
    the Open3D viewer rendering offscreen: 's' takes a snapshot, then 'q' quits."""
    import cv2

    import perspose_rt.viz.viewer3d as v3d

    shown: list[np.ndarray] = []
    keys = iter([-1, -1, ord("s"), -1, ord("q")])
    monkeypatch.setenv("DISPLAY", ":fake")
    monkeypatch.setattr(cv2, "namedWindow", lambda *a, **k: None)
    placed: list[tuple] = []
    monkeypatch.setattr(cv2, "resizeWindow", lambda *a: placed.append(("size", *a[1:])))
    monkeypatch.setattr(cv2, "moveWindow", lambda *a: placed.append(("at", *a[1:])))
    monkeypatch.setattr(cv2, "imshow", lambda name, img: shown.append(img))
    monkeypatch.setattr(cv2, "waitKey", lambda ms: next(keys, -1))
    monkeypatch.setattr(cv2, "destroyAllWindows", lambda: None)
    real_init = v3d.Viewer3D.__init__

    def offscreen_init(self, *a, **k) -> None:
        k["visible"] = False
        placed.append(("3d", k["left"], k["top"], k["width"], k["height"]))
        real_init(self, *a, **k)

    monkeypatch.setattr(v3d.Viewer3D, "__init__", offscreen_init)
    try:
        code = main(["live", "--camera", f"sim:{video_path}", "--out-dir", str(tmp_path), "--max-frames", "50"])
    except RuntimeError as exc:  # pragma: no cover - no EGL
        pytest.skip(f"no offscreen OpenGL: {exc}")
    assert code == 0 and len(shown) == 5  # 'q' on the 5th result
    # the overlay (1280x720 shown at 960x540) at the left, the 3D window beside it, same height
    assert placed == [("size", 960, 540), ("at", 0, 0), ("3d", 976, 0, 960, 540)]
    assert shown[-1].shape == (720, 1280, 3)
    assert {p.suffix for p in tmp_path.glob("snapshot_*")} == {".png", ".npz"}
    assert len(list(tmp_path.glob("snapshot_*_3d.png"))) == 1
