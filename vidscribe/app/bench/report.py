"""The benchmark's figures, computed from two `RunRecord`s, and their table.

Definitions (the README's Benchmark section repeats them):
- audio hours per wall hour: audio of the videos done / the run's wall time (enumeration to last store).
- stage seconds: each stage function's own run time (its `StageRun` bodies, `vidscribe.timing`), summed over videos.
- model seconds: seconds the GPU slot was held, per model (`scheduler.jobs`; a model loaded inside the slot
  counts), plus, when the speaker encoder runs on the CPU outside the slot, the run time of the stages
  that run it (monologue probes, attribute, identify): an upper bound of the encoder's own time.
- model-slot busy: slot-held seconds / wall. GPU busy and peak VRAM come from NVML over the run; the steady
  VRAM level is the median of the model calls' peaks.
- overhead (Prefect plus database): per video, its wall time (pipeline: its `ingest-video` flow run from
  creation to end; baseline: its loop) minus the run time of its work stages (fetch, decode, transcribe,
  monologue, diarize, attribute, identify, segments, embed), summed over videos. It splits into: outside the
  stage blocks (flow-run creation and state changes, the claim, the video rows, the report artifact); inside the stage
  blocks but outside the stage bodies (task-run creation and states, cache keys, result persistence, the
  voice-profile query, waiting for the CPU pool); and the store stage (the database transaction).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import jiwer
import psutil
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vidscribe.app.bench.corpus import CorpusSpec, Recording
from vidscribe.app.bench.record import RunRecord, VideoRun
from vidscribe.gpu import resolve_device
from vidscribe.runtime import get_runtime
from vidscribe.settings import Settings

#: stages whose run time is the work itself; `store` is the database's share of the overhead
WORK_STAGES = ("fetch", "decode", "transcribe", "monologue", "diarize", "attribute", "identify", "segments", "embed")
#: stages that run the speaker encoder (its time counts as model time when it runs on the CPU)
SPEAKER_STAGES = ("monologue", "attribute", "identify")
TARGET_SPEEDUP = 2.0
TARGET_OVERHEAD_PERCENT = 10.0


@dataclass(frozen=True)
class Overhead:
    """Prefect plus database overhead of a run, in seconds summed over videos (see the module docstring)."""

    video_seconds: float  # the videos' wall times
    work_seconds: float  # their work stages' run time
    outside_stages: float
    inside_stages: float
    store: float
    total: float
    percent_of_model_time: float | None


@dataclass(frozen=True)
class VideoFigures:
    source_id: str
    title: str
    kind: str
    audio_seconds: float
    status: str
    segments: int
    words: int
    wall_seconds: float | None
    error: str = ""


@dataclass(frozen=True)
class RunFigures:
    name: str
    videos_done: int
    videos_failed: int
    wall_seconds: float
    audio_seconds: float
    audio_hours_per_hour: float
    stage_seconds: dict[str, float]
    model_seconds: dict[str, float]
    model_calls: dict[str, int]  # GPU-slot calls per model
    model_total_seconds: float
    slot_busy_fraction: float
    gpu: str  # NVML status, or why there are no GPU figures
    gpu_busy_fraction: float | None
    peak_vram_mib: float | None
    steady_vram_mib: float | None
    handoff_gaps: int
    handoff_gap_mean_seconds: float | None
    handoff_gap_max_seconds: float | None
    embedding_batch_texts: list[int]
    embedding_batch_videos: list[int]
    overhead: Overhead
    load_average: tuple[float, float, float]  # 1, 5 and 15 min, when the run ended (machine shared?)
    videos: list[VideoFigures] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    date: str
    machine: dict[str, object]
    settings: dict[str, object]
    corpus: dict[str, object]
    feed_bytes_per_second: int
    order: str
    baseline: RunFigures | None
    pipeline: RunFigures
    speedup: float | None
    transcript_wer: dict[str, float]  # per video: the pipeline's stored transcript against the baseline's
    targets: dict[str, str]
    peak_rss_mib: float  # the bench process's peak resident memory (both runs): the CPU's "VRAM"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, default=str)


def _slug(source_id: str) -> str:
    """The feed item's slug: the last part of its guid, which ends the source id."""
    return source_id.rsplit(":", 1)[-1]


