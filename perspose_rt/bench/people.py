"""``perspose-rt bench pipeline --people 1,2,4``: the pipeline with several people per frame.

The frames are 640×480 images composed from the shared video, one tile per person: 1 person =
the frame centre-cropped to 4:3; 2 = two 320×480 tiles side by side; 3–4 = a 2×2 grid of 320×240
tiles. Each tile shows the skater at a different moment of the video (``offset`` frames apart),
so the people differ. For each count N the run alternates, ``--repeats`` times (best kept):

* **MediaPipe Tasks alone** — ``PoseLandmarker`` in VIDEO mode with ``num_poses = N`` (the peer of
  the pipeline with ``--max-people N``); for N = 1 also the legacy solution alone (the detector of
  the default pipeline);
* **pipeline** — the default estimator (lifter, Kalman, rigid IK) with ``--max-people N``.

Reported: throughput, the ratio to the peer, the mean number of people per result, the CPU per
person of the per-person stages (lift + smooth; IK + project), the tracks created, and the
machine's load average (other work on the machine slows everything).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from perspose_rt.bench.report import markdown_table, write_section

TILE_OFFSET = 40  # frames between the moments shown in neighbouring tiles


def _fit(img: np.ndarray, w: int, h: int) -> np.ndarray:
    """Centre-crop to ``w:h`` and resize to ``w×h``."""
    import cv2

    ih, iw = img.shape[:2]
    if iw * h > ih * w:
        cw = ih * w // h
        x0 = (iw - cw) // 2
        img = img[:, x0:x0 + cw]
    else:
        ch = iw * h // w
        y0 = (ih - ch) // 2
        img = img[y0:y0 + ch]
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)


def compose(frames: list[np.ndarray], people: int, offset: int = TILE_OFFSET) -> list[np.ndarray]:
    """640×480 frames with ``people`` (1 … 4) tiles of the video, each ``offset`` frames apart."""
    if not 1 <= people <= 4:
        raise ValueError("compose() makes 1 to 4 tiles")
    n = len(frames)
    out = []
    for i in range(n):
        tiles = [frames[(i + k * offset) % n] for k in range(people)]
        if people == 1:
            out.append(_fit(tiles[0], 640, 480))
        elif people == 2:
            out.append(np.concatenate([_fit(t, 320, 480) for t in tiles], 1))
        else:
            cells = [_fit(t, 320, 240) for t in tiles] + [np.zeros((240, 320, 3), np.uint8)] * (4 - people)
            out.append(np.concatenate([np.concatenate(cells[:2], 1), np.concatenate(cells[2:], 1)], 0))
    return out


def tasks_alone(frames: list[np.ndarray], num_poses: int) -> tuple[float, float]:
    """(results per second, mean people found) of the Tasks landmarker alone in VIDEO mode."""
    from perspose_rt.bench.pipeline import WARMUP, steady_fps
    from perspose_rt.detect.tasks_pose import TasksPoseDetector

    done, found = [], []
    with TasksPoseDetector("video", num_poses) as det:
        for i, img in enumerate(frames):
            found.append(len(det.detect(img, i / 25.0)))
            done.append(time.perf_counter())
    return steady_fps(done), float(np.mean(found[WARMUP:]))


def pipeline_people(frames: list[np.ndarray], people: int, lifter_weights=None) -> dict:
    """The default estimator with ``max_people = people`` on the frames."""
    from perspose_rt.bench.pipeline import WARMUP, steady_fps
    from perspose_rt.camera import CameraModel
    from perspose_rt.pipeline.build import EstimatorOptions, build_stages
    from perspose_rt.pipeline.runner import Pipeline
    from perspose_rt.pipeline.session import drive
    from perspose_rt.pipeline.sources import ArraySource

    cam = CameraModel.default((640, 480), warn=False)
    stages, _ = build_stages(EstimatorOptions(lifter_weights=lifter_weights, rigid=True, max_people=people),
                             fps=25.0)
    track = next((t for s in stages for t in getattr(s, "stages", [s]) if t.name == "track"), None)
    done, counts = [], []

    def sink(p) -> None:
        done.append(time.perf_counter())
        counts.append(len(p.people))

    stats = drive(Pipeline(ArraySource(frames, 25.0, cam), stages, queue_size=2), sink)
    s = stats.summary()
    cpu = s["stages_cpu_ms"]
    mean_people = float(np.mean(counts[WARMUP:])) if len(counts) > WARMUP else 0.0

    def per_person(keys: tuple[str, ...]) -> float:
        total = sum(cpu[k]["mean"] for k in keys if cpu.get(k))
        return total / mean_people if mean_people else float("nan")

    # tracking, lifting, smoothing, IK and projection share the `pose` thread: its sub-steps' CPU
    return {"fps": steady_fps(done), "people": mean_people, "summary": s,
            "lift_smooth_ms": per_person(("pose.lift", "pose.smooth")),
            "ik_project_ms": per_person(("pose.ik", "pose.project")),
            "tracks": track.tracker.births if track is not None else None}


def run_people(args, full: list[np.ndarray]) -> int:
    from perspose_rt.bench.pipeline import WARMUP, mediapipe_alone

    counts = sorted({int(x) for x in str(args.people).split(",") if x.strip()})
    if not counts or counts[0] < 1 or counts[-1] > 4:
        from perspose_rt.errors import UserError

        raise UserError(f"--people takes counts from 1 to 4 (tiles of a 640x480 frame), got {args.people}")
    load = os.getloadavg()
    rows, stage_rows = [], []
    for n in counts:
        frames = compose(full, n)
        best: dict = {}
        for _ in range(args.repeats):
            peer = tasks_alone(frames, n)
            if "tasks" not in best or peer[0] > best["tasks"][0]:
                best["tasks"] = peer
            if n == 1:
                legacy = mediapipe_alone(frames)[0]
                best["legacy"] = max(best.get("legacy", 0.0), legacy)
            res = pipeline_people(frames, n, args.lifter_weights)
            if "pipe" not in best or res["fps"] > best["pipe"]["fps"]:
                best["pipe"] = res
        pipe, (t_fps, t_people) = best["pipe"], best["tasks"]
        detector = "legacy BlazePose" if n == 1 else f"Tasks, num_poses={n}"
        rows.append([n, f"{t_fps:.1f}", f"{t_people:.2f}",
                     f"{best['legacy']:.1f}" if n == 1 else "",
                     f"{pipe['fps']:.1f} ({detector})",
                     f"{pipe['fps'] / (best['legacy'] if n == 1 else t_fps):.2f}",
                     f"{pipe['people']:.2f}", f"{pipe['lift_smooth_ms']:.2f}", f"{pipe['ik_project_ms']:.2f}",
                     pipe["tracks"]])
        st, cpu = pipe["summary"]["stages_ms"], pipe["summary"]["stages_cpu_ms"]
        stage_rows.append([n] + [(f"{st[k]['p50']:.2f} / {cpu[k]['mean']:.2f}" if cpu.get(k) else f"{st[k]['p50']:.2f}")
                                 if st.get(k) else "" for k in ("detect", "pose", "pose.track", "pose.lift",
                                                                "pose.smooth", "pose.ik", "pose.project")])
        print(f"{n} people: Tasks alone {t_fps:.1f} fps, pipeline {pipe['fps']:.1f} fps, "
              f"{pipe['people']:.2f} people/frame, lift+smooth {pipe['lift_smooth_ms']:.2f} ms CPU/person",
              file=sys.stderr)
    body = [
        (f"Frames: 640×480 composed from `{args.video.name}` ({len(full)} frames decoded into memory), one tile "
        f"per person, tiles {TILE_OFFSET} frames apart (`perspose_rt/bench/people.py`); rates exclude the first "
        f"{WARMUP} frames. Estimator: lifter + Kalman + rigid IK with `--max-people N`. Best of "
        f"{args.repeats} alternating runs. Load average before the run (1/5/15 min): "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} — the machine was shared, so absolute rates are low "
        "and noisy; compare the columns of one row. The pipeline's detector is the peer's own code "
         "(`TasksPoseDetector.detect`), so a ratio above 1 means the peer's runs were the more disturbed "
         "ones, not that the pipeline is faster than its detector.\n"),
        markdown_table(["people N", "Tasks alone fps (num_poses=N)", "people found by Tasks",
                        "legacy MediaPipe alone fps", "pipeline fps", "pipeline / peer",
                        "people per result", "lift + smooth CPU ms per person",
                        "IK + project CPU ms per person", "tracks created"],
                       rows),
        ("\nPer-stage time of the best pipeline run, wall p50 / CPU mean of the stage's thread (ms); "
         "`pose.*` are the steps of the `pose` thread, whose times include them:\n"),
        markdown_table(["people", "detect", "pose", "pose.track", "pose.lift", "pose.smooth", "pose.ik",
                        "pose.project"], stage_rows),
    ]
    text = "\n".join(body)
    print(text)
    if not args.no_report:
        path = write_section("pipeline-people", "Several people: pipeline vs MediaPipe Tasks alone", text)
        print(f"updated {path}", file=sys.stderr)
    return 0
