"""``perspose-rt bench startup``: start-up and whole-process throughput against MediaPipe alone.

What a user times with a stopwatch: each command runs as its own process, start-up included.

* **Start-up:** ``python -c pass``; ``perspose-rt --help``; importing MediaPipe's pose solution;
  MediaPipe alone on one frame; ``perspose-rt video --max-frames 1`` (imports, models, first
  result, result file).
* **Throughput:** ``perspose-rt video IN --out OUT.npz`` (the default lifter pipeline: MediaPipe
  BlazePose + lifter + Kalman + IK with the fitted skeleton) against a 15-line script running
  MediaPipe's pose solution alone on the same 640×480 video (decode + BlazePose, nothing
  written), frames / wall-clock seconds of the whole process.

Runs alternate (peer, ours, peer, ours, …) so a change in the machine's load hits both; the table
gives the median of the repeats, each process's CPU time (user + system, from the OS) and the load
average before and after, because the development machine is shared. CPU per frame (the
process's CPU minus its one-frame run's, over the other frames) is the column that other jobs on
the machine disturb least: it is the work each frame costs, whatever the wall clock did.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from perspose_rt.paths import shared_data_dir

HELP = "start-up time and whole-process throughput of `perspose-rt video` vs MediaPipe alone (same video)"

#: the peer: MediaPipe's pose solution alone, as a user would script it (decode + BlazePose)
PEER_SCRIPT = """
import sys, cv2
from mediapipe.python.solutions import pose as mp_pose
cap = cv2.VideoCapture(sys.argv[1])
limit = int(sys.argv[2])
pose = mp_pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=True,
                    enable_segmentation=False)
n = 0
while n < limit:
    ok, frame = cap.read()
    if not ok:
        break
    pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    n += 1
