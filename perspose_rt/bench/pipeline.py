"""``perspose-rt bench pipeline --video …``: the real-time pipeline next to MediaPipe pose alone.

For the video at its own resolution and at 640×480 (centre-cropped to 4:3 and resized), with
the frames decoded into memory first so that decoding is not measured:

1. **MediaPipe alone** — ``BlazePoseDetector.detect`` on every frame in a loop (the peer);
2. **pipeline** — the default estimator's threaded pipeline (detect → lift → smooth → IK) on the
   same frames: throughput, per-stage p50/p95, and its ratio to MediaPipe alone.

The two are run alternately ``--repeats`` times and the best run of each is reported (the CPU is
shared; the best run is the least disturbed). Then a **simulated 30 fps camera** feeds the live
pipeline for ``--live-seconds`` (end-to-end latency p50/p95, drops), and a **memory** run pushes
``--memory-frames`` frames through the pipeline, sampling the resident set size.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import numpy as np

from perspose_rt.bench.report import Stats, markdown_table, write_section
from perspose_rt.cli.validate import nonnegative_int, positive_float, positive_int
from perspose_rt.paths import shared_data_dir

HELP = "pipeline throughput, per-stage timing, live latency and memory, next to MediaPipe alone"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--video", type=Path,
                        default=shared_data_dir() / "videos" / "figure_skating_720p25.mp4")
    parser.add_argument("--frames", type=positive_int, default=200, help="frames decoded and processed per run")
    parser.add_argument("--repeats", type=positive_int, default=2, help="alternating runs of each (best kept)")
    parser.add_argument("--live-seconds", type=positive_float, default=20.0, help="simulated-camera run length")
    parser.add_argument("--memory-frames", type=nonnegative_int, default=10000, help="frames of the memory run (0: skip)")
    parser.add_argument("--lifter-weights", type=Path, help="a lifter from train-lifter instead of the shipped one")
    parser.add_argument("--no-report", action="store_true", help="do not update docs/BENCHMARKS.md")
    parser.add_argument("--people", metavar="N,N,…",
                        help="instead: the multi-person run, e.g. 1,2,4 people tiled into 640x480 frames, "
                             "next to MediaPipe Tasks alone at the same num_poses (perspose_rt/bench/people.py)")


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size in MiB (Linux /proc)."""
    cur = peak = 0.0
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return cur, peak


