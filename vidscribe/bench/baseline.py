"""The predecessor's design, the benchmark's yardstick: one video at a time, stage after stage, no Prefect.

Each video is downloaded (yt-dlp, from the same throttled feed), decoded, transcribed, always diarized (no
monologue check), its speakers identified, cut into segments, embedded and stored in the same database. The
model registry is emptied before every video, so every model is loaded again per video, as the predecessor
did. The stages are the pipeline's own functions, called plainly (`.fn`), so the two runs differ only in
design, not in the code that does the work.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from prefect import Task

from flows.batch import VideoOutcome
from tasks.decode import decode_task
from tasks.diarize import diarize_task
from tasks.embed import embed_task
from tasks.enumerate import enumerate_task
from tasks.fetch import fetch_task
from tasks.identify import identify_task
from tasks.segments import segments_task
from tasks.store import store_task
from tasks.transcribe import transcribe_task
from vidscribe.bench.record import RunRecord, VideoRun, window
from vidscribe.db import VideoInfo, get_engine, list_profiles
from vidscribe.model_registry import models
from vidscribe.settings import Settings
from vidscribe.timing import StageClock


def ingest_sequentially(info: VideoInfo, settings: Settings) -> VideoRun:
    """One video through every stage in turn, with freshly loaded models; a failure is recorded, not raised."""
    models.clear()
    clock = StageClock(info.source_id)
    started = time.monotonic()

    def step(stage: str, task: Task[..., Any], *args: Any) -> Any:
        with clock.stage(stage):
            return task.fn(*args)

    try:
        fetched = step("fetch", fetch_task, info.url, settings, info)
        audio = step("decode", decode_task, fetched.path, settings)
        transcript = step("transcribe", transcribe_task, audio, settings)
        diarization = step("diarize", diarize_task, audio, settings)
        profiles = list_profiles(get_engine(settings))
        names = step("identify", identify_task, audio, settings, diarization, profiles)
        segments = step("segments", segments_task, transcript, diarization.turns, names, settings)
        vectors = step("embed", embed_task, segments, settings)
        stored = dataclasses.replace(fetched.info, duration=audio.duration)
        step("store", store_task, stored, segments, vectors, names, clock.seconds, audio.sha256, settings)
    except Exception as exc:  # like a backfill, one failed video does not stop the others
        failed = VideoOutcome(info.source_id, info.title, "failed", stage_seconds=clock.seconds,
                              error=f"{type(exc).__name__}: {exc}")
        return VideoRun(failed, wall_seconds=time.monotonic() - started)
    done = VideoOutcome(info.source_id, info.title, "done", audio.duration, len(segments), len(names),
                        clock.seconds)
    return VideoRun(done, " ".join(s.text for s in segments), time.monotonic() - started)


def run_baseline(feed_url: str, settings: Settings, on_video: Callable[[VideoRun], None]) -> RunRecord:
    """Enumerate the feed, then ingest its videos one after the other (newest first, as a backfill does)."""
    with window() as span:
        videos = enumerate_task.fn(feed_url, settings).videos
        runs = []
        for info in videos:
            runs.append(ingest_sequentially(info, settings))
            on_video(runs[-1])
    return RunRecord("baseline", span, runs)
