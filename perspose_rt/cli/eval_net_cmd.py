"""``perspose-rt eval-net``: score network weights on a test set (design doc §5.5, flip test)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HELP = "evaluate PersPose network weights: MPJPE, PA-MPJPE, root error, root/relative depth error, PCK@150, AUC"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights", type=Path, required=True, help="our weights (NAME.json / .safetensors)")
    p.add_argument("--data-root", type=Path, metavar="DIR", help="official layout (pickles read with joblib)")
    p.add_argument("--set", dest="set_name", metavar="NAME", help="3dhp_test, h36m_test or 3dpw_test")
    p.add_argument("--data", action="append", default=[], metavar="NAME=INDEX.npz", help="a portable set")
    p.add_argument("--smpl-dir", type=Path, help="SMPL models (h36m_test, 3dpw_test)")
    p.add_argument("--json", type=Path, metavar="OUT", help="write the results here")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--no-flip-test", action="store_true", help="plain pass only")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--limit", type=int, help="only the first N samples")


def run(args: argparse.Namespace) -> int:
    from perspose_rt.cli.validate import check_output_file

    if args.json is not None:
        check_output_file(args.json, "--json", (args.weights,))
    import torch

    from perspose_rt.bench.report import command_line
    from perspose_rt.io.atomic import atomic_write_text
    from perspose_rt.models.weights import load_weights
    from perspose_rt.train.evaluate import evaluate
    from perspose_rt.train.sources import open_eval_set

    source = open_eval_set(args.data_root, args.set_name, args.data, args.smpl_dir)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    net = load_weights(args.weights).to(device)
    res = evaluate(net, source, net.config.input_size, batch_size=args.batch_size, device=device,
                   flip_test=not args.no_flip_test, progress=True, limit=args.limit)
    res = {**res, "set": source.name, "weights": str(args.weights), "command": command_line()}
    pa = "n/a" if res["pa_mpjpe_mm"] is None else f"{res['pa_mpjpe_mm']:.1f}"
    print(f"{source.name}: n={res['n']} MPJPE {res['mpjpe_mm']:.1f} mm, PA-MPJPE {pa} mm "
          f"({res['pa_failures']} Procrustes failures), root {res['root_error_mm']:.1f} mm "
          f"(depth {res['root_depth_error_mm']:.1f}), relative depth {res['rel_depth_error_mm']:.1f} mm, "
          f"PCK@150 {res['pck150']:.3f}, AUC {res['auc']:.3f} ({res['joints']} joints)")
    if args.json:
        atomic_write_text(args.json, json.dumps(res, indent=2) + "\n")
    return 0
