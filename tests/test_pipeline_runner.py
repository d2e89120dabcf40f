"""Threaded pipeline: order, no drops for files, drops for live sources, errors, shutdown, statistics.

Only behaviour is tested here (order, counts, which frames are kept, what is closed when); how
fast the stages and the end-to-end latency are is measured by ``perspose-rt bench pipeline``
(docs/BENCHMARKS.md), not asserted by timed tests.
"""

from __future__ import annotations

import sys
import threading
import time

import numpy as np
import pytest

from perspose_rt.camera import CameraModel
from perspose_rt.errors import InputError
from perspose_rt.pipeline.live_sources import SimulatedCamera
from perspose_rt.pipeline.runner import Packet, Pipeline, PipelineError
from perspose_rt.types import Frame

CAM = CameraModel.from_f35(50, (64, 48), source="test")


class ListSource:
    """A file-like source of ``n`` tiny frames (``live = False``)."""

    live = False

    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.n, self.fail_at, self.i, self.failed, self.closed = n, fail_at, 0, 0, False

    def read(self) -> Frame | None:
        if self.i == self.fail_at:
            raise OSError("disk read error")
        if self.i >= self.n:
            return None
        f = Frame(self.i, self.i / 25, np.zeros((48, 64, 3), np.uint8), CAM, "list")
        self.i += 1
        return f

    def close(self) -> None:
        self.closed = True


class Step:
    def __init__(self, name: str, delay: float = 0.0, fail_at: int | None = None,
                 exc: type[BaseException] = RuntimeError) -> None:
        self.name, self.delay, self.fail_at, self.exc, self.closed = name, delay, fail_at, exc, False

    def __call__(self, p: Packet) -> Packet:
        if p.frame.index == self.fail_at:
            raise self.exc(f"{self.name} broke on frame {p.frame.index}")
        if self.delay:
            time.sleep(self.delay)
        p.data.setdefault("path", []).append(self.name)
        p.timings["sub"] = 0.5
        return p

    def close(self) -> None:
        self.closed = True


def _threads_left() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("perspose-")]


def test_file_source_keeps_every_frame_in_order() -> None:
    stages = [Step("a"), Step("b", delay=0.001), Step("c")]
    src = ListSource(50)
    with Pipeline(src, stages, queue_size=2) as p:
        out = list(p.results())
    assert [q.frame.index for q in out] == list(range(50))
    assert all(q.data["path"] == ["a", "b", "c"] for q in out)
    s = p.stats.summary()
    assert s["frames_in"] == s["frames_out"] == 50 and s["dropped"] == 0
    assert list(s["stages_ms"])[:4] == ["capture", "a", "b", "c"]
    # one sample per frame and stage; a stage's own sub-timings are reported as it gave them
    assert all(s["stages_ms"][k]["n"] == 50 for k in ("capture", "a", "b", "c"))
    assert s["stages_ms"]["a.sub"] == {"p50": 0.5, "p95": 0.5, "mean": 0.5, "max": 0.5, "n": 50}
    # CPU time is per stage call (not for sub-timings, which a stage measures itself)
    assert s["stages_cpu_ms"]["b"]["n"] == 50 and "a.sub" not in s["stages_cpu_ms"]
    assert s["latency_ms"]["n"] == 50 and s["throughput_fps"] > 0
    assert src.closed and all(st.closed for st in stages)
    assert not _threads_left()


def test_live_source_keeps_only_the_newest_frame() -> None:
    img = np.zeros((48, 64, 3), np.uint8)
    cam = SimulatedCamera([img], fps=200.0, num_frames=100)
    with Pipeline(cam, [Step("slow", delay=0.02)]) as p:
        out = list(p.results())
    idx = [q.frame.index for q in out]
    assert idx == sorted(idx) and len(idx) < 100
    assert p.stats.dropped > 0 and p.stats.dropped + len(idx) >= 95
    # Frames never queue up behind the slow stage: while it works, newer frames replace older
    # ones, so consecutive results skip frames (latency itself: `perspose-rt bench pipeline`).
    assert np.median(np.diff(idx)) >= 2


@pytest.mark.parametrize("where", ["stage", "source"])
def test_failure_stops_everything_with_the_stage_error(where: str) -> None:
    src = ListSource(1000, fail_at=7 if where == "source" else None)
    stages = [Step("a"), Step("b", fail_at=5 if where == "stage" else None), Step("c")]
    with pytest.raises(PipelineError) as info, Pipeline(src, stages) as p:
        for _ in p.results():
            pass
    assert src.i < 100  # the source stopped too, long before its 1000 frames
    assert info.value.stage == ("b" if where == "stage" else "capture")
    assert isinstance(info.value.__cause__, RuntimeError | OSError)
    assert not _threads_left()


def test_user_error_keeps_its_type_and_message() -> None:
    with pytest.raises(InputError, match="broke on frame 3"), \
            Pipeline(ListSource(10), [Step("a", fail_at=3, exc=InputError)]) as p:
        list(p.results())


