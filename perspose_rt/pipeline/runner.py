"""Threaded pipeline: a capture thread, one thread per stage, bounded channels, results to the caller.

::

    source ──capture thread──▶ [slot | queue] ──stage 1──▶ queue ──stage 2──▶ … ──▶ queue ──▶ caller

* The caller iterates :meth:`Pipeline.results` in its own (main) thread and runs the sinks there
  (OpenCV and Open3D windows must live on the main thread).
* Live sources feed a :class:`~perspose_rt.pipeline.channels.LatestSlot` (newest frame only,
  drops counted); file sources feed a bounded queue (nothing dropped, deterministic output).
* Every stage runs in its own thread, so the stages of consecutive frames overlap; frames stay
  in order because each stage is one thread reading one FIFO.
* A failure in any thread (the source included) stops every thread and is re-raised in the
  caller as :class:`PipelineError` naming the stage, chained to the original exception; a
  :class:`~perspose_rt.errors.UserError` is re-raised as itself so the CLI prints its one line.
  Leaving the ``with`` block (end of input, ``break``, Ctrl-C) stops and joins all threads.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, Self

from perspose_rt.errors import UserError
from perspose_rt.pipeline.channels import END, BoundedChannel, LatestSlot
from perspose_rt.pipeline.timing import PipelineStats
from perspose_rt.types import Frame, Person

log = logging.getLogger(__name__)

#: The interpreter's thread switch interval while a pipeline runs (CPython's default: 5 ms).
#: The detect thread hands each frame to MediaPipe and waits with the GIL released; when it
#: wants the GIL back while the ``pose`` thread computes (≈ 3 ms of numpy a frame), it waits
#: until that thread lets go, up to the interval. Measured on 750 frames at 640x480 (the
#: ``video`` default, 2 cores shared, load 3–4, three alternating pairs): the detect thread's
#: off-CPU time from taking a frame to MediaPipe's wait was 4.84, 5.08, 4.26 ms a frame with 5 ms
#: and 4.03, 3.08, 2.79 ms with 0.5 ms (0.2 ms: no better); without the pose thread it is
#: 1.8–2.9 ms; ``docs/PIPELINE.md``, "Performance".
SWITCH_INTERVAL_S = 0.0005


@dataclass
class Packet:
    """What travels between stages: one frame and everything computed from it so far.

    Attributes:
        frame: the captured frame.
        t_capture: ``time.perf_counter()`` when the frame was captured (live) or decoded (file).
        people: the people in this frame, ordered by ``track_id`` once the tracking stage ran
            (detect → :class:`~perspose_rt.types.Person` with keypoints; the estimator adds
            ``pose``). Empty when nobody was found.
        states: the per-track state of each person, by ``track_id`` (set by the tracking stage,
            used by the per-person stages; see :mod:`perspose_rt.pipeline.people`).
        timings: sub-step durations (ms) a stage wants reported, e.g. ``{"warp": 1.2}``.
        cpu_timings: the CPU time (ms, the stage thread's) of those sub-steps that measure it
            (the stages of a :class:`~perspose_rt.pipeline.chain.StageChain`).
        data: free scratch values (tests, experiments); no stage contract goes through it.
    """

    frame: Frame
    t_capture: float
    people: list[Person] = field(default_factory=list)
    states: dict[int, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    cpu_timings: dict[str, float] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


class Stage(Protocol):
    """A pipeline stage: ``name``, ``__call__(packet) -> packet`` and ``close()``."""

    name: str

    def __call__(self, packet: Packet) -> Packet: ...

    def close(self) -> None: ...


class FrameSource(Protocol):
    """What the pipeline needs from a source (see :mod:`perspose_rt.pipeline.sources`)."""

    live: bool
    failed: int

    def read(self) -> Frame | None: ...

    def close(self) -> None: ...


class PipelineError(RuntimeError):
    """A stage failed; ``stage`` names it and ``__cause__`` is the original exception."""

    def __init__(self, stage: str, exc: BaseException) -> None:
        super().__init__(f"pipeline stage '{stage}' failed: {type(exc).__name__}: {exc}")
        self.stage = stage


class Pipeline:
    """Run ``source`` through ``stages`` in threads.

    Args:
        source: a frame source (``read() -> Frame | None``, ``live``, ``failed``, ``close()``).
        stages: the stages in order.
        queue_size: capacity of each queue between stages (small: latency, not throughput).
        stats: where timings go (a new :class:`PipelineStats` by default).
        join_timeout_s: how long to wait for each thread when stopping.
        switch_interval_s: ``sys.setswitchinterval`` while the threads run (lowered only, and
            restored by :meth:`close`); ``None`` leaves it alone.

    Use as a context manager and iterate :meth:`results`.
    """

    def __init__(self, source: FrameSource, stages: Sequence[Stage], *, queue_size: int = 2,
                 stats: PipelineStats | None = None, join_timeout_s: float = 5.0,
                 switch_interval_s: float | None = SWITCH_INTERVAL_S) -> None:
        self.source = source
        self.stages = list(stages)
        self.stats = stats or PipelineStats()
        self.stats.add_stage("capture")
        for s in self.stages:
            self.stats.add_stage(s.name)
        self._stop = threading.Event()
        self._error: tuple[str, BaseException] | None = None
        self._err_lock = threading.Lock()
        first = LatestSlot() if source.live else BoundedChannel(queue_size)
        self._channels = [first] + [BoundedChannel(queue_size) for _ in self.stages]
        self._threads: list[threading.Thread] = []
        self._join_timeout = join_timeout_s
        self._closed = False
        self._switch_interval = switch_interval_s
        self._saved_interval: float | None = None
        # Closing: a thread still running after the join keeps its stage (or the source) open;
        # the thread closes it itself when it ends (``_done``/``_deferred``, under ``_close_lock``).
        self._close_lock = threading.Lock()
        self._done: set[int] = set()  # thread slots that have ended: 0 = capture, i + 1 = stage i
        self._deferred: set[int] = set()

    # ---------------------------------------------------------------- threads
    def _fail(self, stage: str, exc: BaseException) -> None:
        with self._err_lock:
            if self._error is None:
                self._error = (stage, exc)
        self._stop.set()

    def _capture(self) -> None:
        try:
            self._capture_loop()
        finally:
            self._thread_done(0)

    def _capture_loop(self) -> None:
        out = self._channels[0]
        try:
            while not self._stop.is_set():
                t0 = time.perf_counter()
                frame = self.source.read()
                t1 = time.perf_counter()
                if frame is None:
                    out.put(END, self._stop)
                    return
                self.stats.record("capture", (t1 - t0) * 1000.0)
                self.stats.count_input()
                t_cap = frame.timestamp if self.source.live else t1
                out.put(Packet(frame=frame, t_capture=t_cap), self._stop)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the caller
            self._fail("capture", exc)

    def _work(self, i: int) -> None:
        try:
            self._work_loop(i)
        finally:
            self._thread_done(i + 1)

    def _thread_done(self, slot: int) -> None:
        """A thread ends: if the pipeline was closed while it still ran, close what it used."""
        with self._close_lock:
            self._done.add(slot)
            if slot in self._deferred:
                self._close_slot(slot)

    def _close_slot(self, slot: int) -> None:
        what = "the source" if slot == 0 else f"stage {self.stages[slot - 1].name}"
        try:
            if slot == 0:
                self.source.close()
            else:
                self.stages[slot - 1].close()
        except Exception:
            log.exception("closing %s failed", what)

    def _work_loop(self, i: int) -> None:
        stage, inp, out = self.stages[i], self._channels[i], self._channels[i + 1]
        try:
            while True:
                item = inp.get(self._stop)
                if item is None:
                    return
                if item is END:
                    out.put(END, self._stop)
                    return
                t0, c0 = time.perf_counter(), time.thread_time()
                item = stage(item)
                self.stats.record(stage.name, (time.perf_counter() - t0) * 1000.0,
                                  cpu_ms=(time.thread_time() - c0) * 1000.0)
                for sub, ms in item.timings.items():
                    self.stats.record(f"{stage.name}.{sub}", ms, cpu_ms=item.cpu_timings.get(sub))
                item.timings.clear()
                item.cpu_timings.clear()
                if not out.put(item, self._stop):
                    return
        except BaseException as exc:  # noqa: BLE001
            self._fail(stage.name, exc)

    # ---------------------------------------------------------------- control
    def start(self) -> None:
        if self._threads:
            return
        self.stats.start()
        if self._switch_interval is not None:
            self._saved_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self._saved_interval, self._switch_interval))
        self._threads = [threading.Thread(target=self._capture, name="perspose-capture", daemon=True)]
        self._threads += [threading.Thread(target=self._work, args=(i,), name=f"perspose-{s.name}", daemon=True)
                          for i, s in enumerate(self.stages)]
        for t in self._threads:
            t.start()

    def _raise_error(self) -> None:
        if self._error is not None:
            stage, exc = self._error
            if isinstance(exc, UserError | KeyboardInterrupt):
                raise exc
            raise PipelineError(stage, exc) from exc

    def results(self) -> Iterator[Packet]:
        """Yield finished packets in frame order until the input ends; re-raise any stage failure."""
        self.start()
        final = self._channels[-1]
        while True:
            item = final.get(self._stop)
            if item is None:  # stopped: by a failure or by close()
                self._raise_error()
                return
            if item is END:
                self._raise_error()
                return
            self.stats.record_output(item.t_capture)
            yield item

    @property
    def dropped(self) -> int:
        """Frames dropped so far (live sources: newer frame arrived before the old one was taken)."""
        return self._channels[0].dropped + getattr(self.source, "dropped", 0)

    def stop(self) -> None:
        """Ask every thread to stop (safe from any thread, e.g. a key handler)."""
        self._stop.set()

    def close(self) -> None:
        """Stop, join the threads, close stages and source, and update the drop/failure counts."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        deadline = time.monotonic() + self._join_timeout
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
            if t.is_alive():
                log.warning("thread %s did not stop within %.0f s (left as a daemon; it closes its "
                            "stage when it ends)", t.name, self._join_timeout)
        # A stage (or the source) whose thread is still inside a call is not closed under it
        # (a slow first inference interrupted by Ctrl-C would have its backend freed mid-call).
        with self._close_lock:
            for slot in range(len(self.stages) + 1):
                if self._threads and slot not in self._done:
                    self._deferred.add(slot)
                else:
                    self._close_slot(slot)
        self.stats.dropped = self.dropped
        self.stats.failed = self.source.failed
        if self._saved_interval is not None:
            sys.setswitchinterval(self._saved_interval)
            self._saved_interval = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
