"""``perspose-rt train-lifter``: train a 2D→3D keypoint lifter on Human3.6M (S1, S5, S6, S7, S8)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from perspose_rt.cli.validate import (
    float_in,
    int_at_least,
    nonnegative_float,
    positive_float,
    positive_int,
    probability,
)
from perspose_rt.paths import shared_data_dir

HELP = "train the 2D-to-3D keypoint lifter (PE + PR on rays) on Human3.6M; resumable"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=shared_data_dir() / "h36m",
                        help="Human3.6M folder with poses_3d_17j.npz and cameras.json (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True,
                        help="run folder: checkpoint.pt, log.csv, val.csv, lifter.safetensors/.json; "
                             "an existing checkpoint there is resumed")
    parser.add_argument("--kind", choices=("single", "temporal"), default="single")
    parser.add_argument("--variant", choices=("pepr", "pe", "boxnorm"), default="pepr",
                        help="input encoding: PE+PR rays (default), PE rays only, or box-normalised pixels")
    parser.add_argument("--width", type=positive_int, default=None, help="hidden width (default 768 single, 256 temporal)")
    parser.add_argument("--blocks", type=positive_int, default=2,
                        help="residual blocks (single) or dilated layers (temporal: window 3^(blocks+1))")
    parser.add_argument("--dropout", type=float_in(0.0, 1.0, high_open=True), default=0.1)
    parser.add_argument("--init-base", type=Path, default=None, metavar="JSON",
                        help="temporal only: a trained single-frame lifter used as the frozen base whose "
                             "newest-frame output the causal convnet corrects")
    parser.add_argument("--init", type=Path, default=None, metavar="JSON",
                        help="start from this trained lifter (same --kind, --variant, --width, --blocks): "
                             "fine-tuning")
    parser.add_argument("--truncate", type=probability, default=0.0, metavar="P",
                        help="share of samples whose body the frame cuts off (joints out of view get "
                             "confidence 0; see perspose_rt/lifter/augment.py; default: %(default)s)")
    parser.add_argument("--unseen-weight", type=float_in(0.0, 1.0, low_open=True), default=1.0,
                        metavar="W",
                        help="loss weight of out-of-view joints (confidence 0) against seen ones "
                             "(default: %(default)s)")
    parser.add_argument("--steps", type=positive_int, default=8000)
    parser.add_argument("--batch", type=int_at_least(2), default=1024)
    parser.add_argument("--lr", type=positive_float, default=1e-3)
    parser.add_argument("--seed", type=int_at_least(0), default=0)
    parser.add_argument("--p-real", type=probability, default=0.25,
                        help="share of samples seen by the real H36M cameras (rest: virtual cameras)")
    parser.add_argument("--noise", type=nonnegative_float, default=0.15,
                        help="2D noise σ scale, in units of the keypoints' RMS spread (default: %(default)s)")
    parser.add_argument("--bias", type=nonnegative_float, default=0.0,
                        help="σ of per-joint 2D offsets constant over time, like a detector's own joint "
                             "definitions, in units of the spread (default: %(default)s)")
    parser.add_argument("--noise-profile", choices=("light", "detector"), default="light",
                        help="shape of the 2D errors: 'light' (Gaussian jitter, few flagged outliers) or "
                             "'detector' (heavier jitter, gross errors and left/right swaps that the "
                             "confidence does not always flag; see perspose_rt/lifter/augment.py)")
    parser.add_argument("--threads", type=positive_int, default=2, help="torch CPU threads")
    parser.add_argument("--ckpt-every", type=positive_int, default=500)
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs only)")


def run(args: argparse.Namespace) -> int:
    from perspose_rt.bench.report import command_line
    from perspose_rt.cli.validate import check_output_dir
    from perspose_rt.errors import UserError
    from perspose_rt.lifter.api import Lifter
    from perspose_rt.lifter.evaluate import evaluate_sequences, s9_slice
    from perspose_rt.lifter.models import LifterConfig
    from perspose_rt.lifter.train import TrainOptions, train

    width = args.width or (768 if args.kind == "single" else 256)
    check_output_dir(args.out, "--out")
    base_width = 0
    if args.init_base is not None:
        if args.kind != "temporal":
            raise UserError("--init-base is for --kind temporal")
        from perspose_rt.lifter.files import lifter_json_path

        args.init_base = lifter_json_path(args.init_base)  # NAME, NAME.json or NAME.safetensors
        base_width = _base_width(args.init_base)
    cfg = LifterConfig(kind=args.kind, variant=args.variant, width=width, blocks=args.blocks,
                       dropout=args.dropout, base_width=base_width)
    if args.steps < 1 or args.batch < 2:
        raise UserError("--steps must be ≥ 1 and --batch ≥ 2")
    val_seqs = s9_slice(args.data)

    def validate(model, cfg_):
        model.eval()
        return evaluate_sequences(Lifter(model, cfg_), val_seqs)["mpjpe"]["mean"]

    opts = TrainOptions(data=args.data, out=args.out, config=cfg, steps=args.steps, batch=args.batch,
                        lr=args.lr, seed=args.seed, p_real=args.p_real, threads=args.threads,
                        noise_scale=args.noise, bias_scale=args.bias, noise_profile=args.noise_profile,
                        ckpt_every=args.ckpt_every, command=command_line(), progress=not args.no_progress,
                        init_base=args.init_base, init=args.init, p_truncate=args.truncate,
                        unseen_weight=args.unseen_weight)
    try:
        summary = train(opts, validate=validate)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    print(f"done: {args.out / 'lifter.json'} (S9-slice MPJPE {summary['final_val_mpjpe_mm_s9_slice']:.1f} mm)")
    return 0


def _base_width(path: Path) -> int:
    """The hidden width of the single-frame lifter JSON ``path`` (one-line errors for a bad file)."""
    from perspose_rt.cli.validate import require_file
    from perspose_rt.errors import InputError

    require_file(path, "--init-base")
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        return int(doc["config"]["width"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"--init-base {path} is not a lifter JSON written by perspose-rt "
                         f"({type(exc).__name__}: {exc})") from None
