"""Per-video telemetry: model seconds (of which loading), queue seconds, peak VRAM per stage and model; GPU use.

Stored with the video (`videos.telemetry`) and shown in the backfill summary. Built from the GPU scheduler's
record of model calls and the NVML sampler; without a GPU it says so instead of inventing figures.
"""

from __future__ import annotations

from typing import Any

from vidscribe.gpu_scheduler import GpuJob
from vidscribe.runtime import Runtime


def video_telemetry(runtime: Runtime, video: str, started: float, ended: float) -> dict[str, Any]:
    """Telemetry of `video`, processed between two `time.monotonic()` stamps by `runtime`'s worker.

    Model calls are summed per stage and per model: on a GPU the diarize stage also runs the speaker model
    (the monologue probe), so pyannote's own time is the "diarize" model's.
    """
    stages: dict[str, dict[str, Any]] = {}
    models: dict[str, dict[str, Any]] = {}
    for job in runtime.scheduler.video_jobs(video):
        _add(stages.setdefault(job.stage, _entry()), job)
        _add(models.setdefault(job.model, _entry()), job)
    window = runtime.nvml.window(started, ended)
    peaks = [s["peak_vram_mib"] for s in stages.values() if s["peak_vram_mib"] is not None]
    return {
        "gpu": runtime.nvml.status,
        "gpu_busy_fraction": None if window.busy_fraction is None else round(window.busy_fraction, 3),
        "peak_vram_mib": max(peaks) if peaks else None,
        "stages": stages,
        "models": models,
    }


def _entry() -> dict[str, Any]:
    return {"calls": 0, "model_seconds": 0.0, "load_seconds": 0.0, "queue_seconds": 0.0, "peak_vram_mib": None}


def _add(entry: dict[str, Any], job: GpuJob) -> None:
    entry["calls"] += 1
    entry["model_seconds"] = round(entry["model_seconds"] + job.seconds, 3)
    entry["load_seconds"] = round(entry["load_seconds"] + job.load_seconds, 3)
    entry["queue_seconds"] = round(entry["queue_seconds"] + job.started_at - job.queued_at, 3)
    if job.peak_vram_mib is not None:
        entry["peak_vram_mib"] = round(max(entry["peak_vram_mib"] or 0.0, job.peak_vram_mib), 1)
