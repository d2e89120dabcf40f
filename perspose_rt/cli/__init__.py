"""The ``perspose-rt`` command line: one subcommand per module, registered below.

Each entry of :data:`COMMANDS` names a module in this package that defines

* ``HELP: str`` – the one-line summary shown by ``perspose-rt --help``;
* ``add_arguments(parser: argparse.ArgumentParser) -> None``;
* ``run(args: argparse.Namespace) -> int`` – the exit status.

Command modules import heavy libraries (torch, mediapipe, open3d, …) inside ``run`` so that
``perspose-rt --help`` stays instant. Every failure passes through one error boundary
(:mod:`perspose_rt.cli.boundary`): a :class:`~perspose_rt.errors.UserError`, a bad argument or a
file-system error becomes one line on stderr and exit 2; Ctrl-C, SIGTERM and SIGHUP keep the
results so far and exit 130, 143 and 129; a bug's traceback is shown with ``--debug``.
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
from perspose_rt.cli import boundary

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


def _requested_command(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line (the first word that is one), if any."""
    names = {name for name, _ in COMMANDS}
    for arg in argv or ():
        if not arg.startswith("-"):
            return arg if arg in names else None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The full parser; given ``argv``, only what it needs: the module of the command it names
    (the others get a bare entry), or for top-level help just each command's summary. That keeps
    ``perspose-rt --help`` and a run's start-up short."""
    wanted = _requested_command(argv) if argv is not None else None
    parser = boundary.Parser(
        prog="perspose-rt",
        description="Real-time monocular 3D human pose estimation from calibrated cameras (PersPose).",
    )
    parser.add_argument("--version", action="version", version=f"perspose-rt {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an internal error (also PERSPOSE_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS:
        if wanted is not None and name != wanted:
            sub.add_parser(name)
            continue
        module = importlib.import_module(f"perspose_rt.cli.{module_name}")
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        if wanted is None and argv is not None:  # top-level help or an unknown command: names suffice
            continue
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``) and return the exit status.
    The parser holds only what the named command needs (see :func:`build_parser`)."""
    words = sys.argv[1:] if argv is None else argv
    return boundary.main(lambda: build_parser(words), argv, setup=_setup_logging)


def _setup_logging(args: argparse.Namespace) -> None:
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
