"""Seconds per stage, recorded for every video (stored with it and shown in summaries)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator


class StageClock:
    """Accumulates wall-clock seconds per named stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - started, 3)
