"""The predecessor's design, the benchmark's yardstick: one video at a time, stage after stage, no Prefect.

Each video is downloaded (yt-dlp, from the same throttled feed), decoded, transcribed, always diarized (no
monologue check), its speakers identified, cut into segments, embedded and stored in the same database. The
model registry is emptied before every video, so every model is loaded again per video, as the predecessor
did. The stages are the pipeline's own, run by `process_recording` without Prefect, so the two runs differ only in
design, not in the code that does the work.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from vidscribe_flows.batch import VideoOutcome
from vidscribe.app.bench.record import RunRecord, VideoRun, window
from vidscribe.db import get_engine, list_profiles
from vidscribe.pipeline import PLAIN, Steps, process_recording, timed
from vidscribe.progress import EventBus
from vidscribe.runtime import get_runtime
from vidscribe.settings import Settings
from vidscribe.sources import enumerate_source
from vidscribe.video import VideoInfo


def always_diarize(bus: EventBus) -> Steps:
    """The predecessor's steps: the pipeline's own functions, each timed, without the monologue check (it always
    diarized, so no monologue stage runs at all)."""
    return dataclasses.replace(timed(PLAIN, bus), monologue=lambda *_: None)


def ingest_sequentially(info: VideoInfo, settings: Settings) -> VideoRun:
    """One video through every stage in turn, with freshly loaded models; a failure is recorded, not raised."""
    runtime = get_runtime()
    runtime.models.clear()
    clock = runtime.clock(info.source_id)
    started = time.monotonic()
    try:
        recording = process_recording(info.url, settings, steps=always_diarize(runtime.bus), known=info,
                                      clock=clock, profiles=list_profiles(get_engine(settings)))
    except Exception as exc:  # like a backfill, one failed video does not stop the others
        failed = VideoOutcome(info.source_id, info.title, "failed", stage_seconds=clock.seconds,
                              error=f"{type(exc).__name__}: {exc}")
        return VideoRun(failed, wall_seconds=time.monotonic() - started)
    done = VideoOutcome(info.source_id, info.title, "done", recording.audio.duration, len(recording.segments),
                        len(recording.names), clock.seconds)
    return VideoRun(done, " ".join(s.text for s in recording.segments), time.monotonic() - started)


def run_baseline(feed_url: str, settings: Settings, on_video: Callable[[VideoRun], None]) -> RunRecord:
    """Enumerate the feed, then ingest its videos one after the other (newest first, as a backfill does)."""
    with window() as span:
        videos = enumerate_source(feed_url, settings).videos
        runs = []
        for info in videos:
            runs.append(ingest_sequentially(info, settings))
            on_video(runs[-1])
    return RunRecord("baseline", span, runs)