def test_interrupt_in_consumer_shuts_down_cleanly() -> None:
    src = ListSource(10_000)
    got = 0
    with pytest.raises(KeyboardInterrupt), Pipeline(src, [Step("a"), Step("b")]) as p:
        for _ in p.results():
            got += 1
            if got == 20:
                raise KeyboardInterrupt
    assert src.closed and not _threads_left()


def test_stop_ends_iteration_without_error() -> None:
    img = np.zeros((48, 64, 3), np.uint8)
    with Pipeline(SimulatedCamera([img], fps=100.0), [Step("a")]) as p:
        n = 0
        for _ in p.results():
            n += 1
            if n == 5:
                p.stop()
    assert n >= 5 and not _threads_left()


def test_simulated_camera_unplugged_gives_clear_error() -> None:
    img = np.zeros((48, 64, 3), np.uint8)
    cam = SimulatedCamera([img], fps=100.0, disconnect_after=10, retry_s=0.3)
    with pytest.raises(InputError, match="stopped delivering frames and could not be reopened"), \
            Pipeline(cam, [Step("a")]) as p:
        list(p.results())


def test_simulated_camera_reconnects() -> None:
    img = np.zeros((48, 64, 3), np.uint8)
    cam = SimulatedCamera([img], fps=100.0, num_frames=30, disconnect_after=10, reconnect=True, retry_s=2.0)
    with Pipeline(cam, [Step("a")]) as p:
        out = list(p.results())
    assert cam.reconnects == 1 and len(out) >= 10


def test_ring_buffer_keeps_constant_memory() -> None:
    from perspose_rt.pipeline.timing import PipelineStats, RingBuffer

    rb = RingBuffer(5)
    for v in range(12):
        rb.add(float(v))
    assert rb.count == 12 and rb.values().tolist() == [7, 8, 9, 10, 11] and rb.values(last=2).tolist() == [10, 11]
    st = PipelineStats(capacity=4)
    for i in range(100):
        st.record("x", float(i))
    s = st.summary()["stages_ms"]["x"]
    assert s["n"] == 100 and s["p50"] == 97.5  # percentiles over the last 4 samples


class BusyStage(Step):
    """A stage whose first call takes ``busy_s``; records whether it was closed during a call."""

    def __init__(self, busy_s: float) -> None:
        super().__init__("busy")
        self.busy_s, self.in_call, self.closed_during_call = busy_s, threading.Event(), False
        self.finished = threading.Event()

    def __call__(self, p: Packet) -> Packet:
        self.in_call.set()
        time.sleep(self.busy_s)
        self.in_call.clear()
        self.finished.set()
        return super().__call__(p)

    def close(self) -> None:
        self.closed_during_call |= self.in_call.is_set()
        super().close()


def test_close_never_closes_a_stage_that_is_still_running() -> None:
    """A slow first inference interrupted (Ctrl-C) outlives the join: its stage must not be
    closed under it; the thread closes it when the call returns."""
    busy = BusyStage(busy_s=0.6)
    p = Pipeline(ListSource(3), [busy, Step("after")], join_timeout_s=0.05)
    p.start()
    assert busy.in_call.wait(5)
    p.close()  # the join times out: the stage is still inside its call
    assert not busy.closed and not busy.closed_during_call
    assert busy.finished.wait(5)
    deadline = time.monotonic() + 5
    while not busy.closed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert busy.closed and not busy.closed_during_call
    assert p.stages[1].closed  # the idle stage was closed at once


def test_summary_is_safe_while_stages_add_new_timings() -> None:
    """The live HUD calls summary() mid-run while stage threads add sub-timing keys: without the
    lock this raised "dictionary changed size during iteration"."""
    import sys

    from perspose_rt.pipeline.timing import PipelineStats

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: the race shows within a few rounds
    try:
        for _ in range(5):
            st = PipelineStats(capacity=4)
            stop = threading.Event()

            def stage_thread(st=st, stop=stop) -> None:
                for i in range(300):
                    if stop.is_set():
                        return
                    st.record(f"stage.sub{i}", 1.0, cpu_ms=0.5)
                    time.sleep(0.0002)

            t = threading.Thread(target=stage_thread)
            t.start()
            try:
                while t.is_alive():
                    st.summary()
            finally:
                stop.set()
                t.join()
    finally:
        sys.setswitchinterval(interval)


def test_frames_in_counts_every_frame_from_several_threads() -> None:
    from perspose_rt.pipeline.timing import PipelineStats

    st = PipelineStats()
    threads = [threading.Thread(target=lambda: [st.count_input() for _ in range(20000)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert st.frames_in == 80000


def test_switch_interval_is_lowered_while_running_and_restored() -> None:
    before = sys.getswitchinterval()
    seen = []

    class Probe:
        name = "probe"

        def __call__(self, p: Packet) -> Packet:
            seen.append(sys.getswitchinterval())
            return p

        def close(self) -> None:
            pass

    with Pipeline(ListSource(3), [Probe()], switch_interval_s=0.0005) as pipe:
        assert len(list(pipe.results())) == 3
    assert seen == [pytest.approx(min(before, 0.0005))] * 3
    assert sys.getswitchinterval() == before
    with Pipeline(ListSource(2), [Probe()], switch_interval_s=None) as pipe:
        list(pipe.results())
    assert seen[-1] == before
