"""Several stages in one pipeline thread.

Small stages that take a fraction of a millisecond (the tracker, the lifter, its smoothing, IK
and projection) cost more as threads of their own (a queue hop, a wake-up, GIL hand-offs on a
busy CPU) than they compute, and numpy stages hold the GIL, so their threads could not run side
by side anyway. :class:`StageChain` runs them one after the other in
the thread of the first, under its name (or one given); each later stage's time (wall and CPU of
the thread) is reported as a sub-step (``ik.project``, ``pose.lift``, ``pose.smooth`` … in the
timing tables).
"""

from __future__ import annotations

import time
from typing import Any


class StageChain:
    """Run ``stages`` in order as one stage, named after the first unless ``name`` is given.

    Without ``name``, the first stage's time is the chain's and each later one is a sub-step;
    with ``name``, every stage is a sub-step (``pose.track``, ``pose.lift``, …).
    Attributes of the first stage (``failures``, ``faces``, ``detector_runs``, …) are reachable
    on the chain itself; the others through :attr:`stages`.
    """

    def __init__(self, *stages: Any, name: str | None = None) -> None:
        if not stages:
            raise ValueError("StageChain needs at least one stage")
        self.stages = list(stages)
        self.name = name or self.stages[0].name
        self._timed = self.stages if name else self.stages[1:]

    def __call__(self, p):
        if self._timed is not self.stages:  # unnamed: the first stage's time is the chain's
            p = self.stages[0](p)
        for s in self._timed:
            t0, c0 = time.perf_counter(), time.thread_time()
            p = s(p)
            p.timings[s.name] = (time.perf_counter() - t0) * 1000.0
            p.cpu_timings[s.name] = (time.thread_time() - c0) * 1000.0
        return p

    def __getattr__(self, name: str) -> Any:
        if name == "stages":  # not set yet (e.g. during unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.stages[0], name)

    def close(self) -> None:
        for s in self.stages:
            s.close()
