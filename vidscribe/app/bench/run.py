"""One benchmark: corpus, throttled feed, warm-up, baseline, pipeline, report.

Call `run_bench` inside `sandbox.private_data()` (the CLI does), with the settings read there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import soundfile as sf

from vidscribe.audio import SAMPLE_RATE
from vidscribe.app.bench.baseline import run_baseline
from vidscribe.app.bench.corpus import CorpusSpec, load_corpus
from vidscribe.app.bench.feed_server import FeedServer
from vidscribe.app.bench.pipeline import run_pipeline
from vidscribe.app.bench.record import VideoRun
from vidscribe.app.bench.report import Report, build_report
from vidscribe.app.bench.sandbox import forget_work, prefect_api
from vidscribe.app.bench.speech import PAIR_A, speak
from vidscribe.progress import ProgressEvent
from vidscribe.runtime import get_runtime
from vidscribe.settings import Settings
from vidscribe.stages.diarize import load_diarization_pipeline
from vidscribe.stages.embed import load_text_model
from vidscribe.stages.enroll import enroll
from vidscribe.stages.transcribe import load_whisper

FEED_TITLE = "vidscribe benchmark podcast"
#: an enrolled voice, so speaker identification does its real work (the host of the PAIR_A recordings)
ENROLLED_NAME = "Host"
ENROLL_TEXT = ("Thank you for listening to the show. Every week we pick one topic and explain it slowly, with "
               "examples from everyday life. If you have a question, send it to us, and we will answer it in a "
               "later episode.")

Say = Callable[[str], None]


def warm_up(settings: Settings, folder: Path) -> None:
    """Enroll the host's voice and load every model once, then unload them all.

    Why: the first load in a process pays one-time costs (imports, kernel and ONNX session set-up) that
    neither run should carry; after this, each run loads its models itself.
    """
    reference = folder / "host.wav"
    sf.write(reference, speak(ENROLL_TEXT, PAIR_A[0]), SAMPLE_RATE)
    enroll(ENROLLED_NAME, [reference], settings)
    for load in (load_whisper, load_diarization_pipeline, load_text_model):
        load(settings)
    get_runtime().models.clear()


def _announce(say: Say) -> Callable[[], None]:
    """Print each pipeline video as it ends (the progress bus); returns the unsubscribe function."""

    def show(event: ProgressEvent) -> None:
        if event.kind in ("done", "failed"):
            say(f"pipeline: {event.video} {event.kind} ({event.detail})")

    return get_runtime().bus.subscribe(show)


def run_bench(settings: Settings, spec: CorpusSpec, rate: int, baseline: bool, root: Path, say: Say) -> Report:
    """Build (or reuse) the corpus, serve it throttled, run the baseline (unless told not to) and the
    pipeline on it, and return the report. `root`: the sandbox's private folder."""
    say(f"corpus: {spec.videos} recordings of at least {spec.minutes:g} min")
    folder, recordings = load_corpus(spec)
    say(f"corpus in {folder}; feed throttled to {rate} B/s ({rate / 1024:.0f} KiB/s)")
    with FeedServer([r.episode(folder) for r in recordings], FEED_TITLE, bytes_per_second=rate) as feed:
        warm_up(settings, root)
        baseline_run = None
        if baseline:
            say("baseline: one video at a time, models loaded per video, always diarized")
            baseline_run = run_baseline(feed.feed_url, settings, lambda v: say(_line("baseline", v)))
            forget_work(settings)
        with prefect_api(root):
            say("pipeline: backfill-channel flow, default settings")
            unsubscribe = _announce(say)
            try:
                pipeline_run = run_pipeline(feed.feed_url, settings, force=baseline)
            finally:
                unsubscribe()
    return build_report(spec, recordings, rate, settings, baseline_run, pipeline_run)


def _line(name: str, video: VideoRun) -> str:
    outcome = video.outcome
    detail = f"{outcome.segment_count} segments" if outcome.status == "done" else outcome.error
    return f"{name}: {outcome.source_id} {outcome.status} in {video.wall_seconds:.1f} s ({detail})"