def _body_seconds(run: RunRecord) -> dict[tuple[str, str], float]:
    seconds: dict[tuple[str, str], float] = defaultdict(float)
    for stage_run in run.window.stage_runs:
        seconds[stage_run.video, stage_run.stage] += stage_run.seconds
    return seconds


def model_seconds(run: RunRecord, settings: Settings) -> dict[str, float]:
    """Slot-held seconds per model, plus the CPU speaker stages' run time when the encoder is not in the slot."""
    seconds: dict[str, float] = defaultdict(float)
    for job in run.window.jobs:
        seconds[job.model] += job.seconds
    if resolve_device(settings.speaker_device) == "cpu":
        seconds["speaker (CPU stages)"] = sum(r.seconds for r in run.window.stage_runs if r.stage in SPEAKER_STAGES)
    return {model: round(s, 2) for model, s in seconds.items()}


def overhead(run: RunRecord, model_total: float) -> Overhead:
    """Per-video wall time minus work-stage time, split by where it was spent (see the module docstring)."""
    bodies = _body_seconds(run)
    video = work = outside = inside = store = 0.0
    for v in run.videos:
        if v.outcome.status != "done" or v.wall_seconds is None:
            continue
        v_work = sum(bodies[v.outcome.source_id, stage] for stage in WORK_STAGES)
        v_store = bodies[v.outcome.source_id, "store"]
        blocks = sum(v.outcome.stage_seconds.values())
        video += v.wall_seconds
        work += v_work
        outside += v.wall_seconds - blocks
        inside += blocks - v_work - v_store
        store += v_store
    total = video - work
    percent = 100.0 * total / model_total if model_total else None
    return Overhead(round(video, 2), round(work, 2), round(outside, 2), round(inside, 2), round(store, 2),
                    round(total, 2), None if percent is None else round(percent, 2))


def _gpu_figures(run: RunRecord) -> tuple[str, float | None, float | None, float | None]:
    """(status, busy fraction, peak VRAM, steady VRAM) from NVML; None figures without a GPU."""
    nvml = get_runtime().nvml
    if not nvml.start():
        return f"n/a: {nvml.status}", None, None, None
    stats = nvml.window(run.window.started, run.window.ended)
    peaks = [job.peak_vram_mib for job in run.window.jobs if job.peak_vram_mib is not None]
    return nvml.status, stats.busy_fraction, stats.peak_used_mib, statistics.median(peaks) if peaks else None


def run_figures(run: RunRecord, recordings: dict[str, Recording], settings: Settings) -> RunFigures:
    wall = run.window.seconds
    outcomes = [v.outcome for v in run.videos]
    done = [o for o in outcomes if o.status == "done"]
    audio = sum(recordings[_slug(o.source_id)].duration for o in done)
    stages: dict[str, float] = defaultdict(float)
    for stage_run in run.window.stage_runs:
        stages[stage_run.stage] += stage_run.seconds
    models = model_seconds(run, settings)
    model_total = sum(models.values())
    slot_seconds = sum(job.seconds for job in run.window.jobs)
    gpu, busy, peak, steady = _gpu_figures(run)
    gaps = run.window.handoff_gaps
    videos = [VideoFigures(o.source_id, o.title, recordings[_slug(o.source_id)].kind,
                           recordings[_slug(o.source_id)].duration, o.status, o.segment_count, len(v.text.split()),
                           None if v.wall_seconds is None else round(v.wall_seconds, 2), o.error)
              for o, v in zip(outcomes, run.videos)]
    return RunFigures(
        name=run.name, videos_done=len(done), videos_failed=sum(o.status == "failed" for o in outcomes),
        wall_seconds=round(wall, 2), audio_seconds=round(audio, 2), audio_hours_per_hour=round(audio / wall, 3),
        stage_seconds={k: round(v, 2) for k, v in stages.items()}, model_seconds=models,
        model_calls=dict(Counter(job.model for job in run.window.jobs)),
        model_total_seconds=round(model_total, 2), slot_busy_fraction=round(slot_seconds / wall, 3),
        gpu=gpu, gpu_busy_fraction=busy, peak_vram_mib=peak, steady_vram_mib=steady, handoff_gaps=len(gaps),
        handoff_gap_mean_seconds=round(statistics.fmean(gaps), 4) if gaps else None,
        handoff_gap_max_seconds=round(max(gaps), 4) if gaps else None,
        embedding_batch_texts=[b.texts for b in run.window.batches],
        embedding_batch_videos=[b.videos for b in run.window.batches],
        overhead=overhead(run, model_total), load_average=run.window.load_average, videos=videos,
    )