def to_640x480(img: np.ndarray) -> np.ndarray:
    """Centre-crop to 4:3 and resize to 640×480 (what a 640×480 webcam of the same scene sees)."""
    import cv2

    h, w = img.shape[:2]
    cw = min(w, h * 4 // 3)
    x0 = (w - cw) // 2
    return cv2.resize(img[:, x0:x0 + cw], (640, 480), interpolation=cv2.INTER_AREA)


WARMUP = 5  # frames excluded from the rates (graph initialisation, first allocations)


def steady_fps(times: list[float]) -> float:
    """Results per second after the first :data:`WARMUP` results."""
    t = times[WARMUP - 1:]
    return (len(t) - 1) / (t[-1] - t[0]) if len(t) >= 2 and t[-1] > t[0] else 0.0


def mediapipe_alone(frames: list[np.ndarray]) -> tuple[float, Stats]:
    """The peer: BlazePose in video mode on every frame, one after the other."""
    from perspose_rt.detect import BlazePoseDetector

    det = BlazePoseDetector(static_image_mode=False)
    ms, done = [], []
    for img in frames:
        t = time.perf_counter()
        det.detect(img)
        done.append(time.perf_counter())
        ms.append((done[-1] - t) * 1000)
    det.close()
    return steady_fps(done), Stats.of(ms[WARMUP:])


def pipeline_run(frames: list[np.ndarray], camera, total: int | None = None, live_fps: float | None = None,
                 seconds: float | None = None, on_result=None, lifter_weights: Path | None = None,
                 cameras: list | None = None, extended_search: bool = True):
    from perspose_rt.camera import DEFAULT_F35_MM
    from perspose_rt.pipeline.build import EstimatorOptions, build_stages
    from perspose_rt.pipeline.live_sources import SimulatedCamera
    from perspose_rt.pipeline.runner import Pipeline
    from perspose_rt.pipeline.session import drive
    from perspose_rt.pipeline.sources import ArraySource, Intrinsics

    if live_fps:
        source = SimulatedCamera(frames, fps=live_fps, num_frames=int(seconds * live_fps),
                                 intrinsics=Intrinsics(f35=DEFAULT_F35_MM))
    else:
        source = ArraySource(frames, 25.0, camera, total=total, cameras=cameras)
    stages, _ = build_stages(EstimatorOptions(lifter_weights=lifter_weights, rigid=True,  # the video/live default
                                              extended_search=extended_search),
                                fps=live_fps or 25.0)
    pipe = Pipeline(source, stages, queue_size=1 if live_fps else 2)
    valid = [0]
    done: list[float] = []

    def sink(p) -> None:
        done.append(time.perf_counter())
        valid[0] += bool(p.people)
        if on_result is not None:
            on_result(p)

    stats = drive(pipe, sink)
    return stats, valid[0], steady_fps(done)


def run(args: argparse.Namespace) -> int:
    from perspose_rt.camera import CameraModel
    from perspose_rt.pipeline.live_sources import decode_frames

    full = decode_frames(args.video, args.frames)
    if args.people:
        from perspose_rt.bench.people import run_people

        return run_people(args, full)
    small = [to_640x480(f) for f in full]
    sets = {f"{full[0].shape[1]}x{full[0].shape[0]}": full, "640x480": small}
    body = [(f"Video: `{args.video.name}`, {len(full)} frames decoded into memory first (decoding not timed); "
             f"rates exclude the first {WARMUP} frames (initialisation). "
            "Estimator: lifter (MediaPipe BlazePose complexity 1 + lifter + Kalman + IK with the "
            "fitted skeleton, the video/live default).\n")]
    rows, stage_tables = [], []
    for name, frames in sets.items():
        h, w = frames[0].shape[:2]
        cam = CameraModel.default((w, h), warn=False)
        best_mp, best_pipe = None, None
        for _ in range(args.repeats):
            fps_mp, st_mp = mediapipe_alone(frames)
            if best_mp is None or fps_mp > best_mp[0]:
                best_mp = (fps_mp, st_mp)
            run_ = pipeline_run(frames, cam, lifter_weights=args.lifter_weights)
            if best_pipe is None or run_[2] > best_pipe[2]:
                best_pipe = run_
        stats, n_valid, fps_pipe = best_pipe
        s = stats.summary()
        ratio = fps_pipe / best_mp[0]
        rows.append([name, f"{best_mp[0]:.1f}", f"{best_mp[1].p50:.1f} / {best_mp[1].p95:.1f}",
                     f"{fps_pipe:.1f}", f"{ratio:.2f}", (f"{s['latency_ms']['p50']:.1f} / "
                     f"{s['latency_ms']['p95']:.1f}"), f"{n_valid}/{s['frames_out']}"])
        cpu = s["stages_cpu_ms"]
        srows = [[k, f"{v['p50']:.2f}", f"{v['p95']:.2f}", f"{v['mean']:.2f}",
                  f"{cpu[k]['p50']:.2f}" if cpu.get(k) else "", f"{cpu[k]['mean']:.2f}" if cpu.get(k) else "",
                  v["n"]] for k, v in s["stages_ms"].items() if v]
        st = s["stages_ms"]
        extra = cpu["pose"]["mean"]  # the pose thread: tracking, lift, smoothing, IK, projection
        share = extra / st["detect"]["mean"] * 100
        stage_tables.append(
            f"Per-stage times of the best pipeline run, {name}. Wall = duration of the call, including "
            "waits for a core or the GIL while the other stages run; CPU = CPU time of the stage's own "
            "thread (MediaPipe's internal threads are not in `detect`'s). Tracking, lift, smoothing, IK "
            "and projection compute "
            f"{extra:.2f} ms of CPU per frame = {share:.0f} % of the MediaPipe stage's wall time, on "
            "other threads:\n\n"
            + markdown_table(["stage", "wall p50 ms", "wall p95 ms", "wall mean ms", "CPU p50 ms",
                              "CPU mean ms", "n"], srows))
        print(f"{name}: MediaPipe alone {best_mp[0]:.1f} fps, pipeline {fps_pipe:.1f} fps "
              f"({ratio:.2f}x)", file=sys.stderr)
        gc.collect()
    body.append(markdown_table(
        ["frames", "MediaPipe alone fps", "MediaPipe p50 / p95 ms", "pipeline fps", "pipeline / MediaPipe",
         "latency p50 / p95 ms", "frames with a person"], rows))
    body += stage_tables

    if args.live_seconds > 0:
        cam = CameraModel.default((640, 480), warn=False)
        stats, n_valid, _ = pipeline_run(small, cam, live_fps=30.0, seconds=args.live_seconds,
                                      lifter_weights=args.lifter_weights)
        s = stats.summary()
        lat = s["latency_ms"]
        body.append(f"Live: simulated 30 fps camera (640×480 frames of the same video) for {args.live_seconds:g} s, "
                    "newest-frame-only capture:\n\n" + markdown_table(
                        ["latency p50 ms", "latency p95 ms", "latency max ms", "results fps", "dropped",
                         "frames in"],
                        [[f"{lat['p50']:.1f}", f"{lat['p95']:.1f}", f"{lat['max']:.1f}",
                          f"{s['throughput_fps']:.1f}", s["dropped"], s["frames_in"]]]))
        print(f"live: latency p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms, dropped {s['dropped']}",
              file=sys.stderr)

    if args.memory_frames > 0:
        cam = CameraModel.default((640, 480), warn=False)
        samples: list[tuple[int, float]] = []
        count = [0]

        def sample(_p) -> None:
            count[0] += 1
            if count[0] % 500 == 0 or count[0] == 1:
                samples.append((count[0], _rss_mb()[0]))

        t0 = time.perf_counter()
        stats, _, _ = pipeline_run(small, cam, total=args.memory_frames, on_result=sample,
                                lifter_weights=args.lifter_weights)
        _cur, peak = _rss_mb()
        first_after_warmup = next((m for n, m in samples if n >= 500), samples[0][1])
        growth = samples[-1][1] - first_after_warmup
        body.append(f"Memory: {args.memory_frames} frames (640×480, looping) in {time.perf_counter() - t0:.0f} s, "
                    f"no recording: RSS after 500 frames {first_after_warmup:.0f} MiB, at the end "
                    f"{samples[-1][1]:.0f} MiB (growth {growth:+.1f} MiB), process peak (VmHWM) {peak:.0f} MiB. "
                    "Samples (frame: MiB): "
                    + ", ".join(f"{n}: {m:.0f}" for n, m in samples[:: max(1, len(samples) // 10)]) + ".\n")
        print(f"memory: {args.memory_frames} frames, RSS growth after warm-up {growth:+.1f} MiB, "
              f"peak {peak:.0f} MiB", file=sys.stderr)

    text = "\n".join(body)
    print(text)
    if not args.no_report:
        path = write_section("pipeline", "Real-time pipeline (lifter) vs MediaPipe pose alone", text)
        print(f"updated {path}", file=sys.stderr)
    return 0
