"""``perspose-rt bench lifter``: per-frame cost of the keypoint lifter on this CPU.

Rows: live streaming (one ``push`` per frame: encoding + network + decoding) for the shipped
single-frame and temporal models, batched ``predict`` per frame, and the peer in the same run:
the MediaPipe BlazePose detector on one 640×360 frame (the stage that feeds the lifter).
"""

from __future__ import annotations

import argparse

from perspose_rt.cli.validate import positive_int

HELP = "time the 2D-to-3D lifter per frame (streaming and batched) against the BlazePose detector"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frames", type=positive_int, default=500, help="timed frames per row (default: %(default)s)")
    parser.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads (default: %(default)s)")
    parser.add_argument("--no-detector", action="store_true", help="skip the BlazePose peer row")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/BENCHMARKS.md alone")



def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from perspose_rt.bench.report import Stats, markdown_table, time_calls, write_section
    from perspose_rt.geometry import project_points
    from perspose_rt.lifter import Lifter
    from perspose_rt.lifter.weights import DEFAULT_TEMPORAL

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    K = np.array([[900.0, 0, 640], [0, 900, 360], [0, 0, 1]])
    X = rng.normal(0, 0.25, (1, 17, 3)) + np.array([0.8, 0.1, 4.0]) + rng.normal(0, 0.01, (args.frames, 17, 3))
    uv = project_points(X, K)
    conf = np.full((args.frames, 17), 0.9)
    rows = []
    models = [("single", Lifter.load_default())]
    if DEFAULT_TEMPORAL.exists():
        models.append(("temporal", Lifter.load_default(temporal=True)))
    for name, lf in models:
        s = lf.stream()
        it = iter(range(10**9))

        def push(lf_stream=s, counter=it):
            i = next(counter) % args.frames
            lf_stream.push(uv[i], K, conf[i])

        st = Stats.of(time_calls(push, args.frames))
        rows.append([f"lifter {name} ({lf.config.width} wide, window {lf.window}): stream.push, 1 frame", *st.row()])
        n = args.frames
        batch = Stats.of(t / n for t in time_calls(lambda lf_=lf: lf_.predict(uv, K, conf), 10, warmup=2))
        rows.append([f"lifter {name}: predict on {n} frames, per frame", f"{batch.p50:.4f}",
                     f"{batch.p95:.4f}", f"{batch.mean:.4f}", "10 calls"])
        print(f"{name}: push p50 {st.p50:.3f} ms p95 {st.p95:.3f} ms; batched {batch.p50:.4f} ms/frame",
              flush=True)
    if not args.no_detector:
        from perspose_rt.detect import BlazePoseDetector
        from perspose_rt.paths import shared_data_dir

        photos = sorted((shared_data_dir() / "photos_exif").glob("IMG-without-exif-*_f35.jpg"))
        if photos:
            import cv2

            img = cv2.resize(cv2.imread(str(photos[0])), (640, 360))
            with BlazePoseDetector(static_image_mode=False) as det:
                st = Stats.of(time_calls(lambda: det.detect(img), min(args.frames, 200), warmup=5))
            rows.append(["peer: BlazePose (complexity 1, tracking) detect, 640×360", *st.row()])
            print(f"BlazePose: p50 {st.p50:.2f} ms", flush=True)
        else:
            print("BlazePose peer skipped: no photo in ../shared/data/photos_exif")
    table = markdown_table(["stage", "p50 ms", "p95 ms", "mean ms", "n"], rows)
    print(table)
    if not args.no_write:
        path = write_section("lifter", "Keypoint lifter (CPU)", table + f"\ntorch threads: {args.threads}\n")
        print(f"updated {path}")
    return 0
