"""The ``perspose-rt`` command line: one subcommand per module, registered below.

Each entry of :data:`COMMANDS` names a module in this package that defines

* ``HELP: str`` – the one-line summary shown by ``perspose-rt --help``;
* ``add_arguments(parser: argparse.ArgumentParser) -> None``;
* ``run(args: argparse.Namespace) -> int`` – the exit status.

Command modules import heavy libraries (torch, mediapipe, open3d, …) inside ``run`` so that
``perspose-rt --help`` stays instant. A :class:`~perspose_rt.errors.UserError` raised anywhere in
a command becomes one line on stderr and its exit code; Ctrl-C exits with 130.
"""

from __future__ import annotations

import os

# The pipeline's stages run on their own threads beside MediaPipe's and OpenCV's. OpenBLAS's
# worker threads then compete for the same cores and a small matrix product (the lifter's
# 768-wide layers) spins waiting for a descheduled worker. `perspose-rt bench pipeline` on a
# 2-core machine, 1280x720: lift stage 5.4 ms p50 wall / 3.9 ms mean CPU with 2 OpenBLAS threads,
# 1.8 / 1.5 ms with one, and the run's system CPU time fell from 3 min 53 s to 14 s. So one BLAS
# thread per calling thread; set before numpy loads OpenBLAS; export OPENBLAS_NUM_THREADS to
# override it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from perspose_rt import __version__
from perspose_rt.errors import UserError

#: (subcommand name, module under ``perspose_rt.cli``), in the order ``--help`` lists them.
COMMANDS: list[tuple[str, str]] = [
    ("live", "live_cmd"), ("video", "video_cmd"), ("images", "images_cmd"),
    ("camera", "camera_cmd"),
    ("calibrate", "calibrate_cmd"),
    ("train-lifter", "train_lifter_cmd"), ("eval-lifter", "eval_lifter_cmd"),
    ("train", "train_cmd"), ("eval-net", "eval_net_cmd"), ("make-synthetic", "make_synthetic_cmd"),
    ("import-checkpoint", "import_checkpoint_cmd"), ("build-engine", "build_engine_cmd"),
    ("bench", "bench_cmd"),
    ("export-bvh", "export_bvh_cmd"), ("convert-smpl", "convert_smpl_cmd"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perspose-rt",
        description="Real-time monocular 3D human pose estimation from calibrated cameras (PersPose).",
    )
    parser.add_argument("--version", action="version", version=f"perspose-rt {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS:
        module = importlib.import_module(f"perspose_rt.cli.{module_name}")
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"perspose-rt: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("perspose-rt: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
