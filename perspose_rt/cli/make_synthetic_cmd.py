"""``perspose-rt make-synthetic``: rendered bodies with exact labels, in the portable format."""

from __future__ import annotations

import argparse
from pathlib import Path

from perspose_rt.paths import shared_data_dir

HELP = "render a synthetic training/test set (bodies driven by Human3.6M mocap, random cameras)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True, help="output folder (index.npz + images/)")
    p.add_argument("--n", type=int, required=True, help="number of samples")
    p.add_argument("--h36m", type=Path, default=shared_data_dir() / "h36m",
                   help="Human3.6M folder with poses_3d_17j.npz (default ../shared/data/h36m)")
    p.add_argument("--subjects", default="S1,S5,S6,S7,S8",
                   help="Human3.6M subjects (default the training subjects; S9,S11 for a held-out test set; "
                        "'none' for CMU poses only)")
    p.add_argument("--cmu", type=Path, nargs="?", const=shared_data_dir() / "cmu_bvh", default=None,
                   metavar="DIR", help="also pose bodies with the CMU BVH clips (scaled_*.bvh; default folder "
                                       "../shared/data/cmu_bvh)")
    p.add_argument("--width", default="160,320", help="image width range in px (default 160,320)")
    p.add_argument("--hfov", default="30,120",
                   help="horizontal field of view range in degrees (default 30,120; e.g. 90,120 for a wide-FOV "
                        "test set)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from perspose_rt.cli.validate import check_output_dir
    from perspose_rt.errors import UserError
    from perspose_rt.synthetic.generate import generate

    if args.n < 1:
        raise UserError("--n must be ≥ 1")
    check_output_dir(args.out, "--out")
    try:
        lo, hi = (int(x) for x in args.width.split(","))
    except ValueError:
        raise UserError(f"--width {args.width!r}: expected MIN,MAX pixels") from None
    try:
        f_lo, f_hi = (float(x) for x in args.hfov.split(","))
    except ValueError:
        raise UserError(f"--hfov {args.hfov!r}: expected MIN,MAX degrees") from None
    if not 0 < f_lo <= f_hi < 180:
        raise UserError(f"--hfov {args.hfov!r}: expected 0 < MIN ≤ MAX < 180 degrees")
    subjects = tuple(s.strip() for s in args.subjects.split(",") if s.strip() and s.strip() != "none")
    try:
        index = generate(args.out, args.n, args.h36m if subjects else None, subjects, args.seed, (lo, hi),
                         hfov_deg=(f_lo, f_hi), progress=not args.no_progress, cmu_dir=args.cmu)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    print(f"wrote {args.n} samples: {index} (train with --data NAME={index})")
    return 0
