"""Progress events: what each video is doing, published to whoever listens in this process.

Why a tiny in-process bus: the same flows run under a Prefect worker (where the UI shows progress through
artifacts) and under the CLI (where a person watches a terminal or a script reads JSON lines). Flows emit
events; the CLI subscribes a renderer; with no subscriber an event costs a function call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

EventKind = Literal["batch", "start", "stage", "done", "failed", "skipped"]


@dataclass(frozen=True)
class ProgressEvent:
    kind: EventKind
    video: str = ""  # a source id, or the source as given before it has one
    title: str = ""
    stage: str = ""
    detail: str = ""
    total: int = 0  # for `batch`: how many videos the batch will process
    at: float = field(default_factory=time.time)


Listener = Callable[[ProgressEvent], None]


class ProgressBus:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add a listener; returns the function that removes it."""
        with self._lock:
            self._listeners.append(listener)
        return lambda: self._unsubscribe(listener)

    def _unsubscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.remove(listener)

    def emit(self, event: ProgressEvent) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)


#: the process-wide bus the flows publish to
bus = ProgressBus()