def transcript_wer(baseline: RunRecord, pipeline: RunRecord) -> dict[str, float]:
    """Word error rate of each video's stored transcript in the pipeline run against the baseline's."""
    reference = {v.outcome.source_id: v.text for v in baseline.videos if v.outcome.status == "done" and v.text}
    return {v.outcome.source_id: round(jiwer.wer(reference[v.outcome.source_id], v.text), 4)
            for v in pipeline.videos if v.outcome.source_id in reference and v.text}


def machine() -> dict[str, object]:
    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
             if line.startswith("model name")] if cpuinfo.exists() else []
    nvml = get_runtime().nvml
    return {"cpu": names[0] if names else platform.processor(), "cores": len(os.sched_getaffinity(0)),
            "ram_gib": round(psutil.virtual_memory().total / 2**30, 1), "gpu": nvml.status if nvml.start() else
            "none", "python": platform.python_version()}


def settings_summary(settings: Settings) -> dict[str, object]:
    """The settings that decide the figures (model files shown by their last two path parts)."""
    fields = ("profile", "hardware_profile", "device", "compute_type", "asr_model", "asr_beam_size",
              "asr_batch_size", "diarization_pipeline", "embedding_batch_size", "segmentation_batch_size",
              "speaker_model", "speaker_device", "speaker_batch_size", "text_embedding_model",
              "text_embedding_batch_size", "backfill_parallel", "cpu_workers", "embed_linger_seconds")
    shown = {}
    for name in fields:
        value = getattr(settings, name)
        shown[name] = "/".join(Path(value).parts[-2:]) if isinstance(value, str) and value.startswith("/") else value
    return shown


def build_report(spec: CorpusSpec, recordings: list[Recording], rate: int, settings: Settings,
                 baseline: RunRecord | None, pipeline: RunRecord) -> Report:
    by_slug = {r.slug: r for r in recordings}
    base = run_figures(baseline, by_slug, settings) if baseline else None
    pipe = run_figures(pipeline, by_slug, settings)
    speedup = round(pipe.audio_hours_per_hour / base.audio_hours_per_hour, 3) if base else None
    targets = {
        f"speedup >= {TARGET_SPEEDUP}x": "n/a (no baseline)" if speedup is None
        else "met" if speedup >= TARGET_SPEEDUP else "missed",
        f"overhead <= {TARGET_OVERHEAD_PERCENT:.0f}% of model time":
            "met" if (pipe.overhead.percent_of_model_time or 0) <= TARGET_OVERHEAD_PERCENT else "missed",
    }
    kinds = {kind: sum(r.kind == kind for r in recordings) for kind in dict.fromkeys(r.kind for r in recordings)}
    corpus = {"videos": spec.videos, "minutes_each_at_least": spec.minutes, "kinds": kinds,
              "audio_hours": round(sum(r.duration for r in recordings) / 3600, 3), "key": spec.key()}
    order = "baseline first, then pipeline; downloads, decoded audio and models cleared in between" if baseline \
        else "pipeline only (--no-baseline)"
    return Report(datetime.now(timezone.utc).isoformat(timespec="minutes"), machine(), settings_summary(settings),
                  corpus, rate, order, base, pipe, speedup,
                  transcript_wer(baseline, pipeline) if baseline else {}, targets,
                  round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))  # Linux: KiB


