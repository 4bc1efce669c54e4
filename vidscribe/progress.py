"""The event bus: what each video is doing and what the runtime measures, published to whoever listens.

Why a tiny in-process bus: the same flows run under a Prefect worker (where the UI shows progress through
artifacts) and under the CLI (where a person watches a terminal or a script reads JSON lines); the benchmark
counts model calls, embedding batches and stage runs the same way. Producers emit typed events; each listener
subscribes to one event type; with no subscriber an event costs a function call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

EventKind = Literal["batch", "start", "stage", "done", "failed", "skipped"]
E = TypeVar("E")


@dataclass(frozen=True)
class ProgressEvent:
    kind: EventKind
    video: str = ""  # a source id, or the source as given before it has one
    title: str = ""
    stage: str = ""
    detail: str = ""
    total: int = 0  # for `batch`: how many videos the batch will process
    at: float = field(default_factory=time.time)


class EventBus:
    """Listeners by event type; `emit` calls those subscribed to the event's type."""

    def __init__(self) -> None:
        self._listeners: list[tuple[type, Callable[[Any], None]]] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Callable[[E], None], kind: type[E] = ProgressEvent) -> Callable[[], None]:
        """Call `listener` with every event of type `kind`; returns the function that unsubscribes it."""
        entry = (kind, listener)
        with self._lock:
            self._listeners.append(entry)
        return lambda: self._unsubscribe(entry)

    def _unsubscribe(self, entry: tuple[type, Callable[[Any], None]]) -> None:
        with self._lock:
            self._listeners.remove(entry)

    def emit(self, event: object) -> None:
        with self._lock:
            listeners = [listener for kind, listener in self._listeners if isinstance(event, kind)]
        for listener in listeners:
            listener(event)
