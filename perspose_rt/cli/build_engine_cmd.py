"""``perspose-rt build-engine`` (also ``build_engine.py``): weights → ONNX → TensorRT engine + manifest."""

from __future__ import annotations

import argparse

from perspose_rt.cli.validate import positive_int

HELP = "export weights to ONNX (validated against PyTorch) and compile a TensorRT engine when possible"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", required=True, help="our weights (NAME.safetensors with NAME.json)")
    parser.add_argument("--out", required=True, help="engine folder to write, e.g. engines/w48_fp16")
    parser.add_argument("--precision", choices=("fp16", "fp32"), default="fp16", help="TensorRT precision")
    parser.add_argument("--max-batch", type=positive_int, default=8, help="largest batch the engine accepts")
    parser.add_argument("--opt-batch", type=positive_int, default=1, help="batch size TensorRT tunes for")
    parser.add_argument("--flip-test", action="store_true",
                        help="bake the official flip test into the graph (2× the cost)")


def run(args: argparse.Namespace) -> int:
    from perspose_rt.backends.build import build_engine
    from perspose_rt.cli.validate import check_output_dir
    from perspose_rt.models.weights import weights_paths

    check_output_dir(args.out, "--out", weights_paths(args.weights))

    m = build_engine(args.weights, args.out, precision=args.precision, max_batch=args.max_batch,
                     opt_batch=args.opt_batch, flip_test=args.flip_test)
    what = f"{m.onnx_file} and {m.engine_file}" if m.engine_file else f"{m.onnx_file} only"
    print(f"wrote {args.out}/: {what}, manifest.json")
    return 0
