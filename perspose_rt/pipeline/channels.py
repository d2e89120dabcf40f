"""Connections between pipeline threads: a bounded FIFO and a newest-only slot.

Both have ``put(item, stop)`` and ``get(stop) -> item | None`` that wait in short slices and give
up (``put`` returns ``False``, ``get`` returns ``None``) as soon as ``stop`` is set, so no thread
can hang on a full or empty channel once the pipeline is stopping. :data:`END` marks the end of
input and is never dropped.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

#: Sentinel that travels through the pipeline after the last frame.
END = object()

_POLL_S = 0.02


class BoundedChannel:
    """A FIFO of at most ``maxsize`` items: ``put`` blocks while it is full (file sources: no drops)."""

    def __init__(self, maxsize: int = 2) -> None:
        self._q: queue.Queue[Any] = queue.Queue(maxsize=max(1, int(maxsize)))
        self.dropped = 0

    def put(self, item: Any, stop: threading.Event) -> bool:
        while not stop.is_set():
            try:
                self._q.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def get(self, stop: threading.Event) -> Any | None:
        while not stop.is_set():
            try:
                return self._q.get(timeout=_POLL_S)
            except queue.Empty:
                continue
        return None


class LatestSlot:
    """Holds only the newest item (live sources): a ``put`` replaces an unread item and counts it dropped.

    Latency cannot build up behind a slow stage: the stage always gets the newest frame.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Any = None
        self._has_item = False
        self._ended = False
        self.dropped = 0

    def put(self, item: Any, stop: threading.Event) -> bool:
        with self._cond:
            if item is END:
                self._ended = True
            else:
                if self._has_item:
                    self.dropped += 1
                self._item, self._has_item = item, True
            self._cond.notify_all()
        return not stop.is_set()

    def get(self, stop: threading.Event) -> Any | None:
        with self._cond:
            while not stop.is_set():
                if self._has_item:
                    item, self._item, self._has_item = self._item, None, False
                    return item
                if self._ended:
                    return END
                self._cond.wait(timeout=_POLL_S)
        return None
