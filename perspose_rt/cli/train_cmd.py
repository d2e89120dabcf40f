"""``perspose-rt train``: train PersPoseNet (also ``python -m perspose_rt.train`` under torchrun)."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "train the PersPose image network (official data layouts or portable INDEX.npz sets)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = p.add_argument_group("data")
    d.add_argument("--data-root", type=Path, metavar="DIR",
                   help="official layout (3dhp/, h36m/, 3dpw/, bedlam/, coco/); its .pt files are pickles "
                        "read with joblib from this folder only")
    d.add_argument("--mix", metavar="NAME=RATIO,...",
                   help="sets and their ratios (h36m, coco, 3dhp, 3dpw, bedlam, or --data names); "
                        "default: every --data set equally")
    d.add_argument("--data", action="append", default=[], metavar="NAME=INDEX.npz",
                   help="a set in the portable format (repeatable; docs/TRAINING.md)")
    d.add_argument("--val", action="append", default=[], metavar="NAME=INDEX.npz",
                   help="validation set that selects best.json (default: the last --val-fraction of "
                        "each training set is held out)")
    d.add_argument("--val-fraction", type=float, default=0.02, help="held-out tail of each set (default 0.02)")
    d.add_argument("--smpl-dir", type=Path, help="SMPL models from `perspose-rt convert-smpl` (HumanMesh sets)")
    m = p.add_argument_group("network")
    m.add_argument("--variant", choices=("w48", "w32", "w18s"), default="w48")
    m.add_argument("--input-size", type=int, default=256, help="crop side in px (256 = official)")
    m.add_argument("--encoding", choices=("pepr", "pr", "pe", "none"), default="pepr",
                   help="the paper's ablation: PE and PR (default), PR only, PE only, or neither (an "
                        "axis-aligned box crop, all-zero PE map); stored in the weights' config, so eval-net "
                        "and the pipeline crop the same way")
    m.add_argument("--init", type=Path, metavar="PATH", help="official .pth (through the importer) or our weights")
    m.add_argument("--init-backbone", type=Path, metavar="PTH",
                   help="COCO HRNet pose checkpoint (pose_hrnet_w48_256x192.pth), loaded with weights_only=True")
    o = p.add_argument_group("optimisation")
    o.add_argument("--steps", type=int, help="optimiser steps")
    o.add_argument("--epochs", type=float, help="epochs of --epoch-size samples (instead of --steps)")
    o.add_argument("--epoch-size", type=int, help="samples per epoch (official 300000; default with --steps: "
                                                   "a tenth of the run)")
    o.add_argument("--batch-size", type=int, default=32, help="per process (default 32)")
    o.add_argument("--lr", type=float, default=3e-4)
    o.add_argument("--loss-config", default="w_be_3dhp",
                   choices=("w_be_3dhp", "3dpw", "3dhp", "h36m", "w_be_3dpw"),
                   help="official loss weights of this config")
    o.add_argument("--no-augment", action="store_true", help="no augmentation (PR is still applied)")
    o.add_argument("--seed", type=int, default=7)
    r = p.add_argument_group("run")
    r.add_argument("--out", type=Path, required=True, metavar="RUN", help="run folder")
    r.add_argument("--resume", action="store_true", help="continue the run in --out exactly")
    r.add_argument("--workers", type=int, default=2, help="data loading processes (default 2)")
    r.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="mixed precision (default: on with CUDA)")
    r.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    r.add_argument("--ckpt-every", type=int, default=1000, help="checkpoint + validation period in steps")
    r.add_argument("--log-every", type=int, default=10)
    r.add_argument("--no-progress", action="store_true")


def options(args: argparse.Namespace):
    from perspose_rt.bench.report import command_line
    from perspose_rt.train.net_trainer import NetTrainOptions

    return NetTrainOptions(
        out=args.out, variant=args.variant, input_size=args.input_size, data_root=args.data_root,
        mix=args.mix, data=args.data, val=args.val, val_fraction=args.val_fraction, smpl_dir=args.smpl_dir,
        init=args.init, init_backbone=args.init_backbone, steps=args.steps, epochs=args.epochs,
        epoch_size=args.epoch_size, batch_size=args.batch_size, lr=args.lr, workers=args.workers,
        amp=args.amp, device=args.device, seed=args.seed, loss_config=args.loss_config, encoding=args.encoding,
        augment=not args.no_augment, ckpt_every=args.ckpt_every, log_every=args.log_every,
        resume=args.resume, progress=not args.no_progress, command=command_line())


def run(args: argparse.Namespace) -> int:
    from perspose_rt.cli.validate import check_output_dir

    check_output_dir(args.out, "--out")  # before torch loads: a bad run folder is one line at once
    import torch

    from perspose_rt.train.loop import is_main_process
    from perspose_rt.train.net_trainer import train_net

    torch.set_num_threads(max(1, torch.get_num_threads()))
    summary = train_net(options(args))
    if not is_main_process():
        return 0
    best = summary["best_val_mpjpe_mm"]
    print(f"done: {args.out / 'weights' / 'last.json'} after {summary['steps']} steps"
          + (f"; best.json at step {summary['best_step']} (validation MPJPE {best:.1f} mm)" if best is not None
             else "; no validation set, so no best.json"))
    return 0
