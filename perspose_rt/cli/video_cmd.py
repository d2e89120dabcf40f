"""``perspose-rt video IN.mp4 --out OUT.npz [--overlay OUT.mp4]``: 3D poses of every frame of a video."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from perspose_rt.cli.common import add_camera_arguments, camera_options
from perspose_rt.cli.validate import positive_int
from perspose_rt.pipeline.cli_options import add_estimator_arguments, estimator_options

#: Overlay video names OpenCV writes here (MJPG for .avi, mp4v otherwise).
OVERLAY_SUFFIXES = (".mp4", ".avi", ".mov", ".m4v", ".mkv")
HELP = "estimate the 3D pose in every frame of a video file and write an .npz (and an overlay video)"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, metavar="IN", help="video file (mp4, avi, mov, mkv, …)")
    parser.add_argument("--out", type=Path, required=True, metavar="OUT.npz",
                        help="result file (docs/RESULT_FORMAT.md)")
    parser.add_argument("--overlay", type=Path, metavar="OUT.mp4", help="also write the video with the 2D overlay")
    parser.add_argument("--max-frames", type=positive_int, metavar="N", help="stop after N frames")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_camera_arguments(parser)
    add_estimator_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from perspose_rt.checks import require_file
    from perspose_rt.errors import UsageError, interrupt_exit_code, stop_reason
    from perspose_rt.io.results import ResultWriter
    from perspose_rt.pipeline.build import build_stages, check_estimator_inputs
    from perspose_rt.pipeline.runner import Pipeline
    from perspose_rt.pipeline.session import OverlayVideo, check_writable, drive, run_metadata, stop_metadata
    from perspose_rt.pipeline.sources import Intrinsics, VideoFileSource
    from perspose_rt.viz.overlay import draw_people

    require_file(args.input, "video file")  # before any output folder is created
    inputs = (args.input, args.calib, args.lifter_weights, args.weights)
    check_writable(args.out, "--out", inputs)
    if args.overlay is not None:
        if args.overlay.suffix.lower() not in OVERLAY_SUFFIXES:
            raise UsageError(f"--overlay {args.overlay}: name a video file ({', '.join(OVERLAY_SUFFIXES)})")
        check_writable(args.overlay, "--overlay", (*inputs, args.out))
    options = estimator_options(args)
    check_estimator_inputs(options)  # a bad weights file is one line, before the video is opened
    source = VideoFileSource(args.input, Intrinsics(**camera_options(args)), max_frames=args.max_frames)
    try:
        stages, meta = build_stages(options, fps=source.fps)
    except KeyboardInterrupt:
        source.close()
        print(f"perspose-rt: stopped while loading the models: no frame was processed, {args.out} not written",
              file=sys.stderr)
        raise
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

    stop: BaseException | None = None
    try:
        drive(pipe, sink)
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP: keep the results, report the stop
        stop = exc
    except BaseException as exc:
        stop = exc
        raise
    finally:
        bar.close()
        # Always write what was computed (complete and loadable), even after a failure or a stop;
        # the npz first: a failing overlay must not cost the poses.
        reason = "max-frames" if args.max_frames is not None and len(writer) >= args.max_frames else "end"
        try:
            writer.save(args.out, **run_metadata(source, writer.meta, pipe.stats, **stop_metadata(stop, reason)))
        finally:
            if overlay is not None:
                _close_overlay(overlay, raise_errors=stop is None)
        if stop is not None and not isinstance(stop, KeyboardInterrupt):
            print(f"perspose-rt: the {len(writer)} frames processed before the failure are in {args.out}",
                  file=sys.stderr)
    s = pipe.stats
    print(s.table(), file=sys.stderr)
    valid = writer.frames_with_people()
    print(f"wrote {args.out} ({len(writer)} frames, {valid} with a person"
          + (f", {s.failed} failed to decode" if s.failed else "")
          + (f", {source.missing} declared by the header but never delivered" if source.missing else "") + ")"
          + (f" and {args.overlay}" if overlay is not None and overlay.frames else ""))
    if stop is not None:
        print(f"perspose-rt: {stop_reason(stop)}: stopped after {len(writer)} frames; the results so far "
              "were saved", file=sys.stderr)
        return interrupt_exit_code(stop)
    return 0


def _close_overlay(overlay, raise_errors: bool) -> None:
    """Finish the overlay video; after another failure, its own error is reported, not raised."""
    try:
        overlay.close(keep=True)
    except Exception as exc:
        if raise_errors:
            raise
        print(f"perspose-rt: the overlay video {overlay.path} could not be finished: {exc}", file=sys.stderr)
