"""The stage timer: every run of a stage, as a `StageRun` event, and the seconds per stage stored per video.

Why one timer for two spans: a stage's *block* is what the video waited for (the Prefect task run, a queue
for the GPU slot, the CPU pool), its *body* the stage function's own work; the benchmark tells orchestration
overhead from work by the difference. Both are the same record, emitted on the runtime's bus.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from vidscribe.progress import EventBus, ProgressEvent

#: (video, stage) of the work running in this context: GPU calls and stage bodies are attributed to it
current_work: contextvars.ContextVar[tuple[str, str]] = contextvars.ContextVar("current_work", default=("", ""))
#: seconds spent loading models (imports included) within the model call running in this context
_load_seconds: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar("load_seconds", default=None)


@contextlib.contextmanager
def counting_loads() -> Iterator[list[float]]:
    """Sum the `loading()` spans within this block (a model call) into the one-item list it yields.

    Why: the first call of a model pays its import and load (pyannote.audio alone imports for about 9 s on
    2 cores), so a call's time alone would put the set-up of a whole run on one video's inference.
    """
    total = [0.0]
    token = _load_seconds.set(total)
    try:
        yield total
    finally:
        _load_seconds.reset(token)


@contextlib.contextmanager
def loading() -> Iterator[None]:
    """Time a model load (or other one-time set-up) for the model call around it, if one is counting."""
    started = time.monotonic()
    try:
        yield
    finally:
        total = _load_seconds.get()
        if total is not None:
            total[0] += time.monotonic() - started


@dataclass(frozen=True)
class StageRun:
    """One run of a stage (`time.monotonic()` stamps): its whole block, or its function's body."""

    video: str
    stage: str
    started: float
    ended: float
    part: Literal["block", "body"]

    @property
    def seconds(self) -> float:
        return self.ended - self.started


class StageClock:
    """Times a video's stage blocks: seconds per stage (stored with the video), progress and `StageRun` events.

    The stage is also recorded as this context's `current_work`, so GPU calls are attributed to it.
    """

    def __init__(self, video: str, bus: EventBus) -> None:
        self.video = video
        self.bus = bus
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.bus.emit(ProgressEvent("stage", video=self.video, stage=name))
        started = time.monotonic()
        token = current_work.set((self.video, name))
        try:
            yield
        finally:
            current_work.reset(token)
            ended = time.monotonic()
            self.seconds[name] = round(self.seconds.get(name, 0.0) + ended - started, 3)
            self.bus.emit(StageRun(self.video, name, started, ended, "block"))


@contextlib.contextmanager
def stage_body(bus: EventBus, name: str) -> Iterator[None]:
    """Time a stage function's own run, for the video in `current_work`."""
    started = time.monotonic()
    try:
        yield
    finally:
        bus.emit(StageRun(current_work.get()[0], name, started, time.monotonic(), "body"))
