"""What one benchmark run leaves behind: its videos, its time window, and what the runtime measured inside it.

Why a subscription: the GPU scheduler, the embedding batcher and the stage timer publish what they measure on
the runtime's bus (model calls, handoff gaps, embedding batches, stage runs); a run listens while it lasts.
Both runs happen in the same process, one after the other, so each hears only its own.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from vidscribe_flows.batch import VideoOutcome
from vidscribe.embedding_batcher import BatchRecord
from vidscribe.gpu_scheduler import GpuJob, HandoffGap
from vidscribe.runtime import get_runtime
from vidscribe.timing import StageRun


@dataclass(frozen=True)
class VideoRun:
    """One video of a run: the backfill's own record of it, plus what the comparison needs."""

    outcome: VideoOutcome
    text: str = ""  # the stored transcript, to compare the two runs
    wall_seconds: float | None = None  # the video's whole span: its loop (baseline), its flow run (pipeline)


@dataclass
class Window:
    """A run's span (`time.monotonic()`) and what was measured inside it."""

    started: float = 0.0
    ended: float = 0.0
    jobs: list[GpuJob] = field(default_factory=list)
    handoff_gaps: list[float] = field(default_factory=list)
    batches: list[BatchRecord] = field(default_factory=list)
    stage_runs: list[StageRun] = field(default_factory=list)  # stage functions' own runs (bodies)
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)  # when it ended: was the machine shared?

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@contextlib.contextmanager
def window() -> Iterator[Window]:
    """Time the block and collect what the runtime publishes during it."""
    span = Window()
    bus = get_runtime().bus
    listeners: list[tuple[Any, type]] = [
        (span.jobs.append, GpuJob),
        (lambda gap: span.handoff_gaps.append(gap.seconds), HandoffGap),
        (span.batches.append, BatchRecord),
        (lambda run: span.stage_runs.append(run) if run.part == "body" else None, StageRun),
    ]
    unsubscribers = [bus.subscribe(listener, kind) for listener, kind in listeners]
    span.started = time.monotonic()
    try:
        yield span
    finally:
        span.ended = time.monotonic()
        span.load_average = os.getloadavg()
        for unsubscribe in unsubscribers:
            unsubscribe()


@dataclass(frozen=True)
class RunRecord:
    """A whole run: which one, its window, and its videos in feed order."""

    name: str  # baseline | pipeline
    window: Window
    videos: list[VideoRun]
