"""The `ingest_video` flow: one recording from source to searchable, speaker-attributed segments.

Read this as the pipeline's table of contents; each step is a task in `tasks/`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from prefect import flow, get_run_logger
from sqlalchemy import Engine

from tasks.decode import decode_task
from tasks.diarize import diarize_task
from tasks.embed import embed_task
from tasks.fetch import fetch_task
from tasks.identify import identify_task
from tasks.monologue import monologue_task
from tasks.segments import segments_task
from tasks.store import store_task
from tasks.transcribe import transcribe_task
from vidscribe.db import VideoInfo, get_engine, list_profiles, mark_failed, mark_running, upsert_video
from vidscribe.progress import ProgressEvent, bus
from vidscribe.settings import get_settings
from vidscribe.timing import StageClock


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


def _start_attempt(engine: Engine, info: VideoInfo) -> int:
    video_id = upsert_video(engine, info)
    mark_running(engine, video_id)
    return video_id


@flow(name="ingest-video", flow_run_name="{source}")
def ingest_video(source: str, video: VideoInfo | None = None) -> IngestResult:
    """Fetch, decode, transcribe, diarize (unless a monologue), name speakers, segment, embed and store.

    `video` is the metadata a backfill already enumerated; with it, even a failed download is recorded.
    """
    settings = get_settings()
    label = video.source_id if video else source
    clock = StageClock(label)
    bus.emit(ProgressEvent("start", video=label, title=video.title if video else source))
    engine = get_engine(settings)
    video_id = _start_attempt(engine, video) if video else None
    try:
        with clock.stage("fetch"):
            fetched = fetch_task(source, settings, video)
        if video_id is None:
            video_id = _start_attempt(engine, fetched.info)
        with clock.stage("decode"):
            audio = decode_task(fetched.path, settings)
        info = dataclasses.replace(fetched.info, duration=audio.duration)
        with clock.stage("transcribe"):
            transcript = transcribe_task(audio, settings)
        with clock.stage("diarize"):
            diarization = monologue_task(audio, settings, transcript) or diarize_task(audio, settings)
        with clock.stage("identify"):
            names = identify_task(audio, settings, diarization, list_profiles(engine))
        with clock.stage("segments"):
            segments = segments_task(transcript, diarization.turns, names, settings)
        with clock.stage("embed"):
            vectors = embed_task(segments, settings)
        with clock.stage("store"):
            store_task(info, segments, vectors, names, clock.seconds, audio.sha256, settings)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        if video_id is not None:
            mark_failed(engine, video_id, reason)
        bus.emit(ProgressEvent("failed", video=label, detail=reason))
        raise
    speakers = sorted({s.speaker for s in segments})
    how = diarization.reason or "diarized"
    get_run_logger().info("%s: %d segments, speakers %s, %s", info.title, len(segments), speakers, how)
    bus.emit(ProgressEvent("done", video=label, title=info.title, detail=f"{len(segments)} segments, {how}"))
    return IngestResult(video_id, info.source_id, info.title, audio.duration, len(segments), speakers, how,
                        clock.seconds, diarization.peak_vram_mib)