pose.close()
print(n)
"""
_OURS = "import sys; from perspose_rt.cli import main; sys.exit(main())"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--video", type=Path, default=shared_data_dir() / "videos" / "figure_skating_720p25.mp4",
                        help="source video, centre-cropped to 4:3 and resized to 640x480 (default: %(default)s)")
    parser.add_argument("--frames", type=int, default=750, help="frames per throughput run (default 750)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each (median reported)")
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="another checkout of perspose-rt (e.g. `git archive OLD | tar -x -C DIR`): its "
                             "`video --max-frames 1` is timed too, with PYTHONPATH=DIR, for a before/after row")
    parser.add_argument("--no-report", action="store_true", help="do not update docs/BENCHMARKS.md")


def make_video(src: Path, dst: Path, frames: int) -> int:
    """``frames`` frames of ``src`` at 640×480, played forwards then backwards as often as needed."""
    import cv2

    from perspose_rt.bench.pipeline import to_640x480
    from perspose_rt.pipeline.live_sources import decode_frames

    clip = [to_640x480(f) for f in decode_frames(src, 10_000)]
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    cap.release()
    out = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 480))
    loop = clip + clip[-2:0:-1] if len(clip) > 2 else clip
    for i in range(frames):
        out.write(loop[i % len(loop)])
    out.release()
    return frames


def timed(cmd: list[str], env: dict[str, str], cwd: str | Path) -> tuple[float, float, str]:
    """(wall s, CPU s of the child and its children, stdout) of one process; fails loudly.

    ``cwd`` must not hold a ``perspose_rt`` folder: ``python -c`` puts the working directory first
    on ``sys.path``, which would shadow ``--baseline``.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} … failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def run(args: argparse.Namespace) -> int:
    from perspose_rt.bench.report import markdown_table, write_section
    from perspose_rt.errors import InputError

    if not args.video.is_file():
        raise InputError(f"video not found: {args.video} (pass --video; the default lives in ../shared/data)")
    py = sys.executable
    env = {k: v for k, v in os.environ.items() if k != "PERSPOSE_RT_VERBOSE"}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="perspose-bench-") as tmp:
        video = Path(tmp) / "input_640x480.mp4"
        n = make_video(args.video, video, args.frames)
        out = str(Path(tmp) / "out.npz")
        startup_cmds = {
            "`python -c pass` (interpreter alone)": [py, "-c", "pass"],
            "`perspose-rt --help`": [py, "-c", _OURS, "--help"],
            "`import mediapipe.python.solutions.pose`": [py, "-c", "import mediapipe.python.solutions.pose"],
            "MediaPipe alone, 1 frame": [py, "-c", PEER_SCRIPT, str(video), "1"],
            "`perspose-rt video --max-frames 1`": [py, "-c", _OURS, "video", str(video), "--out", out,
                                                   "--max-frames", "1", "--no-progress"],
        }
        envs = {name: env for name in startup_cmds}
        if args.baseline is not None:
            if not (args.baseline / "perspose_rt" / "__init__.py").is_file():
                raise InputError(f"--baseline {args.baseline} holds no perspose_rt package")
            name = f"`perspose-rt video --max-frames 1` at baseline `{args.baseline.name}`"
            startup_cmds[name] = startup_cmds["`perspose-rt video --max-frames 1`"]
            envs[name] = {**env, "PYTHONPATH": str(args.baseline.resolve())}
        startup: dict[str, list[tuple[float, float]]] = {k: [] for k in startup_cmds}
        through: dict[str, list[tuple[float, float]]] = {"MediaPipe alone": [], "perspose-rt video": []}
        for r in range(args.repeats):
            for name, cmd in startup_cmds.items():
                wall, cpu, _ = timed(cmd, envs[name], tmp)
                startup[name].append((wall, cpu))
            wall, cpu, stdout = timed([py, "-c", PEER_SCRIPT, str(video), str(n)], env, tmp)
            if int(stdout.strip().splitlines()[-1]) != n:
                raise RuntimeError(f"the MediaPipe script read {stdout.strip()} frames, not {n}")
            through["MediaPipe alone"].append((wall, cpu))
            wall, cpu, _ = timed([py, "-c", _OURS, "video", str(video), "--out", out, "--no-progress"], env, tmp)
            through["perspose-rt video"].append((wall, cpu))
            mp, ours = through["MediaPipe alone"][-1][0], through["perspose-rt video"][-1][0]
            print(f"run {r + 1}/{args.repeats}: MediaPipe alone {n / mp:.1f} fps, perspose-rt video "
                  f"{n / ours:.1f} fps ({mp / ours:.3f}x)", file=sys.stderr)
    load_after = os.getloadavg()

    def med(xs: list[tuple[float, float]], i: int) -> float:
        return statistics.median(x[i] for x in xs)

    srows = [[name, f"{med(v, 0):.2f}", f"{min(x[0] for x in v):.2f}", f"{med(v, 1):.2f}"]
             for name, v in startup.items()]
    mp_fps = [n / w for w, _ in through["MediaPipe alone"]]
    our_fps = [n / w for w, _ in through["perspose-rt video"]]
    ratios = [o / m for o, m in zip(our_fps, mp_fps, strict=True)]
    one_frame = {"MediaPipe alone": "MediaPipe alone, 1 frame",
                 "perspose-rt video": "`perspose-rt video --max-frames 1`"}
    per_frame = {name: (med(v, 1) - med(startup[one_frame[name]], 1)) / max(n - 1, 1) * 1000.0
                 for name, v in through.items()}
    trows = [[name, f"{med(v, 0):.2f}", f"{n / med(v, 0):.1f}", f"{med(v, 1):.1f}", f"{per_frame[name]:.1f}",
              ", ".join(f"{n / w:.1f}" for w, _ in v)] for name, v in through.items()]
    cpu_ratio = per_frame["perspose-rt video"] / per_frame["MediaPipe alone"]
    ratio = statistics.median(ratios)
    body = (
        f"Input: {n} frames at 640×480 made from `{args.video.name}` (centre crop to 4:3, played forwards "
        f"and backwards), {args.repeats} alternating runs of each command; every command is a fresh process "
        "and its time includes start-up. Load average (1/5/15 min) before "
        f"{load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f}, after "
        f"{load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f} (the machine is shared).\n\n"
        "Start-up (seconds, wall clock; CPU = user + system of the process):\n\n"
        + markdown_table(["command", "wall median s", "wall min s", "CPU median s"], srows)
        + "\nWhole process, start-up included (the peer is MediaPipe's pose solution alone in a 15-line "
        "script: decode + BlazePose, nothing written; ours adds the lifter, Kalman smoothing, IK and the "
        "result file):\n\n"
        + markdown_table(["command", "wall median s", "fps (median run)", "CPU median s",
                          "CPU ms / frame after the first", "fps of each run"], trows)
        + f"\nperspose-rt / MediaPipe alone, per alternating pair: {', '.join(f'{x:.3f}' for x in ratios)}; "
        f"median **{ratio:.3f}×** (target ≥ 0.95×). CPU per frame: {cpu_ratio:.2f}× MediaPipe alone's "
        f"(median CPU of the {n}-frame run minus that of the 1-frame run, over the other frames).\n"
    )
    print(body)
    if not args.no_report:
        path = write_section("startup", "Start-up and whole-process throughput vs MediaPipe alone", body)
        print(f"updated {path}", file=sys.stderr)
    return 0
