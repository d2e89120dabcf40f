"""Temporal smoothing of 3D joints: per-joint Kalman filters and the One-Euro filter.

:func:`make_smoother` builds one from a name (``"kalman-cv"``, ``"kalman-ca"``, ``"one-euro"``,
``"none"``); every smoother has ``update(joints, timestamp, confidence) -> joints`` and ``reset()``.
"""

from __future__ import annotations

import importlib
from typing import Any

#: name → submodule of the filters, imported on first use so that ``SMOOTHERS`` (command-line
#: choices) costs nothing: ``perspose-rt --help`` does not load numpy.
_LAZY = {"KalmanSettings": "kalman", "KalmanSmoother": "kalman", "OneEuroFilter": "one_euro",
         "OneEuroSettings": "one_euro"}

SMOOTHERS = ("kalman-cv", "kalman-ca", "one-euro", "none")


class PassThrough:
    """The ``"none"`` smoother: returns its input."""

    initialized = False

    def reset(self) -> None:
        pass

    def update(self, joints, timestamp=None, confidence=None):
        del timestamp, confidence
        return joints


def make_smoother(name: str, num_joints: int, fps: float | None = None):
    """A smoother by name (see :data:`SMOOTHERS`); ``fps`` sets the nominal time step."""
    from perspose_rt.smoothing.kalman import KalmanSettings, KalmanSmoother
    from perspose_rt.smoothing.one_euro import OneEuroFilter, OneEuroSettings

    dt = 1.0 / fps if fps and fps > 0 else 1.0 / 30.0
    if name == "kalman-cv":
        return KalmanSmoother(num_joints, KalmanSettings(model="cv", nominal_dt=dt))
    if name == "kalman-ca":
        return KalmanSmoother(num_joints, KalmanSettings(model="ca", process_std=1.0, nominal_dt=dt))
    if name == "one-euro":
        return OneEuroFilter(OneEuroSettings(nominal_dt=dt))
    if name == "none":
        return PassThrough()
    raise ValueError(f"unknown smoother {name!r}; choose one of {', '.join(SMOOTHERS)}")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"perspose_rt.smoothing.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SMOOTHERS", "KalmanSettings", "KalmanSmoother", "OneEuroFilter", "OneEuroSettings",
           "PassThrough", "make_smoother"]
