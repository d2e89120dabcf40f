"""``perspose-rt eval-lifter``: Human3.6M S9/S11 protocols #1/#2 and the virtual-camera ablation."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from perspose_rt.cli.validate import positive_int
from perspose_rt.paths import shared_data_dir

HELP = "evaluate lifters on Human3.6M S9/S11 (GT 2D, SH detections) and on virtual cameras; writes JSON"
_SECTIONS = ("gt2d", "sh", "virtual", "truncated")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=shared_data_dir() / "h36m",
                        help="Human3.6M folder (default: %(default)s)")
    parser.add_argument("--weights", action="append", default=None, metavar="NAME=JSON",
                        help="lifters for the S9/S11 rows (repeatable; default: the shipped single-frame "
                             "and temporal models, as single=… temporal=…)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=JSON",
                        help="single-frame lifters for the virtual-camera rows, e.g. boxnorm=runs/a/lifter.json "
                             "(repeatable; default: the --weights models that are single-frame)")
    parser.add_argument("--sections", default=",".join(_SECTIONS),
                        help="comma-separated subset of gt2d,sh,virtual,truncated (default: all)")
    parser.add_argument("--virtual-n", type=positive_int, default=20000, help="virtual-camera test samples")
    parser.add_argument("--max-frames", type=positive_int, default=None,
                        help="first N frames of each sequence only (quick checks; the protocol uses all)")
    parser.add_argument("--json", type=Path, default=Path("lifter_eval.json"), help="output (default: %(default)s)")
    parser.add_argument("--threads", type=positive_int, default=2)


def _pairs(items, what):
    from perspose_rt.errors import UserError

    out = {}
    for it in items:
        name, sep, path = it.partition("=")
        if not sep or not name or not path:
            raise UserError(f"{what} must look like NAME=path/to/lifter.json, got {it!r}")
        out[name] = Path(path)
    return out


def run(args: argparse.Namespace) -> int:
    import torch

    from perspose_rt.bench.report import command_line, markdown_table
    from perspose_rt.cli.validate import check_output_file
    from perspose_rt.errors import UserError
    from perspose_rt.io.atomic import atomic_write_text
    from perspose_rt.lifter import evaluate as ev
    from perspose_rt.lifter.api import Lifter
    from perspose_rt.lifter.weights import DEFAULT_SINGLE, DEFAULT_TEMPORAL

    given = [*_pairs(args.weights or [], "--weights").values(), *_pairs(args.variant, "--variant").values()]
    check_output_file(args.json, "--json", [*given, *(p.with_suffix(".safetensors") for p in given)])
    torch.set_num_threads(args.threads)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    bad = set(sections) - set(_SECTIONS)
    if bad:
        raise UserError(f"unknown --sections {sorted(bad)}; choose from {', '.join(_SECTIONS)}")
    if args.weights:
        weights = _pairs(args.weights, "--weights")
    else:
        weights = {"single": DEFAULT_SINGLE}
        if DEFAULT_TEMPORAL.exists():
            weights["temporal"] = DEFAULT_TEMPORAL
    lifters = {name: Lifter.load(p) for name, p in weights.items()}
    variants = ({n: Lifter.load(p) for n, p in _pairs(args.variant, "--variant").items()} if args.variant
                else {n: lf for n, lf in lifters.items() if not lf.temporal})
    result: dict = {"command": command_line(), "data": str(args.data),
                    "weights": {n: str(p) for n, p in weights.items()}, "max_frames": args.max_frames}
    rows = []
    for sec in ("gt2d", "sh"):
        if sec not in sections:
            continue
        t = time.perf_counter()
        seqs = (ev.gt2d_sequences(args.data, max_frames=args.max_frames) if sec == "gt2d"
                else ev.sh_sequences(args.data))
        if sec == "sh" and args.max_frames:
            for s in seqs:
                s.keypoints, s.confidence = s.keypoints[:args.max_frames], s.confidence[:args.max_frames]
                s.joints_cam = s.joints_cam[:args.max_frames]
        for name, lf in lifters.items():
            r = ev.evaluate_sequences(lf, seqs)
            result.setdefault(sec, {})[name] = r
            rows.append([sec, name, f"{r['mpjpe']['action_mean']:.1f}", f"{r['mpjpe']['mean']:.1f}",
                         f"{r['pa_mpjpe']['action_mean']:.1f}", f"{r['accel']['action_mean']:.2f}",
                         str(r["frames"])])
            print(f"{sec}/{name}: MPJPE {r['mpjpe']['action_mean']:.1f} mm, PA-MPJPE "
                  f"{r['pa_mpjpe']['action_mean']:.1f} mm ({r['frames']} frames, "
                  f"{time.perf_counter() - t:.0f} s)", flush=True)
    if rows:
        print()
        print(markdown_table(["input", "model", "MPJPE (action mean)", "MPJPE (all frames)",
                              "PA-MPJPE (action mean)", "accel. error mm/frame² (action mean)", "frames"],
                             rows))
    if "truncated" in sections:
        base = ev.gt2d_sequences(args.data, max_frames=args.max_frames)
        trows = []
        for cut in ev.CUTS:
            seqs = ev.truncate_sequences(base, cut)
            for name, lf in lifters.items():
                r = ev.evaluate_truncated(lf, seqs)
                result.setdefault("truncated", {}).setdefault(cut, {})[name] = r

                def ratio(bone, r=r):
                    q = r.get(f"unseen_{bone}_ratio")
                    return f"{q['median']:.2f} ({q['p5']:.2f}–{q['p95']:.2f})" if q else "–"

                trows.append([cut, name, f"{r['upper_mpjpe_mm']:.1f}", f"{r['thorax_depth_err_pct']:.2f}",
                              f"{r['thorax_err_mm']:.0f}", ratio("thigh"), ratio("shin"), str(r["frames"])])
                print(f"truncated at the {cut}/{name}: upper-body MPJPE {r['upper_mpjpe_mm']:.1f} mm, thorax "
                      f"depth error {r['thorax_depth_err_pct']:.2f} %", flush=True)
        print(markdown_table(["frame cut below the", "model", "upper-body MPJPE (thorax-aligned) mm",
                              "thorax depth error %", "thorax 3D error mm",
                              "unseen thigh length / true (median, p5–p95)", "unseen shin length / true",
                              "frames"], trows))
    if "virtual" in sections:
        vset = ev.virtual_camera_set(args.data, n=args.virtual_n)
        vrows = []
        for name, lf in variants.items():
            if lf.temporal:
                raise UserError(f"--variant {name} is a temporal model; the virtual-camera test takes single-frame ones")
            r = ev.evaluate_virtual(lf, vset)
            r["encoding"] = lf.config.variant
            result.setdefault("virtual", {})[name] = r
            vrows.append([name, lf.config.variant, f"{r['mpjpe']:.1f}", f"{r['root_depth']:.0f}",
                          f"{r['rel_depth']:.1f}", str(r["frames"])])
        print(markdown_table(["model", "encoding", "MPJPE", "root-depth error", "relative-depth error",
                              "samples"], vrows))
    atomic_write_text(args.json, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0
