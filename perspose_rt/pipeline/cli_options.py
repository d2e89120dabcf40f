"""Estimator options shared by ``perspose-rt live``, ``video`` and ``images``."""

from __future__ import annotations

import argparse
from pathlib import Path

from perspose_rt.cli.validate import device, probability
from perspose_rt.smoothing import SMOOTHERS


def add_estimator_arguments(parser: argparse.ArgumentParser, smoothing: bool = True) -> None:
    g = parser.add_argument_group("estimator")
    g.add_argument("--estimator", choices=("lifter", "perspose"), default="lifter",
                   help="lifter: MediaPipe BlazePose + the shipped 2D→3D lifter (default, any CPU); "
                        "perspose: the PersPose image network (needs --weights)")
    g.add_argument("--temporal", action="store_true",
                   help="lifter: use the causal temporal model (smoother, uses the past frames)")
    g.add_argument("--lifter-weights", type=Path, metavar="JSON",
                   help="lifter: weights from `perspose-rt train-lifter` instead of the shipped ones")
    g.add_argument("--backend", choices=("torch", "onnxruntime", "tensorrt"), default="torch",
                   help="perspose: inference backend")
    g.add_argument("--weights", type=Path, metavar="PATH",
                   help="perspose: weights (.json/.safetensors), .onnx file or engine folder")
    g.add_argument("--device", type=device, default="cpu", help="perspose: cpu or cuda[:N]")
    g.add_argument("--smpl-dir", type=Path, metavar="DIR",
                   help="perspose: folder with the converted SMPL model (SMPL_NEUTRAL.npz): mesh in the viewer")
    if smoothing:
        g.add_argument("--smoothing", choices=SMOOTHERS, default="kalman-cv",
                       help="temporal filter of the 3D joints (docs/PIPELINE.md)")
    g.add_argument("--no-ik", action="store_true", help="skip the joint rotations (IK)")
    g.add_argument("--rigid", action=argparse.BooleanOptionalAction, default=None,
                   help="lifter: fit a skeleton with constant bone lengths to the person and output its "
                        "joints (consistent with the rotations; docs/PIPELINE.md). Default: on for videos "
                        "and live input with the lifter, off for photos and the image network")
    g.add_argument("--min-detection-confidence", type=probability, default=0.5, metavar="P",
                   help="MediaPipe person-detection threshold")
    g.add_argument("--max-people", type=_max_people, default=1, metavar="N",
                   help="most people tracked at once, 1 to 10 (default 1). N > 1 uses MediaPipe's "
                        "multi-person PoseLandmarker, gives each person a stable track ID and writes "
                        "result version 2 (docs/RESULT_FORMAT.md)")
    g.add_argument("--no-extended-search", dest="extended_search", action="store_false",
                   help="lifter: when nobody is found, do not search again around the last box, on "
                        "zoomed tiles and on the turned frame (small, far or lying people; "
                        "docs/PIPELINE.md). The extra time is paid only on frames where the plain "
                        "search found nobody")


def _max_people(text: str) -> int:
    """``--max-people``: an integer 1 … 10, refused by argparse (exit 2, one line) otherwise."""
    from perspose_rt.pipeline.tracking import MAX_PEOPLE_LIMIT

    try:
        n = int(text)
    except ValueError:
        n = None
    if n is None or not 1 <= n <= MAX_PEOPLE_LIMIT:
        raise argparse.ArgumentTypeError(f"must be an integer from 1 to {MAX_PEOPLE_LIMIT}, got {text}")
    return n


def estimator_options(args: argparse.Namespace, static_images: bool = False):
    """The :class:`~perspose_rt.pipeline.build.EstimatorOptions` of the command line.

    The lifter's live path is numpy (its one BLAS thread is set in :mod:`perspose_rt.cli`), so
    nothing here imports torch: a default run starts without it.
    """
    from perspose_rt.pipeline.build import EstimatorOptions
    from perspose_rt.pipeline.tracking import check_max_people

    max_people = check_max_people(getattr(args, "max_people", 1))
    return EstimatorOptions(
        name=args.estimator, static_images=static_images, temporal=args.temporal,
        lifter_weights=args.lifter_weights, backend=args.backend,
        weights=args.weights, device=args.device, smoothing=getattr(args, "smoothing", "none"),
        ik=not args.no_ik, rigid=_rigid(args, static_images), smpl_dir=args.smpl_dir,
        min_detection_confidence=args.min_detection_confidence, max_people=max_people,
        extended_search=getattr(args, "extended_search", True))


def _rigid(args: argparse.Namespace, static_images: bool) -> bool:
    """``--rigid``/``--no-rigid`` when given; by default on exactly where it applies: a sequence
    (video, live) lifted by the lifter with IK. A person's bones do not change length."""
    if args.rigid is not None:
        return bool(args.rigid)
    return args.estimator == "lifter" and not static_images and not args.no_ik
