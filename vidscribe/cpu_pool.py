"""The CPU pool: speaker identification and segment building run here, beside the GPU work of other videos.

Why a pool rather than the video's own thread: a backfill keeps several videos in flight, and their CPU
stages must not take more cores than the machine has (`cpu_workers`, one fewer than the cores by default, so
decoding and the thread feeding the GPU keep a core). The caller's context (its Prefect flow run) travels
with the work, so a task started in the pool belongs to the video's flow run.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}  # by size: one in practice, as the setting is read once


def _get_pool(workers: int) -> ThreadPoolExecutor:
    with _lock:
        if workers not in _pools:
            _pools[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cpu-pool")
        return _pools[workers]


def run_in_cpu_pool(workers: int, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `fn` on the process's CPU pool of `workers` threads and wait for its result."""
    context = contextvars.copy_context()
    return _get_pool(workers).submit(context.run, fn, *args, **kwargs).result()
