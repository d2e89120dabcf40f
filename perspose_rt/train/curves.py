"""Learning curves of ``perspose-rt train`` runs as a picture (for docs/TRAINING.md).

``python -m perspose_rt.train.curves --out PNG [--baseline NAME=MM ...] LABEL=RUN ...`` draws, per
run, the training loss of ``RUN/log.csv`` (left) and the validation MPJPE of ``RUN/val.csv``
(right) against the images seen (step × batch size from ``RUN/run.json``), with horizontal lines
for the given baselines (mm). matplotlib is only imported here.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path


def read_run(run: Path) -> dict[str, list[float]]:
    """``images``/``loss`` from log.csv and ``val_images``/``val_mpjpe`` from val.csv."""
    run = Path(run)
    info = json.loads((run / "run.json").read_text(encoding="utf-8")) if (run / "run.json").exists() else None
    if info is None:  # a run still going: its checkpoint's options are not written yet
        raise FileNotFoundError(f"{run}/run.json not found (the run has not finished)")
    per_step = int(info["options"]["batch_size"]) * int(info.get("world_size", 1))
    out: dict[str, list[float]] = {"images": [], "loss": [], "val_images": [], "val_mpjpe": []}
    with open(run / "log.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            out["images"].append(int(r["step"]) * per_step)
            out["loss"].append(float(r["loss"]))
    if (run / "val.csv").exists():
        with open(run / "val.csv", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                out["val_images"].append(int(r["step"]) * per_step)
                out["val_mpjpe"].append(float(r["val_mpjpe_mm"]))
    return out


def plot_runs(runs: dict[str, Path], out: Path, baselines: dict[str, float] | None = None,
              title: str = "") -> Path:
    """Write the two-panel picture of ``runs`` (label → run folder) to ``out`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for label, run in runs.items():
        d = read_run(run)
        a.plot(d["images"], d["loss"], lw=0.8, label=label)
        if d["val_images"]:
            b.plot(d["val_images"], d["val_mpjpe"], marker="o", ms=3, label=label)
    for name, mm in (baselines or {}).items():
        b.axhline(mm, ls="--", lw=0.8, color="grey")
        b.annotate(f"{name} {mm:.0f} mm", (0.01, mm), xycoords=("axes fraction", "data"),
                   textcoords="offset points", xytext=(3, 3), fontsize=8)
    a.set(xlabel="training images", ylabel="training loss (official weights)", yscale="log")
    b.set(xlabel="training images", ylabel="validation MPJPE (mm)")
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for it in items:
        k, sep, v = it.partition("=")
        if not sep:
            raise SystemExit(f"{what} {it!r}: expected NAME=VALUE")
        out[k] = v
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m perspose_rt.train.curves", description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", metavar="LABEL=RUN")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--baseline", action="append", default=[], metavar="NAME=MM")
    p.add_argument("--title", default="")
    a = p.parse_args(argv)
    runs = {k: Path(v) for k, v in _pairs(a.runs, "run").items()}
    base = {k: float(v) for k, v in _pairs(a.baseline, "--baseline").items()}
    print(plot_runs(runs, a.out, base, a.title))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
