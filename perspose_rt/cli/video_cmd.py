"""``perspose-rt video IN.mp4 --out OUT.npz [--overlay OUT.mp4]``: 3D poses of every frame of a video."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from perspose_rt.cli.common import add_camera_arguments, camera_options
from perspose_rt.pipeline.cli_options import add_estimator_arguments, estimator_options

HELP = "estimate the 3D pose in every frame of a video file and write an .npz (and an overlay video)"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, metavar="IN", help="video file (mp4, avi, mov, mkv, …)")
    parser.add_argument("--out", type=Path, required=True, metavar="OUT.npz",
                        help="result file (docs/RESULT_FORMAT.md)")
    parser.add_argument("--overlay", type=Path, metavar="OUT.mp4", help="also write the video with the 2D overlay")
    parser.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_camera_arguments(parser)
    add_estimator_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from perspose_rt.io.results import ResultWriter
    from perspose_rt.pipeline.build import build_stages
    from perspose_rt.pipeline.runner import Pipeline
    from perspose_rt.pipeline.session import OverlayVideo, check_writable, drive, run_metadata
    from perspose_rt.pipeline.sources import Intrinsics, VideoFileSource
    from perspose_rt.viz.overlay import draw_people

    for path in (args.out, args.overlay):
        if path is not None:
            check_writable(path)
    source = VideoFileSource(args.input, Intrinsics(**camera_options(args)), max_frames=args.max_frames)
    try:
        stages, meta = build_stages(estimator_options(args), fps=source.fps)
    except BaseException:
        source.close()
        raise
    print(f"{args.input.name}: {source.resolution[0]}x{source.resolution[1]} at {source.fps:g} fps; "
          f"camera {source.camera.describe()}", file=sys.stderr)
    writer = ResultWriter(len(meta["joint_names"]), meta, max_people=meta["max_people"])
    overlay = OverlayVideo(args.overlay, source.fps) if args.overlay else None
    bar = tqdm(total=len(source) or None, unit="frame", disable=args.no_progress, file=sys.stderr,
               dynamic_ncols=True)
    pipe = Pipeline(source, stages)

    def sink(p) -> None:
        writer.add_frame(p.frame, p.people)
        if overlay is not None:
            overlay.write(draw_people(p.frame.image.copy(), p.people, show_ids=meta["max_people"] > 1))
        bar.update(1)

    interrupted, error = False, None
    try:
        drive(pipe, sink)
    except KeyboardInterrupt:
        interrupted = True
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        bar.close()
        if overlay is not None:
            overlay.close(keep=True)
        # Always write what was computed (complete and loadable), even after a failure or Ctrl-C.
        writer.save(args.out, **run_metadata(source, writer.meta, pipe.stats, interrupted=interrupted,
                                             error=error))
        if error is not None:
            print(f"perspose-rt: the {len(writer)} frames processed before the failure are in {args.out}",
                  file=sys.stderr)
    s = pipe.stats
    print(s.table(), file=sys.stderr)
    valid = writer.frames_with_people()
    print(f"wrote {args.out} ({len(writer)} frames, {valid} with a person"
          + (f", {s.failed} failed to decode" if s.failed else "")
          + (f", {source.missing} declared by the header but never delivered" if source.missing else "") + ")"
          + (f" and {args.overlay}" if overlay is not None and overlay.frames else ""))
    if interrupted:
        print("perspose-rt: interrupted; the results so far were saved", file=sys.stderr)
        return 130
    return 0
