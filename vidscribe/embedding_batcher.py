"""Text embeddings in large batches that span the videos in flight.

Why: one video's few dozen segments make a small batch that leaves the GPU mostly idle between kernel
launches, and each small call pays the GPU slot handoff. Videos of a backfill reach the embedding step at
different times, so a request waits (up to `embed_linger_seconds`) for the others: the batch is sent as soon
as it holds `text_embedding_batch_size` texts, or every video in flight in this worker is waiting on it (no
one else can add), or the oldest request has waited its linger. One waiting thread then embeds the lot.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from vidscribe.progress import EventBus
from vidscribe.timing import current_work

Encoder = Callable[[list[str]], np.ndarray]


@dataclass
class _Request:
    texts: list[str]
    video: str
    since: float = field(default_factory=time.monotonic)
    vectors: np.ndarray | None = None
    error: BaseException | None = None


@dataclass(frozen=True)
class BatchRecord:
    """One encode call: how many texts, from how many videos (published on the bus; the benchmark counts them)."""

    texts: int
    videos: int


class EmbeddingBatcher:
    """Coalesces concurrent embedding requests into one encode call (see the module docstring)."""

    def __init__(self, bus: EventBus) -> None:
        self._cond = threading.Condition()
        self._pending: list[_Request] = []
        self._in_flight = 0
        self._bus = bus

    @contextlib.contextmanager
    def video_in_flight(self) -> Iterator[None]:
        """Held by each video being processed, so a batch knows how many could still join it."""
        with self._cond:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify_all()  # a batch may now be complete: everyone left is waiting

    def _ready(self, batch_size: int, linger: float) -> bool:
        queued = sum(len(r.texts) for r in self._pending)
        everyone_waiting = len(self._pending) >= self._in_flight
        waited = time.monotonic() - self._pending[0].since
        return queued >= batch_size or everyone_waiting or waited >= linger

    def embed(self, texts: list[str], batch_size: int, linger: float, encode: Encoder) -> np.ndarray:
        """Vectors for `texts`, computed in a batch with other videos' texts when they come in time."""
        request = _Request(texts, current_work.get()[0])
        with self._cond:
            self._pending.append(request)
            self._cond.notify_all()
            while request.vectors is None and request.error is None:
                if request in self._pending and self._ready(batch_size, linger):
                    batch, self._pending = self._pending, []
                    break
                remaining = linger - (time.monotonic() - self._pending[0].since) if self._pending else linger
                self._cond.wait(timeout=max(0.01, remaining))
            else:
                return self._result(request)
        self._run(batch, encode)
        return self._result(request)

    def _run(self, batch: list[_Request], encode: Encoder) -> None:
        texts = [t for r in batch for t in r.texts]
        try:
            vectors = encode(texts)
        except BaseException as exc:  # every waiter gets the error, not just the thread that ran the batch
            with self._cond:
                for r in batch:
                    r.error = exc
                self._cond.notify_all()
            return
        with self._cond:
            offset = 0
            for r in batch:
                r.vectors = vectors[offset:offset + len(r.texts)]
                offset += len(r.texts)
            self._cond.notify_all()
        self._bus.emit(BatchRecord(len(texts), len({r.video for r in batch})))

    @staticmethod
    def _result(request: _Request) -> np.ndarray:
        if request.error is not None:
            raise request.error
        return np.asarray(request.vectors)

