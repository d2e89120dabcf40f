"""Where the detect thread's time goes in the default `video` pipeline (docs/PIPELINE.md, "Start-up and output").

The detect thread is the pipeline's bottleneck: MediaPipe computes one frame at a time, so every
millisecond the thread spends outside MediaPipe's ``wait_until_idle`` lengthens every frame. This
runs the default lifter pipeline on a video (make a 640×480 one with
``perspose_rt.bench.startup.make_video``) and prints, per frame (mean, first 5 frames left out):

* ``pre``: from the stage's start to MediaPipe's wait — wall, the thread's CPU, and off-CPU
  (wall − CPU: waits for the GIL or for a core);
* ``mediapipe``: the wait itself (MediaPipe computing with the GIL released);
* ``post``: after the wait — MediaPipe's own Python (outputs to protobuf) and ours.

Modes: ``normal`` (the pipeline as built), ``nopose`` (the pose thread replaced by nothing: the
lower bound), ``noyield`` (no ``YieldToDetector``), ``switch5ms`` (the interpreter's default 5 ms
switch interval instead of the pipeline's 0.5 ms)::

    .venv/bin/python docs/scripts/detect_thread_waits.py VIDEO [normal|nopose|noyield|switch5ms]
"""

import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the perspose-rt command does

import numpy as np

from perspose_rt.io.results import ResultWriter
from perspose_rt.pipeline.build import EstimatorOptions, build_stages
from perspose_rt.pipeline.lifter_stages import YieldToDetector
from perspose_rt.pipeline.runner import SWITCH_INTERVAL_S, Pipeline
from perspose_rt.pipeline.session import drive
from perspose_rt.pipeline.sources import VideoFileSource


class _TimedGraph:
    """MediaPipe's graph, recording when the wait starts and ends (wall, thread CPU)."""

    def __init__(self, graph, marks: dict) -> None:
        self._graph, self._marks = graph, marks

    def wait_until_idle(self) -> None:
        self._marks["w0"] = (time.perf_counter(), time.thread_time())
        self._graph.wait_until_idle()
        self._marks["w1"] = (time.perf_counter(), time.thread_time())

    def __getattr__(self, name):
        return getattr(self._graph, name)


class _Nothing:
    name = "pose"

    def __call__(self, p):
        return p

    def close(self) -> None:
        pass


def main(video: str, mode: str = "normal") -> None:
    src = VideoFileSource(video)
    stages, meta = build_stages(EstimatorOptions(), fps=src.fps)
    detect, pose = stages
    pipe_detector = detect.detector
    marks: dict = {}
    pipe_detector._pose._graph = _TimedGraph(pipe_detector._pose._graph, marks)
    process = pipe_detector._pose.process

    def timed_process(image):
        out = process(image)
        marks["pr"] = (time.perf_counter(), time.thread_time())
        return out

    pipe_detector._pose.process = timed_process
    rows = []
    call = detect.__call__

    class TimedDetect:
        name = "detect"

        def __call__(self, p):
            a = (time.perf_counter(), time.thread_time())
            p = call(p)
            b = (time.perf_counter(), time.thread_time())
            w0, w1, pr = marks["w0"], marks["w1"], marks["pr"]
            rows.append((w0[0] - a[0], w0[1] - a[1], w1[0] - w0[0], pr[1] - w1[1], b[1] - pr[1]))
            return p

        def close(self) -> None:
            detect.close()

    if mode == "nopose":
        pose.close()
        pose = _Nothing()
    elif mode == "noyield":
        pose.stages = [s for s in pose.stages if not isinstance(s, YieldToDetector)]
        pose._timed = pose.stages
    interval = None if mode == "switch5ms" else SWITCH_INTERVAL_S
    writer = ResultWriter(len(meta["joint_names"]), meta, max_people=1)
    t0 = time.perf_counter()
    drive(Pipeline(src, [TimedDetect(), pose], switch_interval_s=interval),
          lambda p: writer.add_frame(p.frame, p.people))
    wall = time.perf_counter() - t0
    r = np.array(rows[5:]) * 1e3
    print(f"{mode}: {len(rows)} frames in {wall:.1f} s; per frame (ms): pre wall {r[:, 0].mean():.2f}, "
          f"CPU {r[:, 1].mean():.2f}, off-CPU {(r[:, 0] - r[:, 1]).mean():.2f}; mediapipe {r[:, 2].mean():.2f}; "
          f"post CPU: MediaPipe's Python {r[:, 3].mean():.2f}, ours {r[:, 4].mean():.2f}; "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
