"""Turn a plain stage function into a cached, retryable Prefect task.

Why a cache key of our own: Prefect's default `INPUTS` policy would hash the whole waveform (or a file path as
a string, missing edits to the file). A stage's output depends on exactly three things: the audio's content
hash, the settings the stage reads, and the stage's code. Upstream results (a transcript, turns, profiles)
are hashed too, because they are the stage's other inputs. Retrying a failed flow run therefore resumes at
the failed stage: every earlier stage is a cache hit.

Every stage body's run is also timed (`stage_runs`), inside the Prefect task and also through the plain `.fn`:
the benchmark subtracts these from a video's flow time to measure what orchestration and the database cost.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import pickle
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from prefect import Task, task
from prefect.client.schemas.objects import TaskRun
from prefect.context import TaskRunContext
from prefect.states import State

from vidscribe import __version__
from vidscribe.audio import BadInputError
from vidscribe.gpu_scheduler import MAX_JOBS, current_work

P = ParamSpec("P")
R = TypeVar("R")

#: delays between attempts: a transient failure (CUDA hiccup, database restart) gets time to pass
RETRY_DELAYS = [5, 30]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def code_version(fn: Callable[..., Any]) -> str:
    """The package version plus a hash of the stage's module source: editing a stage invalidates its cache."""
    source = Path(inspect.getsourcefile(fn) or "").read_bytes()
    return f"{__version__}-{_digest(source)}"


def stage_cache_key(name: str, settings_fields: tuple[str, ...], version: str) -> Callable[..., str]:
    def key(_context: TaskRunContext, parameters: dict[str, Any]) -> str:
        audio = parameters.get("audio")
        settings = parameters["settings"]
        upstream = {k: v for k, v in parameters.items() if k not in ("audio", "settings")}
        return "-".join([
            name,
            audio.sha256 if audio is not None else "-",
            _digest(settings.stage_fields(*settings_fields).encode()),
            _digest(pickle.dumps(upstream, protocol=5)),
            version,
        ])

    return key


def retry_unless_bad_input(_task: Task[..., Any], _run: TaskRun, state: State[Any]) -> bool:
    """Bad media or settings fail the same way every time: retrying them only delays the rest of the batch."""
    error = state.result(raise_on_failure=False)
    return not isinstance(error, BadInputError)


@dataclass(frozen=True)
class StageRun:
    """One run of a stage function's body (`time.monotonic()` stamps), for the video in `current_work`."""

    video: str
    stage: str
    started: float
    ended: float

    @property
    def seconds(self) -> float:
        return self.ended - self.started


#: every stage body's run in this process, oldest first (bounded like the GPU scheduler's job log)
stage_runs: deque[StageRun] = deque(maxlen=MAX_JOBS)


def timed(fn: Callable[P, R], name: str) -> Callable[P, R]:
    """`fn`, recording each call's own run time in `stage_runs` (Prefect's bookkeeping stays outside it)."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.monotonic()
        try:
            return fn(*args, **kwargs)
        finally:
            stage_runs.append(StageRun(current_work.get()[0], name, started, time.monotonic()))

    return run


def retryable_task(fn: Callable[P, R], name: str, **options: Any) -> Task[P, R]:
    """A Prefect task that retries transient failures and fails bad input at once; its body is `timed`."""
    return task(timed(fn, name), name=name, retries=len(RETRY_DELAYS), retry_delay_seconds=RETRY_DELAYS,
                retry_condition_fn=retry_unless_bad_input, **options)


def stage_task(name: str, settings_fields: tuple[str, ...]) -> Callable[[Callable[P, R]], Task[P, R]]:
    """Decorator for a stage `fn(audio?, settings, ...)`; the plain function stays callable as `.fn`."""

    def wrap(fn: Callable[P, R]) -> Task[P, R]:
        return retryable_task(fn, name, cache_key_fn=stage_cache_key(name, settings_fields, code_version(fn)),
                              persist_result=True)

    return wrap
