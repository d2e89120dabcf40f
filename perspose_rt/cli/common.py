"""Command-line options shared by several subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path

from perspose_rt.cli.validate import float_in, positive_float

INTRINSICS_HELP = (
    "Intrinsics precedence: --calib profile > photo EXIF > '_<f35>_f35' file-name tag > "
    "--fov/--f35 > default (35 mm-equivalent 50 mm, with a warning)."
)


def add_camera_arguments(parser: argparse.ArgumentParser) -> None:
    """``--calib``, ``--fov``, ``--diagonal``, ``--f35``, ``--force-aspect``."""
    g = parser.add_argument_group("camera intrinsics", INTRINSICS_HELP)
    g.add_argument("--calib", metavar="PROFILE", type=Path,
                   help="camera profile (calib/NAME.yaml, or an OpenCV calibration YAML/XML)")
    g.add_argument("--fov", type=float_in(0.0, 180.0, low_open=True, high_open=True), metavar="DEG", help="field of view in degrees (horizontal unless --diagonal)")
    g.add_argument("--diagonal", action="store_true", help="--fov is the diagonal field of view")
    g.add_argument("--f35", type=positive_float, metavar="MM", help="35 mm-equivalent focal length in mm")
    g.add_argument("--force-aspect", action="store_true",
                   help="rescale a profile to a stream of another aspect ratio (normally an error)")


def camera_options(args: argparse.Namespace) -> dict:
    """The keyword arguments of :func:`perspose_rt.camera.resolve_camera` given on the command line."""
    return {"calib": args.calib, "fov": args.fov, "fov_diagonal": args.diagonal, "f35": args.f35,
            "force_aspect": args.force_aspect}


def parse_resolution(text: str) -> tuple[int, int]:
    """An argparse type: ``"1280x720"`` → ``(1280, 720)``, with a one-line error otherwise."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must look like 1280x720, got {text!r}") from None
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return w, h
