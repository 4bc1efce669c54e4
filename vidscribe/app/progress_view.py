"""Show progress events in a terminal (rich), as JSON lines (scripts), or not at all (quiet)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from vidscribe.progress import ProgressEvent

Mode = Literal["rich", "json", "quiet"]


@dataclass
class Tracker:
    """Counts and in-flight stages of a batch, and an ETA from the pace of finished videos."""

    parallel: int = 1
    total: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    active: dict[str, list] = field(default_factory=dict)  # video -> [title, stage, started]
    durations: list[float] = field(default_factory=list)

    def update(self, event: ProgressEvent) -> None:
        if event.kind == "batch":
            self.total += event.total
        elif event.kind == "start":
            self.active[event.video] = [event.title, "starting", event.at]
        elif event.kind == "stage" and event.video in self.active:
            self.active[event.video][1] = event.stage
        elif event.kind in ("done", "failed"):
            started = self.active.pop(event.video, [None, None, event.at])[2]
            self.durations.append(event.at - started)
            self.done += event.kind == "done"
            self.failed += event.kind == "failed"
            self.total = max(self.total, self.done + self.failed + len(self.active))
        elif event.kind == "skipped":
            self.skipped += 1

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.done - self.failed)

    def eta_seconds(self) -> float | None:
        """Mean seconds per finished video, times the videos left, shared among the parallel slots."""
        if not self.durations or not self.remaining:
            return None
        return sum(self.durations) / len(self.durations) * self.remaining / max(1, self.parallel)

    def render(self) -> Group:
        table = Table("video", "stage", "elapsed", box=None, pad_edge=False)
        now = time.time()
        for title, stage, started in self.active.values():
            table.add_row(title[:60], stage, f"{now - started:.0f} s")
        eta = self.eta_seconds()
        summary = (f"done {self.done}  failed {self.failed}  remaining {self.remaining}"
                   f"{f'  skipped {self.skipped}' if self.skipped else ''}"
                   f"{f'  ETA {eta / 60:.1f} min' if eta is not None else ''}")
        return Group(table, Text(summary, style="bold"))


def write_json_line(record: dict[str, object]) -> None:
    """One JSON object per line on stdout, flushed at once so a reading script sees it live."""
    sys.stdout.write(json.dumps(record, default=str) + "\n")
    sys.stdout.flush()


def _json_line(event: ProgressEvent) -> None:
    write_json_line(dataclasses.asdict(event))


@contextlib.contextmanager
def watch(mode: Mode, parallel: int = 1, console: Console | None = None) -> Iterator[Tracker]:
    """Render progress events for the duration of a command."""
    from vidscribe.runtime import get_runtime  # the runtime is for commands that run flows

    tracker = Tracker(parallel=parallel)
    bus = get_runtime().bus
    if mode == "json":
        unsubscribe = bus.subscribe(_json_line)
    elif mode == "rich":  # re-rendered 4 times a second, so elapsed times tick between events
        live = Live(console=console, refresh_per_second=4, transient=True, get_renderable=tracker.render)
        live.start()
        unsubscribe = bus.subscribe(tracker.update)
    else:
        unsubscribe = bus.subscribe(tracker.update)
    try:
        yield tracker
    finally:
        unsubscribe()
        if mode == "rich":
            live.stop()
