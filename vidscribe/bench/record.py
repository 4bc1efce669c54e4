"""What one benchmark run leaves behind: its videos, its time window, and its slice of the process's logs.

Why slices: the GPU scheduler, the embedding batcher and the stage timer each keep one log per process
(`scheduler.jobs`, `scheduler.handoff_gaps`, `batcher.batches`, `stage_task.stage_runs`). Both runs happen in
the same process, so each run notes where the logs stood when it began and ended, and reads only its part.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from flows.batch import VideoOutcome
from vidscribe.embedding_batcher import BatchRecord, batcher
from vidscribe.gpu_scheduler import GpuJob, scheduler
from vidscribe.stage_task import StageRun, stage_runs


@dataclass(frozen=True)
class VideoRun:
    """One video of a run: the backfill's own record of it, plus what the comparison needs."""

    outcome: VideoOutcome
    text: str = ""  # the stored transcript, to compare the two runs
    wall_seconds: float | None = None  # the video's whole span: its loop (baseline), its flow run (pipeline)


@dataclass(frozen=True)
class Marks:
    """Lengths of the process-wide logs at one moment."""

    jobs: int
    gaps: int
    batches: int
    stage_runs: int

    @classmethod
    def now(cls) -> "Marks":
        return cls(len(scheduler.jobs), len(scheduler.handoff_gaps), len(batcher.batches), len(stage_runs))


@dataclass
class Window:
    """A run's span (`time.monotonic()`) and the log entries made inside it."""

    started: float = 0.0
    ended: float = 0.0
    jobs: list[GpuJob] = field(default_factory=list)
    handoff_gaps: list[float] = field(default_factory=list)
    batches: list[BatchRecord] = field(default_factory=list)
    stage_runs: list[StageRun] = field(default_factory=list)
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)  # when it ended: was the machine shared?

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@contextlib.contextmanager
def window() -> Iterator[Window]:
    """Time the block and collect what the logs gained during it."""
    span = Window()
    before = Marks.now()
    span.started = time.monotonic()
    try:
        yield span
    finally:
        span.ended = time.monotonic()
        span.load_average = os.getloadavg()
        after = Marks.now()
        span.jobs = list(islice(scheduler.jobs, before.jobs, after.jobs))
        span.handoff_gaps = list(islice(scheduler.handoff_gaps, before.gaps, after.gaps))
        span.batches = list(islice(batcher.batches, before.batches, after.batches))
        span.stage_runs = list(islice(stage_runs, before.stage_runs, after.stage_runs))


@dataclass(frozen=True)
class RunRecord:
    """A whole run: which one, its window, and its videos in feed order."""

    name: str  # baseline | pipeline
    window: Window
    videos: list[VideoRun]
