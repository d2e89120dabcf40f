"""Running a pipeline to completion for the commands: sinks, metadata, interruption, output files.

:func:`drive` consumes a :class:`~perspose_rt.pipeline.runner.Pipeline` on the calling thread and
hands each finished packet to the sinks, timing them as the ``sink`` stage. A Ctrl-C propagates
as ``KeyboardInterrupt`` *after* the pipeline's threads are stopped, so the caller can still write
the results it has (``ResultWriter.save`` is atomic: the file is always complete).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from perspose_rt.errors import UserError
from perspose_rt.pipeline.runner import Packet, Pipeline
from perspose_rt.pipeline.timing import PipelineStats


def drive(pipe: Pipeline, on_packet: Callable[[Packet], bool | None]) -> PipelineStats:
    """Run ``pipe``; ``on_packet`` returning ``False`` stops it early. Returns the timing."""
    pipe.stats.add_stage("sink")
    with pipe:
        for packet in pipe.results():
            t0 = time.perf_counter()
            keep_going = on_packet(packet)
            pipe.stats.record("sink", (time.perf_counter() - t0) * 1000.0)
            if keep_going is False:
                pipe.stop()
                break
    return pipe.stats


def run_metadata(source: Any, estimator_meta: dict, stats: PipelineStats, **extra: Any) -> dict:
    """The metadata of a result file: estimator, intrinsics, source, fps, timings, counts."""
    cam = getattr(source, "camera", None)
    meta = dict(estimator_meta)
    meta.update({
        "source": str(getattr(source, "path", None) or getattr(source, "folder", None) or getattr(source, "name", "")),
        "source_kind": type(source).__name__,
        "fps": float(getattr(source, "fps", 0.0) or 0.0),
        "resolution": list(cam.resolution) if cam is not None else None,
        "intrinsics_source": cam.source if cam is not None else None,
        "intrinsics_approximate": bool(cam.approximate) if cam is not None else None,
        "dist": cam.dist.tolist() if cam is not None else None,
        "n_failed_frames": int(stats.failed),
        "n_missing_frames": int(getattr(source, "missing", 0)),
        "n_dropped_frames": int(stats.dropped),
        "timings": stats.summary(),
    })
    meta.update(extra)
    return meta


def check_writable(path: str | os.PathLike[str], what: str = "output",
                   inputs: tuple[str | os.PathLike[str] | None, ...] = ()) -> None:
    """Fail early, with one line, when an output file could not be written (before hours of work):
    see :func:`perspose_rt.cli.validate.check_output_file`."""
    from perspose_rt.cli.validate import check_output_file

    check_output_file(path, what, inputs)


def stop_metadata(stop: BaseException | None, reason: str | None = None) -> dict:
    """How a run ended, for its result's metadata, so that a partial file never looks complete.

    Args:
        stop: the exception that ended the run (Ctrl-C, a signal, a broken pipe, an error), or
            ``None`` when it ran to its end.
        reason: the stop reason when ``stop`` is None (default ``"end"``; e.g. ``"max-frames"``).

    Returns:
        ``{"complete", "interrupted", "stop_reason", "error"}``: ``complete`` is True only for a
        run that ended by itself; ``interrupted`` for Ctrl-C, SIGTERM and SIGHUP; ``error`` is
        ``"Type: message"`` of a failure (a broken pipe included), else None.
    """
    from perspose_rt.errors import stop_reason

    interrupted = isinstance(stop, KeyboardInterrupt)
    return {
        "complete": stop is None,
        "interrupted": interrupted,
        "stop_reason": stop_reason(stop) if stop is not None else (reason or "end"),
        "error": None if stop is None or interrupted else f"{type(stop).__name__}: {stop}",
    }


class OverlayVideo:
    """An overlay video written to a temporary file and renamed on :meth:`close` (atomic).

    The writer opens on the first frame (its size); ``close(keep=False)`` discards the file.
    """

    def __init__(self, path: str | os.PathLike[str], fps: float) -> None:
        self.path = Path(path)
        self.fps = fps if fps > 0 else 25.0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix or '.mp4'}")
        self._writer: cv2.VideoWriter | None = None
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        if self._writer is None:
            h, w = image.shape[:2]
            fourcc = cv2.VideoWriter_fourcc(*("MJPG" if self.path.suffix.lower() == ".avi" else "mp4v"))
            self._writer = cv2.VideoWriter(str(self._tmp), fourcc, self.fps, (w, h))
            if not self._writer.isOpened():
                raise UserError(f"cannot write the overlay video {self.path} (use a .mp4 or .avi name)")
        self._writer.write(image)
        self.frames += 1

    def close(self, keep: bool = True) -> Path | None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        if keep and self.frames and self._tmp.exists():
            os.replace(self._tmp, self.path)
            return self.path
        with contextlib.suppress(FileNotFoundError):
            self._tmp.unlink()
        return None
