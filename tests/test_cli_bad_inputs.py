"""Every subcommand against a table of bad inputs: one stderr line, exit 2, no traceback, nothing damaged.

Each case runs the command line in-process (``perspose_rt.cli.main``). The checks it hits all come
before the models load (MediaPipe is never started here), so the whole table takes seconds.
``Workspace`` holds the inputs and some earlier outputs; after every case all its regular files
must be byte-identical and no new file may have appeared.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from perspose_rt.cli import main
from perspose_rt.io.results import ResultWriter
from perspose_rt.lifter.weights import DEFAULT_SINGLE


@dataclass
class Workspace:
    root: Path

    def __getattr__(self, name: str) -> Path:
        return self.root / name.replace("__", ".")

    def snapshot(self) -> dict[str, str]:
        out = {}
        for p in sorted(self.root.rglob("*")):
            st = p.lstat()
            if stat.S_ISREG(st.st_mode):  # never open the FIFO
                out[str(p.relative_to(self.root))] = hashlib.sha256(p.read_bytes()).hexdigest()
        return out


def _npz_with_meta(path: Path, meta_text: str) -> None:
    arrays = ResultWriter(17).arrays()
    with open(path, "wb") as fh:
        np.savez(fh, meta=np.array(meta_text), **arrays)


def _opencv_yaml(path: Path, rows: int, cols: int) -> None:
    data = ", ".join(["1."] * (rows * cols))
    path.write_text(f"%YAML:1.0\n---\ncamera_matrix: !!opencv-matrix\n   rows: {rows}\n   cols: {cols}\n"
                    f"   dt: d\n   data: [{data}]\nimage_width: 640\nimage_height: 480\n")


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    import torch

    w = Workspace(tmp_path_factory.mktemp("bad_inputs"))
    # a tiny valid video and a photo
    wr = cv2.VideoWriter(str(w.v__avi), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    for _ in range(2):
        wr.write(np.zeros((48, 64, 3), np.uint8))
    wr.release()
    (w.junk__mp4).write_bytes(os.urandom(4096))
    photos = w.photos
    photos.mkdir()
    cv2.imwrite(str(photos / "a.jpg"), np.zeros((48, 64, 3), np.uint8))
    # earlier outputs that a failing run must leave alone
    (w.prev__npz).write_bytes(b"an earlier result")
    (w.prev__bvh).write_bytes(b"an earlier animation")
    (w.a_dir).mkdir()
    (w.a_file).write_text("a file, not a folder")
    (w.results_dir_out / "results.npz").mkdir(parents=True)
    (w.calibdir / "cam.yaml").mkdir(parents=True)
    (w.out__safetensors).mkdir()  # import-checkpoint's output name taken by a folder
    (w.npz_named_dir__npz).mkdir()
    (w.vid_dir__mp4).mkdir()
    (w.smpl__pkl).write_bytes(b"not read: the output check comes first")
    os.mkfifo(w.fifo__json)
    # corrupt calibration files
    (w.cal_binary__yaml).write_bytes(bytes(range(256)))
    (w.cal_latin1__yaml).write_bytes("name: caf\u00e9\n".encode("latin-1"))
    (w.cal_empty__xml).write_bytes(b"")
    (w.cal_text__xml).write_text("hello, not xml\n")
    (w.cal_trunc__xml).write_text('<?xml version="1.0"?>\n<opencv_storage>\n<camera_matrix type_id="opencv-matrix">'
                                  "<rows>3</rows>")
    (w.cal_trunc__yaml).write_text("%YAML:1.0\n---\ncamera_matrix: !!opencv-matrix\n   rows: 3\n")
    _opencv_yaml(w.cal_2x2__yaml, 2, 2)
    (w.cal_list__yaml).write_text("- 1\n- 2\n")
    (w.cal_badversion__yaml).write_text("format: perspose-rt/camera-profile\nversion: two\n")
    # corrupt lifter weights
    (w.lifter_list__json).write_text("[1, 2, 3]")
    doc = json.loads(DEFAULT_SINGLE.read_text())
    doc["weights"] = "garbage.safetensors"
    (w.lifter_garbage__json).write_text(json.dumps(doc))
    (w.garbage__safetensors).write_bytes(os.urandom(300))
    (w.init_base_text__json).write_text("not json at all")
    # corrupt checkpoints for import-checkpoint
    (w.ckpt_text__pth).write_text("epoch 35, not a checkpoint\n" * 10)
    torch.save({1: torch.zeros(2), 2: torch.ones(2)}, w.ckpt_intkeys__pth)
    # corrupt result files for export-bvh
    (w.res_empty__npz).write_bytes(b"")
    good = w.res_good__npz
    ResultWriter(17, {"joint_format": "h36m17"}).save(good, fps=25.0)
    (w.res_trunc__npz).write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    _npz_with_meta(w.res_metatext__npz, "{not json")
    _npz_with_meta(w.res_metalist__npz, "[1, 2]")
    _npz_with_meta(w.res_metaint__npz, "7")
    _npz_with_meta(w.res_version__npz, json.dumps({"format": "perspose-rt/result", "version": "one"}))
    ResultWriter(17, {"joint_format": "h36m17"}).save(w.res_fps__npz, fps="fast")
    with open(w.res_nometa__npz, "wb") as fh:
        np.savez(fh, x=np.zeros(3))
    return w


V = ["video", "{v.avi}", "--out", "{prev.npz}"]
LIVE = ["live", "--no-view", "--camera", "sim:{v.avi}"]
BVH = ["export-bvh", "{res_good.npz}", "{prev.bvh}"]

#: (id, argv with {names} of workspace files, a phrase the one line must contain)
CASES: list[tuple[str, list[str], str]] = [
    # the command line itself
    ("no-such-command", ["frobnicate"], "invalid choice"),
    ("video-without-out", ["video", "{v.avi}"], "required"),
    # video: inputs
    ("video-missing", ["video", "{missing.mp4}", "--out", "{prev.npz}"], "not found"),
    ("video-junk", ["video", "{junk.mp4}", "--out", "{prev.npz}"], "junk.mp4"),
    # video: outputs
    ("video-out-is-dir", ["video", "{v.avi}", "--out", "{a_dir}"], "directory"),
    ("video-out-under-file", ["video", "{v.avi}", "--out", "{a_file}/o.npz"], "not a folder"),
    ("video-out-readonly", ["video", "{v.avi}", "--out", "/proc/perspose-test/o.npz"], "cannot write"),
    ("video-out-is-input", ["video", "{v.avi}", "--out", "{v.avi}"], "also an input"),
    ("video-overlay-is-input", [*V, "--overlay", "{v.avi}"], "also an input"),
    ("video-overlay-is-out", [*V, "--overlay", "{prev.npz}"], "video file"),
    ("video-overlay-is-dir", [*V, "--overlay", "{a_dir}"], "video file"),
    ("video-overlay-dir-mp4", [*V, "--overlay", "{vid_dir.mp4}"], "directory"),
    ("video-overlay-txt", [*V, "--overlay", "{o.txt}"], "video file"),
    # video: numbers and devices
    ("video-max-frames-neg", [*V, "--max-frames", "-3"], "--max-frames"),
    ("video-max-frames-0", [*V, "--max-frames", "0"], "--max-frames"),
    ("video-max-frames-text", [*V, "--max-frames", "ten"], "--max-frames"),
    ("video-device", [*V, "--device", "banana"], "--device"),
    ("video-confidence", [*V, "--min-detection-confidence", "2"], "--min-detection-confidence"),
    ("video-fov-0", [*V, "--fov", "0"], "--fov"),
    ("video-fov-200", [*V, "--fov", "200"], "--fov"),
    ("video-fov-nan", [*V, "--fov", "nan"], "--fov"),
    ("video-f35-neg", [*V, "--f35", "-5"], "--f35"),
    ("video-fov-and-f35", [*V, "--fov", "60", "--f35", "50"], "either"),
    # video: calibration files
    ("calib-missing", [*V, "--calib", "{missing.yaml}"], "not found"),
    ("calib-dir", [*V, "--calib", "{a_dir}"], "directory"),
    ("calib-fifo", [*V, "--calib", "{fifo.json}"], "not a regular file"),
    ("calib-binary", [*V, "--calib", "{cal_binary.yaml}"], "binary"),
    ("calib-latin1", [*V, "--calib", "{cal_latin1.yaml}"], "not utf-8"),
    ("calib-empty", [*V, "--calib", "{cal_empty.xml}"], "empty"),
    ("calib-not-xml", [*V, "--calib", "{cal_text.xml}"], "cannot parse"),
    ("calib-truncated-xml", [*V, "--calib", "{cal_trunc.xml}"], "cannot parse"),
    ("calib-truncated-yaml", [*V, "--calib", "{cal_trunc.yaml}"], "cannot parse"),
    ("calib-2x2", [*V, "--calib", "{cal_2x2.yaml}"], "3x3"),
    ("calib-list", [*V, "--calib", "{cal_list.yaml}"], "not a perspose-rt camera profile"),
    ("calib-version-text", [*V, "--calib", "{cal_badversion.yaml}"], "version"),
    # video: lifter weights
    ("lifter-missing", [*V, "--lifter-weights", "{missing.json}"], "not found"),
    ("lifter-json-list", [*V, "--lifter-weights", "{lifter_list.json}"], "not an object"),
    ("lifter-garbage-safetensors", [*V, "--lifter-weights", "{lifter_garbage.json}"], "not a usable"),
    ("lifter-fifo", [*V, "--lifter-weights", "{fifo.json}"], "not a regular file"),
    ("perspose-device", [*V, "--estimator", "perspose", "--device", "cuda:x"], "--device"),
    ("perspose-no-weights", [*V, "--estimator", "perspose"], "needs --weights"),
    ("perspose-weights-missing", [*V, "--estimator", "perspose", "--weights", "{missing.onnx}"], "not found"),
    ("rigid-no-ik", [*V, "--rigid", "--no-ik"], "--rigid"),
    ("images-rigid", ["images", "{photos}", "--out", "{out_images}", "--rigid"], "--rigid"),
    # images
    ("images-missing", ["images", "{missing_dir}", "--out", "{out_images}"], "not found"),
    ("images-out-is-file", ["images", "{photos}", "--out", "{a_file}"], "existing file"),
    ("images-results-is-dir", ["images", "{photos}", "--out", "{results_dir_out}"], "directory"),
    ("images-calib-corrupt", ["images", "{photos}", "--out", "{out_images}", "--calib", "{cal_2x2.yaml}"], "3x3"),
    # live
    ("live-fps-neg", [*LIVE, "--fps", "-5"], "--fps"),
    ("live-fps-nan", [*LIVE, "--fps", "nan"], "--fps"),
    ("live-fps-0", [*LIVE, "--fps", "0"], "--fps"),
    ("live-resolution-640", [*LIVE, "--resolution", "640"], "--resolution"),
    ("live-resolution-0x0", [*LIVE, "--resolution", "0x0"], "--resolution"),
    ("live-retry-neg", [*LIVE, "--retry", "-1"], "--retry"),
    ("live-duration-0", [*LIVE, "--duration", "0"], "--duration"),
    ("live-record-dir", [*LIVE, "--record", "{a_dir}"], "directory"),
    ("live-record-input", [*LIVE, "--record", "{cal_2x2.yaml}", "--calib", "{cal_2x2.yaml}"], "also an input"),
    ("live-out-dir-file", [*LIVE, "--out-dir", "{a_file}"], "not a folder"),
    # camera
    ("camera-resolution", ["camera", "--resolution", "640"], "--resolution"),
    ("camera-save-dir", ["camera", "--resolution", "640x480", "--fov", "60", "--save", "{a_dir}"], "directory"),
    ("camera-photo-missing", ["camera", "{missing.jpg}"], "not found"),
    ("camera-photo-not-image", ["camera", "{cal_text.xml}"], "cannot read image"),
    # calibrate
    ("calibrate-pattern-dir", ["calibrate", "--write-pattern", "{a_dir}"], "directory"),
    ("calibrate-force-dir", ["calibrate", "--fov", "60", "--resolution", "640x480", "--name", "cam",
                             "--calib-dir", "{calibdir}", "--force"], "directory"),
    ("calibrate-rows", ["calibrate", "--rows", "0", "--write-pattern", "{p.pdf}"], "--rows"),
    ("calibrate-resolution", ["calibrate", "--fov", "60", "--resolution", "0x0"], "--resolution"),
    ("calibrate-dpi", ["calibrate", "--dpi", "0", "--write-pattern", "{p.pdf}"], "--dpi"),
    ("calibrate-images-missing", ["calibrate", "--images", "{missing_dir}", "--calib-dir", "{cal_out}"],
     "missing_dir"),
    # train-lifter / eval-lifter
    ("train-out-is-file", ["train-lifter", "--out", "{a_file}"], "existing file"),
    ("train-threads-0", ["train-lifter", "--out", "{run}", "--threads", "0"], "--threads"),
    ("train-steps-0", ["train-lifter", "--out", "{run}", "--steps", "0"], "--steps"),
    ("train-batch-1", ["train-lifter", "--out", "{run}", "--batch", "1"], "--batch"),
    ("train-p-real", ["train-lifter", "--out", "{run}", "--p-real", "1.5"], "--p-real"),
    ("train-init-base-missing", ["train-lifter", "--out", "{run}", "--kind", "temporal",
                                 "--init-base", "{missing.json}"], "not found"),
    ("train-init-base-text", ["train-lifter", "--out", "{run}", "--kind", "temporal",
                              "--init-base", "{init_base_text.json}"], "not a lifter json"),
    ("train-init-base-fifo", ["train-lifter", "--out", "{run}", "--kind", "temporal",
                              "--init-base", "{fifo.json}"], "not a regular file"),
    ("eval-max-frames-0", ["eval-lifter", "--max-frames", "0"], "--max-frames"),
    ("eval-threads-0", ["eval-lifter", "--threads", "0"], "--threads"),
    ("eval-json-dir", ["eval-lifter", "--json", "{a_dir}"], "directory"),
    ("eval-json-is-weights", ["eval-lifter", "--weights", "a={lifter_list.json}", "--json", "{lifter_list.json}"],
     "also an input"),
    ("eval-weights-malformed", ["eval-lifter", "--weights", "nothing", "--json", "{e.json}"], "NAME=path"),
    # import-checkpoint / build-engine
    ("import-missing", ["import-checkpoint", "{missing.pth}", "{w0}"], "not found"),
    ("import-text", ["import-checkpoint", "{ckpt_text.pth}", "{w1}"], "cannot read"),
    ("import-int-keys", ["import-checkpoint", "{ckpt_intkeys.pth}", "{w2}"], "not parameter names"),
    ("import-out-dir", ["import-checkpoint", "{ckpt_text.pth}", "{out}", "--force"], "directory"),
    ("import-fifo", ["import-checkpoint", "{fifo.json}", "{w3}"], "not a regular file"),
    ("engine-out-is-file", ["build-engine", "--weights", "{w}", "--out", "{a_file}"], "existing file"),
    ("engine-max-batch-0", ["build-engine", "--weights", "{w}", "--out", "{eng}", "--max-batch", "0"], "--max-batch"),
    ("engine-weights-missing", ["build-engine", "--weights", "{missing}", "--out", "{eng}"], "not found"),
    # bench
    ("bench-no-kind", ["bench"], "required"),
    ("bench-lifter-frames-0", ["bench", "lifter", "--frames", "0"], "--frames"),
    ("bench-ik-frames-0", ["bench", "ik", "--frames", "0"], "--frames"),
    ("bench-ik-batch-0", ["bench", "ik", "--batch", "0"], "--batch"),
    ("bench-calib-frames-0", ["bench", "calib", "--frames", "0"], "--frames"),
    ("bench-model-device", ["bench", "model", "--device", "banana"], "--device"),
    ("bench-pipeline-repeats", ["bench", "pipeline", "--repeats", "-1"], "--repeats"),
    # export-bvh
    ("bvh-missing", ["export-bvh", "{missing.npz}", "{prev.bvh}"], "not found"),
    ("bvh-result-dir", ["export-bvh", "{a_dir}", "{prev.bvh}"], "directory"),
    ("bvh-result-fifo", ["export-bvh", "{fifo.json}", "{prev.bvh}"], "not a regular file"),
    ("bvh-empty", ["export-bvh", "{res_empty.npz}", "{prev.bvh}"], "empty file"),
    ("bvh-truncated", ["export-bvh", "{res_trunc.npz}", "{prev.bvh}"], "not a readable .npz"),
    ("bvh-meta-not-json", ["export-bvh", "{res_metatext.npz}", "{prev.bvh}"], "not json"),
    ("bvh-meta-list", ["export-bvh", "{res_metalist.npz}", "{prev.bvh}"], "json list"),
    ("bvh-meta-int", ["export-bvh", "{res_metaint.npz}", "{prev.bvh}"], "json int"),
    ("bvh-version-text", ["export-bvh", "{res_version.npz}", "{prev.bvh}"], "version"),
    ("bvh-fps-text", ["export-bvh", "{res_fps.npz}", "{prev.bvh}"], "fps"),
    ("bvh-no-meta", ["export-bvh", "{res_nometa.npz}", "{prev.bvh}"], "no metadata"),
    ("bvh-not-npz", ["export-bvh", "{cal_text.xml}", "{prev.bvh}"], "not a readable .npz"),
    ("bvh-out-dir", ["export-bvh", "{res_good.npz}", "{a_dir}"], "directory"),
    ("bvh-out-is-input", ["export-bvh", "{res_good.npz}", "{res_good.npz}"], "also an input"),
    ("bvh-fps-0", [*BVH, "--fps", "0"], "--fps"),
    # convert-smpl
    ("smpl-missing", ["convert-smpl", "{missing.pkl}"], "does not exist"),
    ("smpl-out-dir", ["convert-smpl", "{smpl.pkl}", "-o", "{npz_named_dir.npz}"], "directory"),
]


@contextlib.contextmanager
def _log_to_stderr():
    """Warnings logged during the run reach stderr, as they do for the console script, so that a
    warning printed before the error counts as a second line."""
    import logging
    import sys

    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


def _argv(template: list[str], ws: Workspace) -> list[str]:
    out = []
    for t in template:
        while "{" in t:
            i, j = t.index("{"), t.index("}")
            t = t[:i] + str(ws.root / t[i + 1:j]) + t[j + 1:]
        out.append(t)
    return out


@pytest.mark.parametrize(("argv", "phrase"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_exit_2(ws: Workspace, argv: list[str], phrase: str, capsys,
                                          monkeypatch) -> None:
    monkeypatch.delenv("PERSPOSE_DEBUG", raising=False)
    before = ws.snapshot()
    with _log_to_stderr():  # as the console script does (pytest captures log records otherwise)
        code = main(_argv(argv, ws))
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert code == 2, cap.err
    assert len(lines) == 1 and lines[0].startswith("perspose-rt: error: "), cap.err
    assert "Traceback" not in cap.err + cap.out
    assert phrase.lower() in lines[0].lower(), lines[0]
    assert ws.snapshot() == before, "a failing run changed or created a file"


def test_case_ids_are_unique() -> None:
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))


# ---------------------------------------------------------------------------- the boundary itself
def _run_boundary(fn: Callable[[], int], debug: bool = False) -> int:
    from perspose_rt.cli.boundary import run_command

    return run_command(fn, debug=debug)


def test_a_bug_is_one_line_without_debug_and_a_traceback_with_it(capsys) -> None:
    def bug() -> int:
        return {}["missing"]

    assert _run_boundary(bug) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "internal error: KeyError" in err[0] and "--debug" in err[0]
    with pytest.raises(KeyError):
        _run_boundary(bug, debug=True)


def test_full_disk_names_the_file(capsys) -> None:
    import errno

    def full() -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/data/out.npz")

    assert _run_boundary(full) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [("perspose-rt: error: no space left on the device writing /data/out.npz "
                   "(free some space and run again)")]


def test_an_os_error_inside_a_stage_is_one_line(capsys) -> None:
    from perspose_rt.pipeline.runner import PipelineError

    def stage_fails() -> int:
        try:
            raise PermissionError(13, "Permission denied", "/models/x.bin")
        except PermissionError as exc:
            raise PipelineError("detect", exc) from exc

    assert _run_boundary(stage_fails) == 2
    assert capsys.readouterr().err.strip() == "perspose-rt: error: Permission denied: /models/x.bin"


def test_broken_pipe_is_quiet(capsys) -> None:
    def pipe_closed() -> int:
        raise BrokenPipeError(32, "Broken pipe")

    assert _run_boundary(pipe_closed) == 141
    assert capsys.readouterr().err.strip().splitlines() == ["perspose-rt: stdout was closed (broken pipe); stopped"]


def test_debug_flag_is_accepted(capsys) -> None:
    assert main(["--debug", "camera", "--resolution", "640x480", "--fov", "60"]) == 0


def test_a_cuda_device_that_is_not_there_is_one_line(ws: Workspace, capsys) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is visible here")
    with _log_to_stderr():
        code = main(_argv([*V, "--estimator", "perspose", "--weights", "{res_good.npz}", "--device", "cuda:0"],
                          ws))
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and lines == [("perspose-rt: error: --device cuda:0: no CUDA GPU is visible to PyTorch "
                                   "(use --device cpu)")]


def test_a_corrupt_resumable_checkpoint_is_one_line(h36m_dir: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(os.urandom(1000))
    code = main(["train-lifter", "--data", str(h36m_dir), "--out", str(run), "--steps", "2", "--batch", "4",
                 "--no-progress"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2, lines
    assert len(lines) == 1 and "checkpoint.pt cannot be resumed" in lines[0] and "delete it" in lines[0]


def test_a_missing_camera_is_one_line_even_from_opencv() -> None:
    """OpenCV prints its own warnings from C++ (not captured in-process): the console script keeps
    them for -v, so a camera that is not there is still one line."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OPENCV_LOG_LEVEL"}
    r = subprocess.run([sys.executable, "-m", "perspose_rt", "live", "--camera", "99", "--no-view", "--retry", "0"],
                       check=False, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "perspose-rt: error: cannot open camera 99 (is it connected, and not used by another program?)"]
