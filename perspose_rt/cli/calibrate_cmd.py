"""``perspose-rt calibrate``: measure a camera's intrinsics and save ``calib/NAME.yaml``.

Modes (one of them):

* ``--camera N``: the interactive wizard (an OpenCV window; ``--headless`` runs the same logic
  without one and stops once the views are complete);
* ``--images DIR`` / ``--video FILE``: offline, from photos or a recording of the pattern;
* ``--fov DEG [--diagonal]`` / ``--f35 MM`` with ``--resolution WxH``: an approximate profile;
* ``--write-pattern FILE.pdf|png`` alone: just write a printable pattern.

Nothing is written to the calibration folder unless a calibration succeeds, and then atomically.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from perspose_rt.cli.common import parse_resolution
from perspose_rt.cli.validate import (
    float_in,
    int_at_least,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
)

HELP = "calibrate a camera (live wizard, photos, video, or FOV) and save calib/NAME.yaml"

_SAMPLE_FLAGS = ("fix_aspect_ratio", "fix_principal_point", "zero_tangent_dist", "fix_k4", "fix_k5")


EXAMPLES = """examples:
  perspose-rt calibrate --write-pattern pattern.pdf            # print it at 100 %, check the 50 mm bar
  perspose-rt calibrate --camera 0 --name desk-webcam --resolution 1280x720
  perspose-rt calibrate --images shots/ --pattern charuco --name phone
  perspose-rt calibrate --fov 78 --diagonal --resolution 1280x720 --name box-spec
guide: docs/CALIBRATION.md"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EXAMPLES
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    src = parser.add_argument_group("what to calibrate from (one of)")
    g = src.add_mutually_exclusive_group()
    g.add_argument("--camera", type=nonnegative_int, metavar="N", help="live camera index: the interactive wizard")
    g.add_argument("--images", type=Path, metavar="DIR", help="folder of photos of the pattern")
    g.add_argument("--video", type=Path, metavar="FILE", help="video of the pattern moved around")
    g.add_argument("--fov", type=float_in(0.0, 180.0, low_open=True, high_open=True), metavar="DEG", help="approximate profile from a field of view")
    g.add_argument("--f35", type=positive_float, metavar="MM", help="approximate profile from a 35 mm-equivalent focal length")
    src.add_argument("--diagonal", action="store_true", help="--fov is diagonal (default: horizontal)")
    src.add_argument("--resolution", type=parse_resolution, metavar="WxH", help="image size for --fov/--f35; requested capture size for --camera")

    out = parser.add_argument_group("output")
    out.add_argument("--name", help="profile name: writes CALIB_DIR/NAME.yaml (default: from the source)")
    out.add_argument("--calib-dir", type=Path, default=Path("calib"), metavar="DIR", help="profile folder (default: ./calib)")
    out.add_argument("--force", action="store_true", help="replace an existing profile of that name")

    pat = parser.add_argument_group("pattern (defaults: chessboard 6x9 inner corners, 22 mm)")
    pat.add_argument("--pattern", choices=("chessboard", "charuco", "acircles"), default="chessboard")
    pat.add_argument("--rows", type=int_at_least(2), metavar="N", help="chessboard: inner corners; charuco: squares; acircles: rows of circles")
    pat.add_argument("--cols", type=int_at_least(2), metavar="N", help="same, across (acircles: circles per row)")
    pat.add_argument("--square-mm", type=positive_float, metavar="MM", help="square side (acircles: circle spacing) in mm")
    pat.add_argument("--marker-mm", type=positive_float, metavar="MM", help="ChArUco marker side in mm (default 3/4 of the square)")
    pat.add_argument("--dictionary", default="DICT_5X5_100", metavar="NAME", help="ChArUco ArUco dictionary (default DICT_5X5_100)")
    pat.add_argument("--write-pattern", type=Path, metavar="FILE", help="write the pattern to print (.pdf or .png)")
    pat.add_argument("--paper", default="A4", choices=("A4", "A3", "letter"), help="paper for --write-pattern")
    pat.add_argument("--dpi", type=int_at_least(30), default=300, metavar="N", help="resolution of --write-pattern (default 300)")

    sol = parser.add_argument_group("solver")
    sol.add_argument("--fix-aspect-ratio", action="store_true", help="fx = fy (square pixels)")
    sol.add_argument("--fix-principal-point", action="store_true", help="principal point at the image centre")
    sol.add_argument("--zero-tangent-dist", action="store_true", help="no tangential distortion (p1 = p2 = 0)")
    sol.add_argument("--fix-k3", action="store_true", help="k3 = 0")
    sol.add_argument("--rational-model", action="store_true", help="also estimate k4, k5, k6 (wide-angle lenses)")
    sol.add_argument("--opencv-sample-flags", action="store_true",
                     help="the flags of OpenCV's calibration sample: " + ", ".join(_SAMPLE_FLAGS))
    sol.add_argument("--min-views", type=int_at_least(3), default=5, metavar="N", help="fewest views to calibrate from (default 5)")
    sol.add_argument("--max-views", type=int_at_least(3), default=40, metavar="N", help="most views used (default 40)")
    sol.add_argument("--outlier-factor", type=nonnegative_float, default=3.0, metavar="F",
                     help="drop views whose RMS exceeds this × the median (and 0.3 px); 0 disables")

    wiz = parser.add_argument_group("wizard and video")
    wiz.add_argument("--headless", action="store_true", help="no window: capture automatically, stop when complete")
    wiz.add_argument("--target-views", type=positive_int, default=12, metavar="N", help="views the wizard asks for (default 12)")
    wiz.add_argument("--max-edge-px", type=positive_float, default=5.0, metavar="PX", help="blur limit: widest edge in px (default 5)")
    wiz.add_argument("--max-frames", type=positive_int, metavar="N", help="stop after this many frames (camera, video)")
    wiz.add_argument("--video-step", type=positive_int, default=1, metavar="N", help="use every N-th video frame (default 1)")


