"""``perspose-rt bench KIND …``: benchmarks that print p50/p95 and update docs/BENCHMARKS.md.

Each entry of :data:`BENCHES` names a module that defines ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``, exactly like a top-level subcommand.
"""

from __future__ import annotations

import argparse
import importlib

HELP = "run a benchmark (model, lifter, pipeline, ik, calib, startup, search, limbs, desk) and record it in docs/BENCHMARKS.md"

#: (benchmark name, importable module path)
BENCHES: list[tuple[str, str]] = [
    ("model", "perspose_rt.bench.model"),
    ("pipeline", "perspose_rt.bench.pipeline"),
    ("lifter", "perspose_rt.bench.lifter"),
    ("ik", "perspose_rt.bench.ik"),
    ("calib", "perspose_rt.calib.bench"),
    ("startup", "perspose_rt.bench.startup"),
    ("search", "perspose_rt.bench.search"),
    ("limbs", "perspose_rt.bench.limbs"),
    ("desk", "perspose_rt.bench.desk"),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="bench_kind", metavar="KIND", required=True)
    for name, module_name in BENCHES:
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_bench_run=module.run)


def run(args: argparse.Namespace) -> int:
    return int(args._bench_run(args) or 0)
