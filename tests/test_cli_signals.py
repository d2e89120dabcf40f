"""Stops: SIGTERM and SIGHUP are handled like Ctrl-C, a full disk or a closed stdout loses nothing
that could be kept, and every stop is written into the result's metadata."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from perspose_rt.io.results import ResultWriter, load_result
from perspose_rt.paths import REPO_ROOT, examples_dir

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _cli(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "perspose_rt", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV, **kw)


def _wait_for(stream, marker: str, timeout: float = 120.0) -> str:
    deadline, line = time.monotonic() + timeout, ""
    while marker not in line and time.monotonic() < deadline:
        line = stream.readline()
        if not line and stream.closed:
            break
    assert marker in line, f"never saw {marker!r}"
    return line


def test_sigterm_mid_video_keeps_the_frames_done(long_video: Path, tmp_path: Path) -> None:
    out = tmp_path / "part.npz"
    proc = _cli("video", str(long_video), "--out", str(out), "--no-progress")
    _wait_for(proc.stderr, " fps; camera ")  # printed once the stages are built
    time.sleep(2.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    r = load_result(out)
    assert 0 < len(r) < 1200
    np.testing.assert_array_equal(r["frame_index"], np.arange(len(r)))
    m = r.meta
    assert m["interrupted"] is True and m["stop_reason"] == "SIGTERM" and m["complete"] is False
    assert m["error"] is None


def test_sigterm_on_live_record_keeps_the_whole_recording(video_path: Path, tmp_path: Path) -> None:
    """The recording's periodic save runs every 10 s; a SIGTERM must still write every frame so far."""
    out = tmp_path / "rec.npz"
    proc = _cli("live", "--camera", f"sim:{video_path}", "--no-view", "--record", str(out), "--f35", "50")
    _wait_for(proc.stderr, "recording to")
    deadline = time.monotonic() + 60
    while not out.exists() and time.monotonic() < deadline:  # the first periodic save: one frame
        time.sleep(0.1)
    early = load_result(out)  # a periodic save never looks like a finished recording
    assert early.meta["complete"] is False and early.meta["stop_reason"].startswith("in progress")
    time.sleep(3.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    r = load_result(out)
    assert len(r) > 5, err
    assert r.meta["interrupted"] is True and r.meta["stop_reason"] == "SIGTERM"


def test_a_closed_stdout_stops_images_and_says_so_in_the_result(tmp_path: Path) -> None:
    """``perspose-rt images … | head -1``: the results so far are saved, marked, exit 141."""
    out = tmp_path / "demo"
    proc = _cli("images", str(examples_dir() / "photos"), "--out", str(out), "--no-3d")
    first = proc.stdout.readline()
    assert first.strip(), proc.stderr.read()
    proc.stdout.close()  # what `head -1` does after its line
    err = proc.stderr.read()
    proc.wait(timeout=120)
    assert proc.returncode == 141, err
    assert "Traceback" not in err and "broken pipe" in err
    r = load_result(out / "results.npz")
    assert 1 <= len(r) < 5
    assert r.meta["stop_reason"] == "broken pipe" and r.meta["complete"] is False
    assert r.meta["error"].startswith("BrokenPipeError")


_ATOMIC_CHILD = textwrap.dedent("""
    import sys, time
    from perspose_rt.cli.boundary import run_command
    from perspose_rt.io.atomic import atomic_path

    def work():
        with atomic_path(sys.argv[1]) as tmp:
            tmp.write_bytes(b"half an ONNX graph")
            print("writing", flush=True)
            time.sleep(60)
        return 0

    sys.exit(run_command(work))
""")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_during_an_atomic_write_leaves_no_temporary_file(tmp_path: Path, sig: int, code: int) -> None:
    """What ``build-engine`` stopped by SIGTERM used to leave behind: a partial temporary ONNX file."""
    target = tmp_path / "model.onnx"
    proc = subprocess.Popen([sys.executable, "-c", _ATOMIC_CHILD, str(target)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV, cwd=REPO_ROOT)
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert err.strip() == f"perspose-rt: stopped by {signal.Signals(sig).name}"
    assert list(tmp_path.iterdir()) == []


def test_interrupt_while_loading_says_nothing_was_processed(tmp_path: Path, monkeypatch, capsys) -> None:
    """Ctrl-C in the first seconds of `video` (the models still loading): said plainly, no file."""
    import cv2

    from perspose_rt.cli import main
    from perspose_rt.pipeline import build

    video = tmp_path / "v.avi"
    wr = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    wr.write(np.zeros((48, 64, 3), np.uint8))
    wr.release()

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(build, "build_stages", interrupted)
    out = tmp_path / "o.npz"
    assert main(["video", str(video), "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert "no frame was processed" in err and f"{out} not written" in err
    assert not out.exists()


def test_a_full_disk_names_the_result_file_and_keeps_the_old_one(tmp_path: Path, monkeypatch) -> None:
    from perspose_rt.io import results

    target = tmp_path / "out.npz"
    target.write_bytes(b"the previous result")

    def disk_full(file, **arrays):
        Path(file).write_bytes(b"PK\x03\x04 partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(results.np, "savez_compressed", disk_full)
    with pytest.raises(OSError) as info:
        ResultWriter(17).save(target)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert target.read_bytes() == b"the previous result"
    assert [p.name for p in tmp_path.iterdir()] == ["out.npz"]


def test_stop_metadata_tells_every_way_a_run_ends() -> None:
    from perspose_rt.errors import Interrupted
    from perspose_rt.pipeline.session import stop_metadata

    assert stop_metadata(None) == {"complete": True, "interrupted": False, "stop_reason": "end", "error": None}
    assert stop_metadata(None, "max-frames")["stop_reason"] == "max-frames"
    assert stop_metadata(KeyboardInterrupt())["stop_reason"] == "SIGINT"
    term = stop_metadata(Interrupted(signal.SIGTERM, "SIGTERM"))
    assert term == {"complete": False, "interrupted": True, "stop_reason": "SIGTERM", "error": None}
    failed = stop_metadata(RuntimeError("camera unplugged"))
    assert failed["stop_reason"] == "error" and failed["error"] == "RuntimeError: camera unplugged"
    assert stop_metadata(BrokenPipeError())["stop_reason"] == "broken pipe"


def _tiny_video(path: Path, n: int = 6) -> Path:
    import cv2

    wr = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    for _ in range(n):
        wr.write(np.full((48, 64, 3), 90, np.uint8))
    wr.release()
    return path


def test_a_full_disk_during_video_is_one_line_and_keeps_the_overlay(tmp_path: Path, monkeypatch, capsys) -> None:
    from perspose_rt.cli import main
    from perspose_rt.io import results

    video = _tiny_video(tmp_path / "v.avi")
    out, overlay = tmp_path / "o.npz", tmp_path / "o.mp4"

    def disk_full(file, **arrays):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(results.np, "savez_compressed", disk_full)
    assert main(["video", str(video), "--out", str(out), "--overlay", str(overlay), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"perspose-rt: error: no space left on the device writing {out} (free some space and run again)"
    assert sum(line.startswith("perspose-rt:") for line in err) == 1
    assert not out.exists() and overlay.is_file()  # what could be kept is kept


def test_a_stream_that_fails_is_recorded_with_its_error(tmp_path: Path, monkeypatch, capsys) -> None:
    """A recording that ends because the camera stopped delivering says so in its metadata."""
    from perspose_rt.cli import main
    from perspose_rt.pipeline import live_sources

    def unplugged(*a, **k):
        img = np.full((240, 320, 3), 90, np.uint8)
        return live_sources.SimulatedCamera([img], fps=30.0, disconnect_after=45, retry_s=0.3,
                                            intrinsics=k.get("intrinsics", a[1] if len(a) > 1 else None))

    monkeypatch.setattr(live_sources, "open_live_source", unplugged)
    out = tmp_path / "rec.npz"
    assert main(["live", "--camera", "sim:unplugged", "--no-view", "--record", str(out), "--no-ik"]) == 2
    err = capsys.readouterr().err
    assert "stopped delivering frames" in err
    r = load_result(out)
    assert 1 <= len(r) <= 45  # 1.5 s of frames: the first reaches the file even on a slow start
    assert r.meta["complete"] is False and r.meta["stop_reason"] == "error"
    assert "stopped delivering frames" in r.meta["error"]


def test_a_row_that_fails_half_way_is_not_half_written() -> None:
    """A non-finite value (or a signal) in the middle of a row: the rows before it stay consistent."""
    from perspose_rt.types import PoseResult

    J = 17
    w = ResultWriter(J)
    good = PoseResult(0, 0.0, True, "h36m17", np.zeros(4), np.eye(3), np.zeros((J, 2)), np.ones((J, 3)),
                      np.zeros((J, 3)), np.ones(J))
    w.add(good)
    bad = PoseResult(1, 0.04, True, "h36m17", np.zeros(4), np.eye(3), np.zeros((J, 2)),
                     np.full((J, 3), np.nan), np.zeros((J, 3)), np.ones(J))
    with pytest.raises(ValueError, match="non-finite"):
        w.add(bad)
    assert len(w) == 1
    arrays = w.arrays()
    assert {a.shape[0] for a in arrays.values()} == {1}