def _spec(args: argparse.Namespace):
    from perspose_rt.calib.patterns import DEFAULTS, PatternSpec

    rows, cols, square, marker = DEFAULTS[args.pattern]
    return PatternSpec(
        args.pattern,
        args.rows if args.rows is not None else rows,
        args.cols if args.cols is not None else cols,
        args.square_mm if args.square_mm is not None else square,
        _marker_mm(args, square, marker),
        args.dictionary,
    )


def _marker_mm(args: argparse.Namespace, default_square: float, default_marker: float | None) -> float | None:
    """ChArUco marker side: as given, the default, or 3/4 of a non-default square."""
    if args.pattern != "charuco":
        return args.marker_mm
    if args.marker_mm is not None:
        return args.marker_mm
    if args.square_mm is None or args.square_mm == default_square:
        return default_marker
    return round(0.75 * args.square_mm, 2)


def _default_name(args: argparse.Namespace, resolution: tuple[int, int] | None) -> str:
    if args.camera is not None:
        base = f"camera{args.camera}"
    elif args.images is not None:
        base = args.images.resolve().name
    elif args.video is not None:
        base = args.video.stem
    elif args.fov is not None:
        base = f"fov{args.fov:g}{'d' if args.diagonal else 'h'}_{resolution[0]}x{resolution[1]}"
    else:
        base = f"f35_{args.f35:g}mm_{resolution[0]}x{resolution[1]}"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-.") or "camera"


def run(args: argparse.Namespace) -> int:
    from perspose_rt.calib.output import profile_path
    from perspose_rt.cli.validate import check_output_file
    from perspose_rt.errors import UserError

    spec = _spec(args)
    if args.write_pattern is not None:
        check_output_file(args.write_pattern, "--write-pattern")
        from perspose_rt.calib.printable import write_pattern

        path = write_pattern(spec, args.write_pattern, args.paper, args.dpi)
        print(f"wrote {path}: {spec.describe()}; print it at 100 % and check the 50 mm bar")
    quick = args.fov is not None or args.f35 is not None
    sources = (args.camera, args.images, args.video)
    if all(s is None for s in sources) and not quick:
        if args.write_pattern is not None:
            return 0
        raise UserError("choose what to calibrate from: --camera N, --images DIR, --video FILE, or --fov/--f35 with --resolution")
    resolution = args.resolution
    if quick and resolution is None:
        raise UserError("--fov and --f35 need --resolution WxH (the image size the profile is for)")
    name = args.name or _default_name(args, resolution)
    path = profile_path(args.calib_dir, name, args.force)  # checked before any work starts
    check_output_file(path, "the profile", (args.images, args.video))
    name = path.stem  # "--name cam.yaml" means cam
    if quick:
        return _run_quick(args, path, name, resolution)
    return _run_calibration(args, spec, path, name, resolution)


