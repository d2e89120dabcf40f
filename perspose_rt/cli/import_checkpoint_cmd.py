"""``perspose-rt import-checkpoint OFFICIAL.pth OUT``: official PersPose checkpoint → our weights format."""

from __future__ import annotations

import argparse
import sys

HELP = "convert an official PersPose checkpoint (.pth) to perspose-rt weights (safetensors + JSON)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="official release file, e.g. ckpt_w_be_3dhp_35epochs.pth")
    parser.add_argument("out", help="output name: writes OUT.safetensors and OUT.json")
    parser.add_argument("--force", action="store_true", help="overwrite existing output files")


def run(args: argparse.Namespace) -> int:
    from perspose_rt.cli.validate import check_output_file
    from perspose_rt.errors import WeightsError
    from perspose_rt.models.official import (
        CheckpointMismatch,
        convert_official_state_dict,
        load_official_state_dict,
        read_official_checkpoint,
    )
    from perspose_rt.models.weights import save_weights, weights_paths

    st_path, json_path = weights_paths(args.out)
    for path in (st_path, json_path):
        check_output_file(path, "output", (args.checkpoint,))
    existing = [str(p) for p in (st_path, json_path) if p.exists()]
    if existing and not args.force:
        raise WeightsError(f"{', '.join(existing)} already exist; pass --force to overwrite")
    obj = read_official_checkpoint(args.checkpoint)
    try:
        tensors, info = convert_official_state_dict(obj)
    except CheckpointMismatch as exc:
        for line in exc.report.lines():
            print(f"  {line}", file=sys.stderr)
        raise
    net = load_official_state_dict(tensors)
    save_weights(net, st_path)
    notes = [f"dropped {len(info.dropped)} smpl.* tensors"] if info.dropped else []
    notes += ["stripped the 'module.' prefix"] if info.stripped_module_prefix else []
    notes += [f"cast {len(info.cast_to_float32)} tensors to float32"] if info.cast_to_float32 else []
    notes += ["read checkpoint['model']"] if info.wrapped_in_model_key else ["read a raw state_dict"]
    print(f"imported {info.kept} tensors ({'; '.join(notes)}) → {st_path} + {json_path}")
    return 0
