"""``perspose-rt bench model``: latency of the PersPose network per backend, width and batch size.

Each configuration runs ``backend.infer`` (host arrays in, host arrays out, so the copies are
included) on fixed inputs: a few warm-up calls, then timed calls until ``--iters`` samples or the
per-configuration time budget is reached (at least 3). Latency is reported per batch and per
crop. Peers are compared in the same run: on the CPU PyTorch FP32 eager vs ONNX Runtime; on CUDA
PyTorch FP32 eager (the official code path) vs FP16 + channels-last + CUDA graph, with the
largest 3D-joint difference between them.

Weights: ``--weights`` (one file, its own width) or, by default, randomly initialised networks of
each ``--variant`` (latency does not depend on the weight values).
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perspose_rt.cli.validate import device, nonnegative_int, positive_float, positive_int

HELP = "latency of the PersPose network (torch / onnxruntime / tensorrt) per width and batch size"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", nargs="+", default=["torch", "onnxruntime"],
                        choices=("torch", "onnxruntime", "tensorrt"), help="backends to time")
    parser.add_argument("--variant", nargs="+", default=["w48", "w32", "w18s"], help="network widths")
    parser.add_argument("--weights", help="time this weights file instead of random networks")
    parser.add_argument("--engine", help="engine folder for --backend tensorrt")
    parser.add_argument("--batch", nargs="+", type=positive_int, default=[1, 4, 8], help="batch sizes")
    parser.add_argument("--device", type=device, default="cpu", help="cpu or cuda")
    parser.add_argument("--iters", type=positive_int, default=20, help="timed calls per configuration (at most)")
    parser.add_argument("--warmup", type=nonnegative_int, default=2, help="untimed calls first")
    parser.add_argument("--budget-s", type=positive_float, default=20.0,
                        help="stop timing a configuration after this many seconds (min. 3 samples unless --iters < 3)")
    parser.add_argument("--threads", type=positive_int, default=os.cpu_count(), help="CPU threads (torch, ORT)")
    parser.add_argument("--report", help="markdown report to update (default docs/BENCHMARKS.md)")
    parser.add_argument("--no-report", action="store_true", help="print only")


@dataclass
class Row:
    variant: str
    backend: str
    batch: int
    stats: object  # perspose_rt.bench.report.Stats of the batch latency, ms

    def cells(self) -> list[str]:
        s, b = self.stats, self.batch
        return [self.variant, self.backend, str(b), f"{s.p50:.1f}", f"{s.p95:.1f}", f"{s.p50 / b:.1f}",
                f"{s.p95 / b:.1f}", f"{1000.0 * b / s.p50:.1f}", str(s.n)]


def time_backend(backend, batch: int, iters: int, warmup: int, budget_s: float, size: int = 256):
    """Stats (ms per batch call) and the last output, on fixed sample inputs."""
    from perspose_rt.bench.report import Stats
    from perspose_rt.models.export import sample_inputs

    image, K = sample_inputs(batch, size, seed=batch)
    out = None
    for _ in range(warmup):
        out = backend.infer(image, K)
    samples: list[float] = []
    t_end = time.perf_counter() + budget_s
    while len(samples) < iters and (len(samples) < min(3, iters) or time.perf_counter() < t_end):
        t0 = time.perf_counter()
        out = backend.infer(image, K)
        samples.append((time.perf_counter() - t0) * 1000.0)
    return Stats.of(samples), out


def _backends_for(net, names: list[str], device: str, threads: int, tmp: Path, engine: str | None):
    """(label, backend) pairs for one network; peers first so that they are compared."""
    from perspose_rt.backends.torch_backend import TorchBackend

    cuda = device.startswith("cuda")
    for name in names:
        if name == "torch":
            if cuda:
                yield "torch fp32 eager", TorchBackend(net, device, fp16=False, channels_last=False, cuda_graph=False)
                yield "torch fp16+cl+graph", TorchBackend(net, device)
            else:
                yield "torch fp32", TorchBackend(net, "cpu", threads=threads)
        elif name == "onnxruntime":
            from perspose_rt.backends.onnx_backend import OnnxRuntimeBackend
            from perspose_rt.models.export import export_onnx

            path = export_onnx(net, tmp / f"{net.config.backbone.name}.onnx")
            yield f"onnxruntime {'cuda' if cuda else 'cpu'} fp32", OnnxRuntimeBackend(
                path, device="cuda" if cuda else "cpu", threads=threads)
        elif name == "tensorrt":
            from perspose_rt.backends.tensorrt_backend import TensorRTBackend
            from perspose_rt.errors import UserError

            if not engine:
                raise UserError("--backend tensorrt needs --engine engines/NAME (built by build_engine.py)")
            be = TensorRTBackend(engine)
            yield f"tensorrt {be.manifest.precision}", be


def run(args: argparse.Namespace) -> int:
    import torch

    from perspose_rt.bench.report import markdown_table, write_section
    from perspose_rt.models import NetConfig, PersPoseNet

    torch.set_num_threads(args.threads)
    nets = []
    if args.weights:
        nets.append(PersPoseNet.from_weights(args.weights))
    else:
        for v in args.variant:
            torch.manual_seed(0)
            nets.append(PersPoseNet(NetConfig.variant(v)).eval())
    load_start = os.getloadavg()[0]
    rows: list[Row] = []
    agree: list[list[str]] = []
    header = ["width", "backend", "batch", "p50 ms/batch", "p95 ms/batch", "p50 ms/crop", "p95 ms/crop",
              "crops/s", "n"]
    print(" | ".join(header))
    with tempfile.TemporaryDirectory(prefix="perspose-bench-") as tmp:
        for net in nets:
            width = net.config.backbone.name
            backends = list(_backends_for(net, args.backend, args.device, args.threads, Path(tmp), args.engine))
            for batch in args.batch:
                ref, ref_label = None, ""
                for label, be in backends:
                    stats, out = time_backend(be, batch, args.iters, args.warmup, args.budget_s)
                    rows.append(Row(width, label, batch, stats))
                    print(" | ".join(rows[-1].cells()), flush=True)
                    if ref is None:
                        ref, ref_label = out, label
                    else:
                        duv = float(np.abs(out.uv - ref.uv).max())
                        dxyz = 1000.0 * float(np.abs(out.xyz - ref.xyz).max())
                        agree.append([width, str(batch), f"{label} vs {ref_label}", f"{duv:.2e}", f"{dxyz:.2e}"])
            for _, be in backends:
                be.close()
    body = markdown_table(header, [r.cells() for r in rows])
    if agree:
        body += "\nSame inputs, largest difference between peers:\n\n" + markdown_table(
            ["width", "batch", "comparison", "max |Δuv| px", "max |Δxyz| mm"], agree)
        for line in agree:
            print("agreement:", " | ".join(line))
    notes = (f"\nRandomly initialised networks (latency does not depend on the weight values); "
             f"{args.threads} CPU threads; warm-up {args.warmup}, at most {args.iters} timed calls or "
             f"{args.budget_s:g} s per row. Latency includes host↔device copies. 1-minute load average "
             f"{load_start:.1f} at the start and {os.getloadavg()[0]:.1f} at the end ({os.cpu_count()} cores): "
             "on a shared machine the CPU numbers are only indicative.\n")
    if not args.no_report:
        device = "cuda" if args.device.startswith("cuda") else "cpu"
        path = write_section(f"model-{device}", f"PersPose network latency ({device})", body + notes,
                             report=Path(args.report) if args.report else None)
        print(f"updated {path}")
    return 0
