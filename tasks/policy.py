"""How a plain stage function becomes a cached, retryable Prefect task: its cache policy and retry rule.

Why a cache policy of our own: Prefect's default `INPUTS` policy would hash the whole waveform (or a file path as
a string, missing edits to the file). A stage's output depends on exactly these: the audio's content hash, the
settings section the stage reads (`vidscribe.settings.section`), its upstream results (a transcript, turns,
profiles) and the code of the stage and of the stage logic it imports (`logic_modules`). Retrying a failed
flow run therefore resumes at the failed stage: every earlier stage is a cache hit.

Every task body is timed as a stage run (`vidscribe.timing.stage_body`): the benchmark subtracts the bodies from
a video's flow time to measure what orchestration and the database cost.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from prefect import Task, task
from prefect.cache_policies import CachePolicy
from prefect.client.schemas.objects import TaskRun
from prefect.context import TaskRunContext
from prefect.states import State

import vidscribe
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


#: the packages that hold stage logic: a stage's cache key hashes each of their modules the stage imports
LOGIC_PACKAGES = ("vidscribe.stages.", "vidscribe.speakers.")


def _module_file(name: str) -> Path | None:
    """The source file of module `name` of the vidscribe package; None when `name` is no module (an imported
    function or constant). Found on disk, never imported: importing `a.b.c` to look it up would import `a.b`,
    and a backfill with nothing to do must load no model library (tests/test_layers.py)."""
    base = Path(vidscribe.__file__).parent.parent / name.replace(".", "/")
    return next((path for path in (base.with_suffix(".py"), base / "__init__.py") if path.is_file()), None)


def logic_modules(module: str) -> dict[str, Path]:
    """`module` and, transitively, every module of `LOGIC_PACKAGES` it imports, with their source files.

    Read from the import statements (lazy and type-checking ones included), so that a constant imported from
    another module counts too: the segments stage cuts at `word_speakers.SENTENCE_END`; the attribute stage is
    a thin wrapper of `word_speakers` and `word_voices`. Listing such modules by hand missed some."""
    found: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        path = None if name in found else _module_file(name)
        if path is None:
            continue
        found[name] = path
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                todo += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                todo += [alias.name for alias in node.names]
        todo = [candidate for candidate in todo if candidate.startswith(LOGIC_PACKAGES)]
    return dict(sorted(found.items()))


def code_version(fn: Callable[..., Any]) -> str:
    """The package version plus a hash of the source of the stage's module and of the stage logic it imports
    (`logic_modules`): editing a stage, or a module its results follow from, invalidates its cache."""
    files = logic_modules(fn.__module__).values()
    return f"{__version__}-{_digest(b''.join(path.read_bytes() for path in files))}"


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


def stage_task(fn: Callable[P, R], name: str, section: type[Section]) -> Task[P, R]:
    """A stage `fn(audio?, settings, ...)` as a cached, retryable task; the plain function stays `.fn`."""
    policy = StagePolicy(stage=name, section=section, version=code_version(fn))
    return retryable_task(fn, name, cache_policy=policy, persist_result=True)
