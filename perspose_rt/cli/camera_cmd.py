"""``perspose-rt camera``: show the intrinsics perspose-rt would use, and where they come from."""

from __future__ import annotations

import argparse
from pathlib import Path

from perspose_rt.cli.common import add_camera_arguments, camera_options, parse_resolution

HELP = "show the camera intrinsics used for a photo, a profile or a resolution (and their source)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", nargs="?", type=Path, help="a photo (intrinsics from EXIF or its file name)")
    parser.add_argument("--resolution", type=parse_resolution, metavar="WxH", help="stream resolution (for profiles, --fov, --f35)")
    parser.add_argument("--save", metavar="PROFILE", type=Path, help="write the result as a camera profile")
    add_camera_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from perspose_rt.camera import load_image, load_profile, resolve_camera, save_profile
    from perspose_rt.cli.validate import check_output_file
    from perspose_rt.errors import UserError

    if args.save is not None:
        check_output_file(args.save, "--save", (args.image, args.calib))
    if args.image is not None:
        _, cam = load_image(args.image, **camera_options(args))
    elif args.resolution:
        cam = resolve_camera(args.resolution, **camera_options(args))
    elif args.calib is not None:
        cam = load_profile(args.calib)
    else:
        raise UserError("give a photo, --calib PROFILE, or --resolution WxH with --fov/--f35")
    print(cam.describe())
    print("K =")
    for row in cam.K:
        print("    " + "  ".join(f"{v:12.4f}" for v in row))
    print("dist = " + " ".join(f"{v:.6g}" for v in cam.dist))
    if args.save:
        print(f"saved {save_profile(args.save, cam)}")
    return 0
