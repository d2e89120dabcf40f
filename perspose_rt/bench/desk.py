"""``perspose-rt bench desk``: the desk camera, end to end.

1. **live on the desk view** — runs ``perspose-rt live --camera sim:VIDEO --sim-view upper-body
   --no-view --record …`` (a separate process, exactly as a user types it) for one loop of the
   clip at ``--fps``, and the same on the full frames (``sim:VIDEO`` alone) as the reference;
   scores both recordings (:mod:`perspose_rt.bench.desk_scores`): upper-body jitter, arm bone
   lengths, the legs' ``joint_in_view`` and their jumps relative to the pelvis; and reports the
   live latency p50/p95 and drops;
2. **every frame** — the same scores with the frames fed as a file (nothing dropped: independent
   of the machine's load; the numbers to compare lifters with), desk view and full frames;
3. **throughput** — on the same desk frames, decoded and cut into memory first: MediaPipe pose
   alone next to the default pipeline (as ``bench pipeline`` does), best of ``--repeats``.

``--result NPZ`` only scores a recording made before (e.g. with other lifter weights). Rerun the
whole with ``--lifter-weights W`` to measure another lifter.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from perspose_rt.bench.desk_scores import HEADER, result_scores, score_row
from perspose_rt.bench.report import markdown_table, write_section
from perspose_rt.cli.validate import positive_float, positive_int
from perspose_rt.paths import shared_data_dir

HELP = "desk camera: live on the upper-body view of a video (jitter, arm lengths, unseen legs, latency) and fps vs MediaPipe"

MAX_DECODE = 300  # what SimulatedCamera keeps in memory: one loop is at most this many frames


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--video", type=Path, default=shared_data_dir() / "videos" / "figure_skating_720p25.mp4")
    parser.add_argument("--fps", type=positive_float, default=25.0, help="simulated camera rate (default 25)")
    parser.add_argument("--repeats", type=positive_int, default=2, help="alternating throughput runs (best kept)")
    parser.add_argument("--lifter-weights", type=Path, help="a lifter from train-lifter instead of the shipped one")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where the live recordings go (default: perspose-desk in the temp folder)")
    parser.add_argument("--result", type=Path, metavar="NPZ", help="only score this recording (no runs)")
    parser.add_argument("--loop", type=positive_int, metavar="N",
                        help="with --result: score only frames 0..N-1 (one loop of a simulated camera that "
                             "played N frames; a loop's restart would count as a jump)")
    parser.add_argument("--no-full", action="store_true", help="skip the full-frame reference runs")
    parser.add_argument("--no-live", action="store_true", help="skip the live runs (every-frame scores only)")
    parser.add_argument("--no-throughput", action="store_true", help="skip MediaPipe alone vs the pipeline")
    parser.add_argument("--no-report", action="store_true", help="do not update docs/BENCHMARKS.md")


def live_command(video: Path, record: Path, fps: float, seconds: float, view: str | None,
                 lifter_weights: Path | None, extra: tuple[str, ...] = ()) -> list[str]:
    """The ``perspose-rt live`` command line of one headless run."""
    cmd = ["perspose-rt", "live", "--camera", f"sim:{video}", "--no-view", "--fps", f"{fps:g}",
           "--duration", f"{seconds:.2f}", "--record", str(record)]
    if view:
        cmd += ["--sim-view", view]
    cmd += list(extra)
    if lifter_weights is not None:
        cmd += ["--lifter-weights", str(lifter_weights)]
    return cmd


def run_live(cmd: list[str]) -> None:
    """Run it as its own process (``python -m perspose_rt``); a failure is an error naming it."""
    print("$ " + " ".join(shlex.quote(c) for c in cmd), file=sys.stderr)
    proc = subprocess.run([sys.executable, "-m", "perspose_rt", *cmd[1:]], check=False, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no message)"]
        raise RuntimeError(f"live run failed with exit {proc.returncode}: {tail[0]}")


def throughput(frames, cameras, repeats: int, lifter_weights: Path | None) -> list[list[str]]:
    """MediaPipe alone vs the pipeline (with and without the extended search) on the desk frames,
    alternating, best of ``repeats`` each: one row per pipeline."""
    from perspose_rt.bench.pipeline import mediapipe_alone, pipeline_run

    best_mp = None
    best: dict[bool, tuple] = {}
    for _ in range(repeats):
        fps_mp, st_mp = mediapipe_alone(frames)
        if best_mp is None or fps_mp > best_mp[0]:
            best_mp = (fps_mp, st_mp)
        for search in (True, False):
            run_ = pipeline_run(frames, cameras[0], cameras=cameras, lifter_weights=lifter_weights,
                                extended_search=search)
            if search not in best or run_[2] > best[search][2]:
                best[search] = run_
    rows = []
    for search, (stats, n_valid, fps_pipe) in best.items():
        s = stats.summary()
        lat = s["latency_ms"]
        name = f"{frames[0].shape[1]}x{frames[0].shape[0]} desk view" + ("" if search else ", no extended search")
        print(f"{name}: MediaPipe alone {best_mp[0]:.1f} fps, pipeline {fps_pipe:.1f} fps", file=sys.stderr)
        rows.append([name, f"{best_mp[0]:.1f}", f"{best_mp[1].p50:.1f} / {best_mp[1].p95:.1f}", f"{fps_pipe:.1f}",
                     f"{fps_pipe / best_mp[0]:.2f}", f"{lat['p50']:.1f} / {lat['p95']:.1f}",
                     f"{s['stages_ms']['detect']['p50']:.1f} / {s['stages_ms']['detect']['p95']:.1f}",
                     f"{n_valid}/{s['frames_out']}"])
    return rows


def every_frame_scores(frames, cameras, lifter_weights: Path | None) -> dict:
    """``{"final": …, "raw": …}`` scores of the default pipeline on every frame (a file source:
    nothing dropped, so the numbers do not depend on the machine's load)."""
    from perspose_rt.bench.desk_scores import desk_scores
    from perspose_rt.bench.pipeline import pipeline_run
    from perspose_rt.io.results import joints_in_view

    n = len(frames)
    final, raw = np.zeros((n, 17, 3)), np.zeros((n, 17, 3))
    ok, seen, conf = np.zeros(n, bool), np.zeros((n, 17), bool), np.zeros((n, 17))

    def collect(p) -> None:
        if p.people:
            i, q = p.frame.index, p.people[0]
            final[i], raw[i], conf[i] = q.pose.joints_cam, q.joints_cam_raw, q.pose.confidence
            seen[i] = joints_in_view(q.pose.confidence, q.pose.joints_2d, p.frame.camera.resolution)
            ok[i] = True

    pipeline_run(frames, cameras[0], cameras=cameras, on_result=collect, lifter_weights=lifter_weights)
    fi = np.arange(n)
    return {"final": desk_scores(final, fi, ok, seen, conf), "raw": desk_scores(raw, fi, ok, seen, conf)}


def run(args: argparse.Namespace) -> int:
    from perspose_rt.io.results import load_result

    if args.result is not None:
        r = load_result(args.result)
        rows = [score_row(args.result.name, k, s) for k, s in result_scores(r, max_frame_index=args.loop).items()]
        print(markdown_table(HEADER, rows))
        return 0
    from perspose_rt.pipeline.live_sources import decode_frames

    full = decode_frames(args.video, MAX_DECODE)
    n = len(full)
    seconds = n / args.fps + 1.0  # one loop; rows of the next loop are left out of the scores
    out = args.out or Path(tempfile.gettempdir()) / "perspose-desk"
    runs = [("desk", "upper-body", out / "desk.npz", ()),
            ("desk, no extended search", "upper-body", out / "desk_no_search.npz", ("--no-extended-search",))]
    if args.no_live:
        runs = []
    else:
        out.mkdir(parents=True, exist_ok=True)
    if runs and not args.no_full:
        runs.append(("full frame (reference)", None, out / "full.npz", ()))
    score_rows, live_rows, commands = [], [], []
    for name, view, path, extra in runs:
        cmd = live_command(args.video, path, args.fps, seconds, view, args.lifter_weights, extra)
        run_live(cmd)
        commands.append(" ".join(shlex.quote(c) for c in cmd))
        r = load_result(path)
        for k, s in result_scores(r, max_frame_index=n).items():
            score_rows.append(score_row(name, k, s))
        t = r.meta["timings"]
        lat = t["latency_ms"]
        live_rows.append([name, f"{t['throughput_fps']:.1f}", f"{lat['p50']:.1f} / {lat['p95']:.1f}",
                          f"{t['dropped']} / {t['frames_in']}"])
    body = [(f"Video: `{args.video.name}` ({n} frames); the desk view cuts each frame to the person's upper "
            "body (`--sim-view upper-body`: bottom edge at the hips, 640×480, intrinsics following the crop). "
            f"Lifter: {args.lifter_weights or 'the shipped one'}.\n")]
    if runs:
        body += [f"Live runs on a simulated {args.fps:g} fps camera (`live --camera sim:VIDEO`), each its own "
                 "process:\n\n" + "\n".join(f"    {c}" for c in commands) + "\n",
                 "Live (newest frame only; latency from capture to result):\n\n"
                 + markdown_table(["run", "results fps", "latency p50 / p95 ms", "dropped / frames in"], live_rows),
                 "Scores over one loop of the clip (frames consecutive to their neighbours only; `final` = "
            "`joints_cam`, smoothed with the fitted skeleton; `raw` = the lifter's `joints_cam_raw`). "
                 "Jitter is the second difference of the shoulders, elbows and wrists, in camera space "
                 "(with the depth) and relative to the pelvis; legs = knees and ankles:\n\n"
                 + markdown_table(HEADER, score_rows)]
    from perspose_rt.camera import CameraModel
    from perspose_rt.pipeline.sim_crop import cut_clip

    full_cam = CameraModel.default(full[0].shape[1::-1], warn=False)
    clip = cut_clip(full, full_cam, "upper-body")
    every = [("desk", every_frame_scores(clip.images, clip.cameras, args.lifter_weights))]
    if not args.no_full:
        every.append(("full frame (reference)", every_frame_scores(full, [full_cam] * n, args.lifter_weights)))
    body.append(f"The same scores on **every frame** ({n}), the frames cut into memory and fed as a file "
                "(nothing dropped: these do not depend on the machine's load; compare lifters with these):\n\n"
                + markdown_table(HEADER, [score_row(name, k, s) for name, sc in every for k, s in sc.items()]))
    if not args.no_throughput:
        rows = throughput(clip.images, clip.cameras, args.repeats, args.lifter_weights)
        body.append("Throughput on the same desk frames, cut into memory first (a file source: nothing "
                    f"dropped), best of {args.repeats}:\n\n" + markdown_table(
                        ["frames", "MediaPipe alone fps", "MediaPipe p50 / p95 ms", "pipeline fps",
                         "pipeline / MediaPipe", "latency p50 / p95 ms", "detect stage p50 / p95 ms",
                         "frames with a person"], rows))
    text = "\n".join(body)
    print(text)
    if runs:
        print(f"recordings in {out}", file=sys.stderr)
    if not args.no_report:
        path = write_section("desk", "Desk camera (upper-body view) with the lifter", text)
        print(f"updated {path}", file=sys.stderr)
    return 0
