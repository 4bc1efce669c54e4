"""Run many `ingest_video` subflows with bounded parallelism and report on them (not a flow itself).

Why threads: each video's flow spends much of its time downloading, decoding and in CPU stages; running a
few videos at once lets those overlap the model-heavy steps of the others, which take the process's GPU slot
(`vidscribe.gpu_scheduler.gpu_slot`) one at a time. Models are shared, loaded once, across the threads.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact

from vidscribe_flows.ingest import IngestResult, ingest_video
from vidscribe.video import VideoInfo
from vidscribe.progress import ProgressEvent
from vidscribe.runtime import get_runtime


@dataclass(frozen=True)
class VideoOutcome:
    """One row of a backfill summary."""

    source_id: str
    title: str
    status: str  # done | failed | skipped
    audio_seconds: float = 0.0
    segment_count: int = 0
    speaker_count: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    error: str = ""
    telemetry: dict[str, Any] = field(default_factory=dict)
    warning: str = ""

    @classmethod
    def done(cls, result: IngestResult) -> "VideoOutcome":
        return cls(result.source_id, result.title, "done", result.duration, result.segment_count,
                   len(result.speakers), result.stage_seconds, telemetry=result.telemetry, warning=result.warning)

    def row(self) -> dict[str, object]:
        seconds = ", ".join(f"{k} {v:.1f}" for k, v in self.stage_seconds.items())
        busy = self.telemetry.get("gpu_busy_fraction")
        return {"video": self.source_id, "title": self.title, "status": self.status,
                "audio (min)": round(self.audio_seconds / 60, 2), "segments": self.segment_count,
                "speakers": self.speaker_count, "seconds per stage": seconds,
                "peak VRAM (MiB)": self.telemetry.get("peak_vram_mib") or "",
                "GPU busy": f"{busy:.0%}" if busy is not None else ("no GPU" if self.telemetry else ""),
                "error": self.error, "warning": self.warning}


@dataclass(frozen=True)
class BatchSummary:
    """What a backfill, a shard of one, or a retry returns (and persists: a sharded backfill reads its shards').

    Defined here, in a module always imported by its package name, so that a pickled summary loads in any
    process: a flow file loaded from a deployment entrypoint gets a bare module name of Prefect's choosing.
    """

    source: str
    outcomes: list[VideoOutcome]
    note: str = ""

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)


#: Asked just before a video starts: a reason to skip it (another worker has it, say), or None to ingest it.
SkipCheck = Callable[[VideoInfo], str | None]


def _ingest_one(video: VideoInfo, force: bool, skip: SkipCheck | None) -> VideoOutcome:
    reason = skip(video) if skip else None
    if reason:  # decided without a flow run: a shard walking past others' videos leaves no empty runs behind
        get_runtime().bus.emit(ProgressEvent("skipped", video=video.source_id, title=video.title, detail=reason))
        return VideoOutcome(video.source_id, video.title, "skipped", error=reason)
    try:
        named = ingest_video.with_options(flow_run_name=video.source_id)
        result = named(video.url, video, force)
        if result.skipped_reason:
            return VideoOutcome(video.source_id, video.title, "skipped", error=result.skipped_reason)
        return VideoOutcome.done(result)
    except Exception as exc:  # one video's failure is recorded (by the flow) and never stops the batch
        return VideoOutcome(video.source_id, video.title, "failed", error=f"{type(exc).__name__}: {exc}")


def ingest_many(videos: Sequence[VideoInfo], parallel: int, label: str, force: bool = False,
                skip: SkipCheck | None = None) -> list[VideoOutcome]:
    """Ingest `videos` with at most `parallel` at a time; a live progress artifact tracks the batch.

    `skip` is asked when a video's turn comes, not up front: what other workers have done by then counts.
    """
    get_runtime().bus.emit(ProgressEvent("batch", detail=label, total=len(videos)))
    progress = create_progress_artifact(0.0, description=f"{label}: 0/{len(videos)} videos")
    outcomes: list[VideoOutcome] = []
    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="ingest") as pool:
        # copy_context: each thread's flow run is linked to this flow run as its subflow
        futures = [pool.submit(contextvars.copy_context().run, _ingest_one, v, force, skip) for v in videos]
        for future in as_completed(futures):
            outcomes.append(future.result())
            failed = sum(o.status == "failed" for o in outcomes)
            update_progress_artifact(progress, 100.0 * len(outcomes) / len(videos),
                                     description=f"{label}: {len(outcomes)}/{len(videos)} videos, {failed} failed")
    order = {v.source_id: i for i, v in enumerate(videos)}
    return sorted(outcomes, key=lambda o: order[o.source_id])


def publish_summary(outcomes: Sequence[VideoOutcome], key: str, description: str) -> None:
    """The end-of-batch table: one row per video (status, audio, segments, speakers, timings, error)."""
    if outcomes:
        create_table_artifact([o.row() for o in outcomes], key=key, description=description)