def _fmt(value: float | None, spec: str = ".2f", na: str = "n/a") -> str:
    return na if value is None else format(value, spec)


def print_report(report: Report, console: Console) -> None:
    """The figures as tables: runs side by side, then seconds per stage and per model."""
    runs = [r for r in (report.baseline, report.pipeline) if r is not None]
    summary = Table("figure", *(r.name for r in runs), title=f"vidscribe bench, {report.date}")
    rows: list[tuple[str, list[str]]] = [
        ("videos done / failed", [f"{r.videos_done} / {r.videos_failed}" for r in runs]),
        ("audio (min)", [f"{r.audio_seconds / 60:.1f}" for r in runs]),
        ("wall (s)", [f"{r.wall_seconds:.1f}" for r in runs]),
        ("audio hours per wall hour", [f"{r.audio_hours_per_hour:.2f}" for r in runs]),
        ("model time (s)", [f"{r.model_total_seconds:.1f}" for r in runs]),
        ("model-slot busy", [f"{r.slot_busy_fraction:.0%}" for r in runs]),
        ("GPU busy", [_fmt(r.gpu_busy_fraction, ".0%") for r in runs]),
        ("peak / steady VRAM (MiB)", [f"{_fmt(r.peak_vram_mib, '.0f')} / {_fmt(r.steady_vram_mib, '.0f')}"
                                      for r in runs]),
        ("handoff gap mean / max (s)", [f"{_fmt(r.handoff_gap_mean_seconds, '.3f')} / "
                                        f"{_fmt(r.handoff_gap_max_seconds, '.3f')} ({r.handoff_gaps})" for r in runs]),
        ("embedding batches: texts (videos)", [", ".join(f"{t} ({v})" for t, v in zip(r.embedding_batch_texts,
                                                                                       r.embedding_batch_videos))
                                               for r in runs]),
        ("overhead (s): outside stages / in stage blocks / store",
         [f"{r.overhead.outside_stages:.1f} / {r.overhead.inside_stages:.1f} / {r.overhead.store:.1f}" for r in runs]),
        ("overhead total (s, % of model time)",
         [f"{r.overhead.total:.1f} ({_fmt(r.overhead.percent_of_model_time, '.1f')}%)" for r in runs]),
        ("load average 1/5/15 min at end", [" / ".join(f"{x:.1f}" for x in r.load_average) for r in runs]),
    ]
    for name, values in rows:
        summary.add_row(name, *values)
    stages = Table("seconds per stage (sum over videos)", *(r.name for r in runs))
    for stage in dict.fromkeys(s for r in runs for s in r.stage_seconds):
        stages.add_row(stage, *(f"{r.stage_seconds.get(stage, 0.0):.1f}" for r in runs))
    for model in dict.fromkeys(m for r in runs for m in r.model_seconds):
        stages.add_row(f"model: {model}", *(f"{r.model_seconds.get(model, 0.0):.1f}" for r in runs))
    console.print(summary, stages)
    console.print(f"GPU: {report.pipeline.gpu}; peak RSS of the bench process: {report.peak_rss_mib:.0f} MiB\n"
                  f"corpus: {report.corpus}; feed throttled to "
                  f"{report.feed_bytes_per_second} B/s; order: {report.order}", highlight=False)
    if report.transcript_wer:
        console.print(f"transcript WER, pipeline vs baseline, per video: {report.transcript_wer}", highlight=False)
    speedup = "n/a" if report.speedup is None else f"{report.speedup:.2f}x"
    console.print(Text.assemble((f"speedup (audio hours per wall hour, pipeline / baseline): {speedup}", "bold"),
                                f"; targets: {report.targets}"))
