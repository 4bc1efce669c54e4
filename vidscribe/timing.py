"""Seconds per stage, recorded for every video (stored with it and shown in summaries)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from vidscribe.gpu_scheduler import current_work
from vidscribe.progress import ProgressEvent, bus


class StageClock:
    """Accumulates wall-clock seconds per named stage, announcing each stage on the progress bus.

    The stage is also recorded as this context's `current_work`, so GPU calls are attributed to it.
    """

    def __init__(self, video: str) -> None:
        self.video = video
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        bus.emit(ProgressEvent("stage", video=self.video, stage=name))
        started = time.perf_counter()
        token = current_work.set((self.video, name))
        try:
            yield
        finally:
            current_work.reset(token)
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - started, 3)
