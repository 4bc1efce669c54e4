"""The `ingest_video` flow: one recording from source to searchable, speaker-attributed segments.

Read this as the pipeline's table of contents; each step is a task in `tasks/`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

from prefect import flow, get_run_logger
from sqlalchemy import Engine

from tasks.decode import decode_task
from tasks.diarize import diarize_task
from tasks.embed import embed_task
from tasks.fetch import Fetched, fetch_task
from tasks.identify import identify_task
from tasks.monologue import monologue_task
from tasks.segments import segments_task
from tasks.store import store_task
from tasks.transcribe import transcribe_task
from vidscribe.db import (
    DatabaseUnavailableError,
    VideoInfo,
    exclusive,
    get_engine,
    get_video,
    list_profiles,
    mark_failed,
    mark_running,
    upsert_video,
    video_claim,
)
from vidscribe.cpu_pool import run_in_cpu_pool
from vidscribe.embedding_batcher import batcher
from vidscribe.progress import ProgressEvent, bus
from vidscribe.reports import publish_video_report
from vidscribe.settings import Settings, get_settings
from vidscribe.timing import StageClock
from vidscribe.video_telemetry import video_telemetry


@dataclass(frozen=True)
class IngestResult:
    video_id: int
    source_id: str
    title: str
    duration: float
    segments: int
    speakers: list[str]
    diarization: str
    stage_seconds: dict[str, float]
    diarization_peak_vram_mib: float | None
    skipped_reason: str = ""
    telemetry: dict[str, Any] = field(default_factory=dict)  # see vidscribe.video_telemetry

    @classmethod
    def skipped(cls, video: VideoInfo, reason: str, video_id: int = 0) -> "IngestResult":
        return cls(video_id, video.source_id, video.title, 0.0, 0, [], "", {}, None, reason)


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


@flow(name="ingest-video", flow_run_name="{source}")
def ingest_video(source: str, video: VideoInfo | None = None, force: bool = False) -> IngestResult:
    """Fetch, decode, transcribe, diarize (unless a monologue), name speakers, segment, embed and store.

    `video` is the metadata a backfill already enumerated; with it, even a failed download is recorded.
    A video already stored is skipped unless `force` (then its transcript is replaced, never duplicated).
    Each video is processed under a database claim: a second worker that reaches the same video while it
    is in flight skips it, and a claim dies with its worker, so a crashed run's videos are free at once.
    """
    settings = get_settings()
    engine = get_engine(settings)
    clock = StageClock(video.source_id if video else source)
    fetched = None
    if video is None:  # a single source: its identity (content hash, extractor id) comes with the fetch
        with clock.stage("fetch"):
            fetched = fetch_task(source, settings)
        video = fetched.info
        clock.video = video.source_id
    with exclusive(engine, video_claim(video.source_id)) as claimed:
        if not claimed:
            get_run_logger().warning("%s is being processed by another worker: skipped", video.source_id)
            return IngestResult.skipped(video, "being processed by another worker")
        stored = get_video(engine, video.source_id)  # checked under the claim: a finished twin is seen here
        if stored is not None and stored.status == "done" and not force:
            return IngestResult.skipped(video, "already stored", stored.id)
        with batcher.video_in_flight():  # lets the embedding batch know this video may still join it
            return _process(source, video, fetched, clock, settings, engine)


def _process(source: str, video: VideoInfo, fetched: Fetched | None, clock: StageClock, settings: Settings,
             engine: Engine) -> IngestResult:
    bus.emit(ProgressEvent("start", video=video.source_id, title=video.title))
    video_id = _start_attempt(engine, video, settings)
    started = time.monotonic()
    try:
        if fetched is None:
            with clock.stage("fetch"):
                fetched = fetch_task(source, settings, video)
        with clock.stage("decode"):
            audio = decode_task(fetched.path, settings)
        info = dataclasses.replace(fetched.info, duration=audio.duration)
        with clock.stage("transcribe"):
            transcript = transcribe_task(audio, settings)
        with clock.stage("diarize"):
            diarization = monologue_task(audio, settings, transcript) or diarize_task(audio, settings)
        with clock.stage("identify"):  # CPU stages go to the CPU pool, beside other videos' GPU work
            names = run_in_cpu_pool(settings.cpu_workers, identify_task, audio, settings, diarization,
                                    list_profiles(engine))
        with clock.stage("segments"):
            segments = run_in_cpu_pool(settings.cpu_workers, segments_task, transcript, diarization.turns,
                                       names, settings)
        with clock.stage("embed"):
            vectors = embed_task(segments, settings)
        telemetry = video_telemetry(video.source_id, started, time.monotonic())
        with clock.stage("store"):
            store_task(info, segments, vectors, names, clock.seconds, audio.sha256, settings, telemetry)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        _record_failure(engine, video_id, reason)
        bus.emit(ProgressEvent("failed", video=video.source_id, detail=reason))
        raise
    speakers = sorted({s.speaker for s in segments})
    how = diarization.reason or "diarized"
    get_run_logger().info("%s: %d segments, speakers %s, %s", info.title, len(segments), speakers, how)
    result = IngestResult(video_id, info.source_id, info.title, audio.duration, len(segments), speakers, how,
                          clock.seconds, diarization.peak_vram_mib, telemetry=telemetry)
    publish_video_report(result, segments, settings)  # markdown artifact with the speaker timeline
    bus.emit(ProgressEvent("done", video=video.source_id, title=info.title, detail=f"{len(segments)} segments, {how}"))
    return result
