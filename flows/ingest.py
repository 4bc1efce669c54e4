"""The `ingest_video` flow: one recording from source to searchable, speaker-attributed segments.

The steps themselves, in order, are `vidscribe.pipeline.process_recording`; here each runs as a cached,
retried Prefect task (`TASK_STEPS`, the CPU stages in the worker's CPU pool), under the video's database claim,
with its attempt recorded, its progress published and its report artifact made.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from prefect import flow, get_run_logger
from prefect.context import FlowRunContext
from sqlalchemy import Engine

from vidscribe_tasks.attribute import attribute_task
from vidscribe_tasks.decode import decode_task
from vidscribe_tasks.diarize import diarize_task
from vidscribe_tasks.embed import embed_task
from vidscribe_tasks.fetch import fetch_task
from vidscribe_tasks.identify import identify_task
from vidscribe_tasks.monologue import monologue_task
from vidscribe_tasks.segments import segments_task
from vidscribe_tasks.store import store_task
from vidscribe_tasks.transcribe import transcribe_task
from vidscribe.errors import BadInputError
from vidscribe.in_flight import IN_FLIGHT
from vidscribe.db import (
    DatabaseUnavailableError,
    exclusive,
    get_engine,
    get_video,
    list_profiles,
    mark_failed,
    mark_running,
    upsert_video,
    video_claim,
)
from vidscribe.pipeline import Steps, process_recording
from vidscribe.progress import ProgressEvent
from vidscribe.reports import publish_video_report
from vidscribe.runtime import get_runtime
from vidscribe.settings import Settings, get_settings
from vidscribe.sources import is_url, source_id
from vidscribe.stages.fetch import Fetched
from vidscribe.timing import StageClock
from vidscribe.video import VideoInfo
from vidscribe.video_telemetry import video_telemetry

R = TypeVar("R")


def in_cpu_pool(step: Callable[..., R]) -> Callable[..., R]:
    """`step`, run in the worker's CPU pool: word attribution, speaker ID and segments run beside other videos'
    GPU work."""
    return lambda *args: get_runtime().cpu.run(step, *args)


#: every stage as its Prefect task (cached, retried)
TASK_STEPS = Steps(fetch=fetch_task, decode=decode_task, transcribe=transcribe_task, monologue=monologue_task,
                   diarize=diarize_task, attribute=in_cpu_pool(attribute_task), identify=in_cpu_pool(identify_task),
                   segments=in_cpu_pool(segments_task), embed=embed_task, store=store_task)


@dataclass(frozen=True)
class IngestResult:
    video_id: int
    source_id: str
    title: str
    duration: float
    segment_count: int
    speakers: list[str]
    diarization: str
    stage_seconds: dict[str, float]
    skipped_reason: str = ""
    telemetry: dict[str, Any] = field(default_factory=dict)  # see vidscribe.video_telemetry
    warning: str = ""  # stored with the video: what to know about this transcript (the media ended early)

    @classmethod
    def skipped(cls, video: VideoInfo, reason: str, video_id: int = 0) -> "IngestResult":
        return cls(video_id, video.source_id, video.title, 0.0, 0, [], "", {}, reason)


def tracked_flow_run() -> contextlib.AbstractContextManager[None]:
    """Register the current flow run as in flight, so that an interrupt marks it crashed (see `vidscribe.in_flight`)."""
    context = FlowRunContext.get()
    return IN_FLIGHT.flow_run(context.flow_run.id if context and context.flow_run else None)


def _start_attempt(engine: Engine, info: VideoInfo, settings: Settings) -> int:
    video_id = upsert_video(engine, info)
    mark_running(engine, video_id, settings.worker_name)
    return video_id


def _record_failure(engine: Engine, video_id: int, reason: str) -> None:
    """Mark the video failed, unless the database is what failed: then it cannot be written, and the flow's
    own error (which names the database) is the one to raise. The video stays `running` with no claim on it,
    which `retry_failed` and the next backfill pick up."""
    try:
        mark_failed(engine, video_id, reason)
    except DatabaseUnavailableError as lost:
        get_run_logger().warning("video %d could not be marked failed: %s", video_id, lost)


def _record_unfetched(engine: Engine, source: str, error: BadInputError, settings: Settings) -> None:
    """Record a URL whose fetch failed as a failed video, so `status` shows it and `retry` takes it again.

    Its archive key is the one yt-dlp will give it once fetched (`source_id` reads it off the URL, offline), so a
    later success lands on the same row. A missing local file is not recorded: there is nothing to retry.
    """
    if not is_url(source):
        return
    try:
        key = source_id({}, source)
    except BadInputError:  # no id in the URL: nothing stable to record it under
        return
    stored = get_video(engine, key)  # an earlier attempt's row keeps its metadata (title, channel, date)
    video_id = stored.id if stored is not None else upsert_video(engine, VideoInfo(key, source, source))
    mark_running(engine, video_id, settings.worker_name)
    reason = f"{type(error).__name__}: {error}"
    _record_failure(engine, video_id, reason)
    get_runtime().bus.emit(ProgressEvent("failed", video=key, detail=reason))


@flow(name="ingest-video", flow_run_name="{source}")
def ingest_video(source: str, video: VideoInfo | None = None, force: bool = False) -> IngestResult:
    """Fetch, decode, transcribe, diarize (unless a monologue), name speakers, segment, embed and store.

    `video` is the metadata a backfill already enumerated; with it, even a failed download is recorded.
    A video already stored is skipped unless `force` (then its transcript is replaced, never duplicated).
    Each video is processed under a database claim: a second worker that reaches the same video while it
    is in flight skips it, and a claim dies with its worker, so a crashed run's videos are free at once.
    """
    with tracked_flow_run():
        return _ingest(source, video, force)


def _ingest(source: str, video: VideoInfo | None, force: bool) -> IngestResult:
    settings = get_settings()
    engine = get_engine(settings)
    runtime = get_runtime()
    clock = runtime.clock(video.source_id if video else source)
    fetched = None
    if video is None:  # a single source: its identity (content hash, extractor id) comes with the fetch
        try:
            with clock.stage("fetch"):
                fetched = fetch_task(source, settings)
        except BadInputError as exc:
            _record_unfetched(engine, source, exc, settings)
            raise
        video = fetched.info
        clock.video = video.source_id
    with exclusive(engine, video_claim(video.source_id)) as claimed:
        if not claimed:
            get_run_logger().warning("%s is being processed by another worker: skipped", video.source_id)
            return IngestResult.skipped(video, "being processed by another worker")
        stored = get_video(engine, video.source_id)  # checked under the claim: a finished twin is seen here
        if stored is not None and stored.status == "done" and not force:
            return IngestResult.skipped(video, "already stored", stored.id)
        with runtime.batcher.video_in_flight():  # lets the embedding batch know this video may still join it
            return _process(source, video, fetched, clock, settings, engine)


def _process(source: str, video: VideoInfo, fetched: Fetched | None, clock: StageClock, settings: Settings,
             engine: Engine) -> IngestResult:
    runtime = get_runtime()
    runtime.bus.emit(ProgressEvent("start", video=video.source_id, title=video.title))
    video_id = _start_attempt(engine, video, settings)
    started = time.monotonic()
    telemetry: dict[str, Any] = {}

    def measure() -> dict[str, Any]:
        telemetry.update(video_telemetry(runtime, video.source_id, started, time.monotonic()))
        return telemetry

    try:
        with IN_FLIGHT.video(video_id, video.source_id):
            recording = process_recording(source, settings, steps=TASK_STEPS, known=video, fetched=fetched,
                                          profiles=list_profiles(engine), clock=clock, telemetry=measure)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        _record_failure(engine, video_id, reason)
        runtime.bus.emit(ProgressEvent("failed", video=video.source_id, detail=reason))
        raise
    info, segments = recording.info, recording.segments
    speakers = sorted({s.speaker for s in segments})
    how = recording.diarization.reason or "diarized"
    get_run_logger().info("%s: %d segments, speakers %s, %s", info.title, len(segments), speakers, how)
    result = IngestResult(video_id, info.source_id, info.title, info.duration or 0.0, len(segments), speakers, how,
                          clock.seconds, telemetry=telemetry, warning=recording.audio.note)
    publish_video_report(info.source_id, info.title, info.url, info.duration or 0.0, segments, clock.seconds,
                         telemetry, how, settings)  # markdown artifact with the speaker timeline
    runtime.bus.emit(ProgressEvent("done", video=video.source_id, title=info.title,
                                   detail=f"{len(segments)} segments, {how}"))
    return result