def _run_quick(args, path: Path, name: str, resolution: tuple[int, int]) -> int:
    from perspose_rt.calib.output import describe_camera, quick_camera, write_quick

    camera = quick_camera(resolution, name, fov_deg=args.fov, diagonal=args.diagonal, f35_mm=args.f35)
    write_quick(path, camera)
    print(describe_camera(camera))
    print(f"saved {path} (approximate: no calibration; run the wizard for measured intrinsics)")
    return 0


def _solve_options(args):
    from perspose_rt.calib.solve import SolveOptions

    flags = list(_SAMPLE_FLAGS) if args.opencv_sample_flags else []
    for flag in ("fix_aspect_ratio", "fix_principal_point", "zero_tangent_dist", "fix_k3", "rational_model"):
        if getattr(args, flag) and flag not in flags:
            flags.append(flag)
    factor = args.outlier_factor if args.outlier_factor > 0 else float("inf")
    return SolveOptions(flags=tuple(flags), min_views=args.min_views, outlier_factor=factor)


def _run_calibration(args, spec, path: Path, name: str, resolution) -> int:
    from perspose_rt.calib.output import describe_camera, write_calibration
    from perspose_rt.calib.wizard import CalibrationSession, WizardConfig, run_headless

    options = _solve_options(args)
    print(f"pattern: {spec.describe()} (print one with --write-pattern pattern.pdf)")
    if args.images is not None:
        from perspose_rt.calib.offline import calibrate_views, collect_views
        from perspose_rt.calib.sources import ImageFolderSource

        with ImageFolderSource(args.images) as source:
            found = collect_views(spec, source, args.max_edge_px)
        print(f"pattern found in {len(found.views)} of {found.n_images} images")
        if found.missing:
            print("  not found in: " + ", ".join(found.missing))
        if found.blurry:
            print(f"  blurry (edges > {args.max_edge_px:g} px): " + ", ".join(found.blurry))
        result = calibrate_views(found, options, args.max_views)
        label = str(args.images)
    else:
        from perspose_rt.calib.sources import CameraSource, VideoFileSource

        config = WizardConfig(
            target_views=args.target_views, max_views=args.max_views, max_edge_px=args.max_edge_px
        )
        session = CalibrationSession(spec, config, options)
        interactive = args.camera is not None and not args.headless
        if interactive:
            from perspose_rt.calib.ui import require_display

            require_display()  # before the camera is opened: the clearer error first
        if args.camera is not None:
            source = CameraSource(args.camera, resolution)
            label = source.name  # "camera 0 (HD Pro Webcam C920)" where the OS names it
        else:
            source = VideoFileSource(args.video, args.video_step)
            label = str(args.video)
        with source:
            if interactive:
                from perspose_rt.calib.ui import run_interactive

                result = run_interactive(session, source, lambda r: write_calibration(path, r, name, spec, label))
                if result is None:
                    print("quit without calibrating: nothing saved")
                    return 1
                return 0

            def report(status):
                if status.captured:
                    print(f"captured {status.label}: {len(session.views)} views, "
                          f"coverage {100 * session.coverage.fraction:.0f}%")

            result = run_headless(
                session, source, stop_when_ready=args.camera is not None, max_frames=args.max_frames, on_status=report
            )
            if not session.ready:
                print(f"note: the views do not cover everything the wizard asks for; next time, {session.hint()}")
    print(result.summary())
    write_calibration(path, result, name, spec, label)
    camera_line = describe_camera(_camera_of(result))
    print(camera_line)
    print(f"saved {path}")
    return 0


def _camera_of(result):
    from perspose_rt.camera import CameraModel

    return CameraModel(K=result.K, resolution=result.image_size, dist=result.dist, source="calibration")
