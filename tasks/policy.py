"""How a plain stage function becomes a cached, retryable Prefect task: its cache policy and retry rule.

Why a cache policy of our own: Prefect's default `INPUTS` policy would hash the whole waveform (or a file path as
a string, missing edits to the file). A stage's output depends on exactly these: the audio's content hash, the
settings section the stage reads (`vidscribe.settings.section`), its upstream results (a transcript, turns,
profiles) and the stage's code. Retrying a failed flow run therefore resumes at the failed stage: every
earlier stage is a cache hit.

Every task body is timed as a stage run (`vidscribe.timing.stage_body`): the benchmark subtracts the bodies from
a video's flow time to measure what orchestration and the database cost.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, ParamSpec, TypeVar

from prefect import Task, task
from prefect.cache_policies import CachePolicy
from prefect.client.schemas.objects import TaskRun
from prefect.context import TaskRunContext
from prefect.states import State

from vidscribe import __version__
from vidscribe.errors import BadInputError
from vidscribe.runtime import get_runtime
from vidscribe.settings import Section
from vidscribe.timing import stage_body

P = ParamSpec("P")
R = TypeVar("R")

#: delays between attempts: a transient failure (CUDA hiccup, database restart) gets time to pass
RETRY_DELAYS = [5, 30]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def code_version(fn: Callable[..., Any], *helpers: ModuleType) -> str:
    """The package version plus a hash of the stage's module source and of the `helpers` holding its logic:
    editing a stage, or a module its results follow from, invalidates its cache."""
    files = [inspect.getsourcefile(fn), *(inspect.getsourcefile(module) for module in helpers)]
    return f"{__version__}-{_digest(b''.join(Path(file or '').read_bytes() for file in files))}"


@dataclass
class StagePolicy(CachePolicy):
    """The cache key of one stage: audio hash, settings section, upstream results, code (module docstring)."""

    stage: str = ""
    section: type[Section] | None = None
    version: str = ""

    def compute_key(self, task_ctx: TaskRunContext, inputs: dict[str, Any], flow_parameters: dict[str, Any],
                    **kwargs: Any) -> str | None:
        assert self.section is not None  # set by `stage_task`
        audio = inputs.get("audio")
        upstream = {k: v for k, v in inputs.items() if k not in ("audio", "settings")}
        return "-".join([
            self.stage,
            audio.sha256 if audio is not None else "-",
            self.section.of(inputs["settings"]).cache_key(),
            _digest(pickle.dumps(upstream, protocol=5)),
            self.version,
        ])


def retry_unless_bad_input(_task: Task[..., Any], _run: TaskRun, state: State[Any]) -> bool:
    """Bad media or settings fail the same way every time: retrying them only delays the rest of the batch."""
    error = state.result(raise_on_failure=False)
    return not isinstance(error, BadInputError)


def timed(fn: Callable[P, R], name: str) -> Callable[P, R]:
    """`fn`, each call's own run time published as a stage run (Prefect's bookkeeping stays outside it)."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with stage_body(get_runtime().bus, name):
            return fn(*args, **kwargs)

    return run


def retryable_task(fn: Callable[P, R], name: str, **options: Any) -> Task[P, R]:
    """A Prefect task that retries transient failures and fails bad input at once; its body is `timed`."""
    return task(timed(fn, name), name=name, retries=len(RETRY_DELAYS), retry_delay_seconds=RETRY_DELAYS,
                retry_condition_fn=retry_unless_bad_input, **options)


def stage_task(fn: Callable[P, R], name: str, section: type[Section], *helpers: ModuleType) -> Task[P, R]:
    """A stage `fn(audio?, settings, ...)` as a cached, retryable task; the plain function stays `.fn`.
    `helpers`: the modules besides the stage's own whose code its results follow from (see `code_version`)."""
    policy = StagePolicy(stage=name, section=section, version=code_version(fn, *helpers))
    return retryable_task(fn, name, cache_policy=policy, persist_result=True)
