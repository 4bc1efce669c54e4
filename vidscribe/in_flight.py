"""What this process is working on right now: videos (database ids) and Prefect flow runs.

Why: an interrupted run (Ctrl-C, a service manager's SIGTERM) must leave nothing that looks alive. The CLI's
interrupt handler reads this registry to record each video in flight as failed ("interrupted", so `status` says
so and `vidscribe retry` takes it) and to mark each flow run crashed in the Prefect UI, then exits at once,
without waiting for a model call to return.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from uuid import UUID


@dataclass
class InFlight:
    """A thread-safe registry; entries are added for the span of a `video` or `flow_run` block."""

    videos: dict[int, str] = field(default_factory=dict)  # database id -> source id
    flow_runs: list[UUID] = field(default_factory=list)  # outermost first
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextlib.contextmanager
    def video(self, video_id: int, source_id: str) -> Iterator[None]:
        with self._lock:
            self.videos[video_id] = source_id
        try:
            yield
        finally:
            with self._lock:
                self.videos.pop(video_id, None)

    @contextlib.contextmanager
    def flow_run(self, flow_run_id: UUID | None) -> Iterator[None]:
        if flow_run_id is None:  # called outside a flow run (a plain function call in a test)
            yield
            return
        with self._lock:
            self.flow_runs.append(flow_run_id)
        try:
            yield
        finally:
            with self._lock:
                self.flow_runs.remove(flow_run_id)

    def snapshot(self) -> tuple[dict[int, str], list[UUID]]:
        with self._lock:
            return dict(self.videos), list(self.flow_runs)


#: the process's registry (one per process, like the runtime; kept apart from it so that reading it at an
#: interrupt never builds a runtime)
IN_FLIGHT = InFlight()
