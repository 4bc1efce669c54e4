"""The CPU pool: word attribution, speaker identification and segment building run here, beside the GPU work
of other videos.

Why a pool rather than the video's own thread: a backfill keeps several videos in flight, and their CPU
stages must not take more cores than the machine has (`cpu_workers`, one fewer than the cores by default, so
decoding and the thread feeding the GPU keep a core). The caller's context (its Prefect flow run) travels
with the work, so a task started in the pool belongs to the video's flow run.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

class CpuPool:
    """A pool of `workers` threads for the CPU stages (one per worker process, owned by its runtime)."""

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cpu-pool")

    def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `fn` on the pool, in the caller's context, and wait for its result."""
        context = contextvars.copy_context()
        return self._pool.submit(context.run, fn, *args, **kwargs).result()
