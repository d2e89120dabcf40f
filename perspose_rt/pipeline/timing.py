"""Per-stage timing, end-to-end latency, throughput and drops of a pipeline run.

Samples live in fixed-size ring buffers, so a run of any length uses constant memory; the
percentiles are over the last ``capacity`` samples (all of them for runs shorter than that).
Everything here is thread-safe: stages record from their own threads.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from perspose_rt.bench.report import Stats, markdown_table


class RingBuffer:
    """The last ``capacity`` float samples (constant memory) and the total count."""

    def __init__(self, capacity: int = 20000) -> None:
        self._a = np.zeros(int(capacity), dtype=np.float64)
        self.count = 0

    def add(self, value: float) -> None:
        self._a[self.count % self._a.size] = value
        self.count += 1

    def values(self, last: int | None = None) -> np.ndarray:
        n = min(self.count, self._a.size)
        if last is not None:
            n = min(n, last)
        idx = (np.arange(self.count - n, self.count)) % self._a.size
        return self._a[idx].copy()


@dataclass
class PipelineStats:
    """Timing of one pipeline run.

    Attributes:
        stage_ms: per stage (in pipeline order), the duration of each call in milliseconds.
        stage_cpu_ms: per stage, the CPU time of the stage's own thread during each call (ms):
            its compute cost without the time spent waiting for a core or the GIL (work that a
            library runs on its own threads, like MediaPipe's, is not in it).
        latency_ms: end-to-end latency per result: capture time → result handed to the sinks.
        frames_in: frames taken from the source; ``frames_out``: results delivered.
        dropped: frames a live source discarded because a newer one arrived first.
        failed: frames a file source could not decode (corrupt or truncated file).
    """

    capacity: int = 20000
    stage_ms: dict[str, RingBuffer] = field(default_factory=dict)
    stage_cpu_ms: dict[str, RingBuffer] = field(default_factory=dict)
    latency_ms: RingBuffer = field(init=False)
    frames_in: int = 0
    frames_out: int = 0
    dropped: int = 0
    failed: int = 0
    _t_start: float | None = None
    _t_end: float | None = None
    _out_times: RingBuffer = field(init=False)

    def __post_init__(self) -> None:
        self.latency_ms = RingBuffer(self.capacity)
        self._out_times = RingBuffer(256)
        self._lock = threading.Lock()

    def add_stage(self, name: str) -> None:
        """Declare a stage so that it is listed in order even before its first sample."""
        with self._lock:
            self.stage_ms.setdefault(name, RingBuffer(self.capacity))

    def record(self, stage: str, ms: float, cpu_ms: float | None = None) -> None:
        with self._lock:
            self.stage_ms.setdefault(stage, RingBuffer(self.capacity)).add(ms)
            if cpu_ms is not None:
                self.stage_cpu_ms.setdefault(stage, RingBuffer(self.capacity)).add(cpu_ms)

    def count_input(self) -> None:
        """One frame was taken from the source (called by the capture thread)."""
        with self._lock:
            self.frames_in += 1

    def record_output(self, capture_time: float, now: float | None = None) -> None:
        """One result reached the sinks; ``capture_time`` is on the ``time.perf_counter`` clock."""
        now = time.perf_counter() if now is None else now
        with self._lock:
            if self._t_start is None:
                self._t_start = now
            self._t_end = now
            self.frames_out += 1
            self.latency_ms.add((now - capture_time) * 1000.0)
            self._out_times.add(now)

    def start(self) -> None:
        with self._lock:
            self._t_start = time.perf_counter()

    @property
    def throughput_fps(self) -> float:
        """Results per second from the start of the run to the last result."""
        if self._t_start is None or self._t_end is None or self._t_end <= self._t_start:
            return 0.0
        return self.frames_out / (self._t_end - self._t_start)

    def recent_fps(self, window: int = 30) -> float:
        """Results per second over the last ``window`` results (for a live HUD)."""
        with self._lock:
            t = self._out_times.values(last=window)
        return float((t.size - 1) / (t[-1] - t[0])) if t.size >= 2 and t[-1] > t[0] else 0.0

    def recent_latency_ms(self, window: int = 30) -> float:
        with self._lock:
            v = self.latency_ms.values(last=window)
        return float(np.median(v)) if v.size else 0.0

    def summary(self) -> dict:
        """A JSON-serialisable summary: per-stage and latency ``{p50, p95, mean, max, n}`` (ms).

        Safe while the stage threads record (the live HUD's ``r``/``s`` keys call it mid-run): the
        samples are copied under the lock, the percentiles computed outside it.
        """
        with self._lock:
            stages = {k: (b.values(), b.count) for k, b in self.stage_ms.items()}
            cpu = {k: (b.values(), b.count) for k, b in self.stage_cpu_ms.items()}
            latency = (self.latency_ms.values(), self.latency_ms.count)
            counts = {"throughput_fps": self.throughput_fps, "frames_in": self.frames_in,
                      "frames_out": self.frames_out, "dropped": self.dropped, "failed": self.failed}

        def stats(sample: tuple) -> dict | None:
            v, n = sample
            if v.size == 0:
                return None
            s = Stats.of(v)
            return {"p50": s.p50, "p95": s.p95, "mean": s.mean, "max": s.max, "n": n}

        return {
            "stages_ms": {k: stats(b) for k, b in stages.items()},
            "stages_cpu_ms": {k: stats(b) for k, b in cpu.items()},
            "latency_ms": stats(latency),
            **counts,
        }

    def table(self) -> str:
        """The summary as a markdown table (printed at exit)."""
        s = self.summary()
        rows = []
        for name, st in list(s["stages_ms"].items()) + [("end-to-end latency", s["latency_ms"])]:
            if st:
                rows.append([name, f"{st['p50']:.1f}", f"{st['p95']:.1f}", f"{st['mean']:.1f}", st["n"]])
        text = markdown_table(["stage", "p50 ms", "p95 ms", "mean ms", "n"], rows)
        text += (f"\nthroughput {s['throughput_fps']:.1f} fps; frames in {s['frames_in']}, "
                 f"out {s['frames_out']}, dropped {s['dropped']}, failed to decode {s['failed']}\n")
        return text
