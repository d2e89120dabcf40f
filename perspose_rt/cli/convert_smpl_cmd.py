"""``perspose-rt convert-smpl PATH``: turn the licensed SMPL pickles into plain .npz files once."""

from __future__ import annotations

import argparse
import logging

HELP = "convert your licensed SMPL .pkl model files into plain .npz files (no chumpy, no pickle at run time)"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="an SMPL .pkl file, or a folder holding them (e.g. SMPL_NEUTRAL.pkl, "
                                     "basicmodel_m_lbs_10_207_0_v1.1.0.pkl)")
    parser.add_argument("-o", "--output", default=None,
                        help="output .npz (for one pickle) or folder (default: beside each pickle, named "
                             "SMPL_<GENDER>.npz when the file name tells the gender)")
    parser.add_argument("--force", action="store_true", help="overwrite existing .npz files")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from perspose_rt.cli.validate import check_output_file
    from perspose_rt.errors import InputError
    from perspose_rt.kinematics.smpl_convert import convert_smpl_pickle, default_npz_name

    src = Path(args.path).expanduser()
    if src.is_dir():
        pickles = sorted(src.glob("*.pkl")) + sorted((src / "smpl").glob("*.pkl"))
        if not pickles:
            raise InputError(f"no .pkl files in {src}")
    elif src.is_file():
        pickles = [src]
    else:
        raise InputError(f"{src} does not exist")
    out = Path(args.output).expanduser() if args.output else None
    if out is not None and out.suffix.lower() == ".npz" and len(pickles) > 1:
        raise InputError("--output must be a folder when converting several pickles")
    for pkl in pickles:
        if out is None:
            dst = None
        elif out.suffix.lower() == ".npz":
            dst = out
        else:
            dst = out / default_npz_name(pkl).name
        check_output_file(dst if dst is not None else default_npz_name(pkl), "output", (pkl,))
        written = convert_smpl_pickle(pkl, dst, overwrite=args.force)
        log.info("converted %s -> %s", pkl, written)
    return 0
