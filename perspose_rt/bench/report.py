"""Timing statistics and the ``docs/BENCHMARKS.md`` report.

Each benchmark owns one section of the report, delimited by HTML comments
``<!-- bench:NAME -->`` … ``<!-- /bench:NAME -->``; re-running a benchmark replaces its own
section and leaves the others alone. Every section states the machine and the exact command.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import shlex
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perspose_rt.io.atomic import atomic_write_text
from perspose_rt.paths import REPO_ROOT

DEFAULT_REPORT = REPO_ROOT / "docs" / "BENCHMARKS.md"
_HEADER = (
    "# Benchmarks\n\n"
    "Every number below was measured by the command printed with it, on the machine it names. "
    "Re-run a command to refresh its section (`perspose-rt bench …` rewrites only its own section).\n"
)


@dataclass(frozen=True)
class Stats:
    """Summary of a list of durations in milliseconds."""

    n: int
    p50: float
    p95: float
    mean: float
    max: float

    @classmethod
    def of(cls, samples_ms: Iterable[float]) -> Stats:
        a = np.asarray(list(samples_ms), dtype=np.float64)
        if a.size == 0:
            raise ValueError("no samples to summarise")
        return cls(int(a.size), float(np.percentile(a, 50)), float(np.percentile(a, 95)),
                   float(a.mean()), float(a.max()))

    def row(self) -> list[str]:
        return [f"{self.p50:.2f}", f"{self.p95:.2f}", f"{self.mean:.2f}", str(self.n)]


def time_calls(fn: Callable[[], object], n: int, warmup: int = 20) -> list[float]:
    """Call ``fn`` ``warmup`` times untimed, then ``n`` times; each call's duration in ms."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000.0)
    return out


def machine_description() -> str:
    """One line naming the CPU, core count, OS and Python (and the GPU when torch sees one)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    parts = [f"{cpu}, {os.cpu_count()} cores", f"{platform.system()} {platform.release()}",
             f"Python {platform.python_version()}"]
    if hasattr(os, "getloadavg"):  # other work on the machine skews timings: say how much there was
        parts.append("load average (1/5/15 min) at write time {:.2f}/{:.2f}/{:.2f}".format(*os.getloadavg()))
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        parts.append(f"torch {torch.__version__}")
        if torch.cuda.is_available():
            parts.append(f"GPU {torch.cuda.get_device_name(0)}")
    return "; ".join(parts)


def command_line() -> str:
    """The command that is running, as a user would type it."""
    argv = list(sys.argv)
    if argv and argv[0].endswith(("perspose-rt", "__main__.py")):
        argv[0] = "perspose-rt"
    return " ".join(shlex.quote(a) for a in argv)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_section(name: str, title: str, body: str, report: Path | None = None,
                  command: str | None = None) -> Path:
    """Insert or replace the section ``name`` of the report (atomically).

    Args:
        name: section key, e.g. ``"model-cpu"``.
        title: heading shown in the report.
        body: markdown (tables, notes) measured by the caller.
        report: report path (default ``docs/BENCHMARKS.md`` in the repository).
        command: the command to print (default: this process's command line).
    """
    report = Path(report or DEFAULT_REPORT)
    text = report.read_text(encoding="utf-8") if report.exists() else _HEADER
    stamp = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    section = (
        f"<!-- bench:{name} -->\n## {title}\n\n"
        f"- Command: `{command or command_line()}`\n- Machine: {machine_description()}\n- Date: {stamp}\n\n"
        f"{body.rstrip()}\n<!-- /bench:{name} -->\n"
    )
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->\n?", re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section, text)
    else:
        text = text.rstrip() + "\n\n" + section
    atomic_write_text(report, text)
    return report
