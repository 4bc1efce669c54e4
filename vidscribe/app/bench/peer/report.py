"""The peer benchmark's table and JSON.

Throughput is audio hours per wall hour; "x floor" is the system's throughput over the floor's, which is the
floor's wall time over the system's (the floor: the faster faster-whisper run). vidscribe's model seconds per
stage come from `videos.telemetry`, summed over the videos; "rest" is its wall time minus all model time:
process start, imports, Prefect, the database, decoding, and whatever runs between the models; it is negative
when model calls of different videos overlap (more than one model slot). A stage's wall seconds
(`videos.stage_seconds`) include waiting for a model slot, and the videos' stages overlap, so they can add up
to more than the wall time.
"""

from __future__ import annotations

from typing import Any

from vidscribe.app.bench.peer.run import Measured, PeerResult
from vidscribe.app.bench.peer.systems import SystemRun
from vidscribe.app.bench.quality.metrics import Rate

HEADER = f"{'system':<20} {'wall s':>7} {'load s':>7} {'audio h/h':>10} {'x floor':>8} {'WER %':>6} {'DER %':>6}"


def throughput(result: PeerResult, measured: Measured) -> float:
    """Audio hours transcribed per hour of wall time."""
    return result.audio_seconds / measured.run.wall_seconds


def ratio(result: PeerResult, measured: Measured) -> float:
    """The system's throughput as a share of the floor's."""
    return result.floor.run.wall_seconds / measured.run.wall_seconds


def _percent(rate: Rate | None) -> str:
    return "-" if rate is None or rate.value is None else f"{100 * rate.value:.1f}"


def _row(result: PeerResult, m: Measured) -> str:
    load = "-" if m.run.load_seconds is None else f"{m.run.load_seconds:.1f}"
    der = None if m.scores.der is None else m.scores.der.rate
    return (f"{m.run.system:<20} {m.run.wall_seconds:>7.1f} {load:>7} {throughput(result, m):>10.1f} "
            f"{ratio(result, m):>8.2f} {_percent(m.scores.wer):>6} {_percent(der):>6}")


def stage_lines(result: PeerResult) -> list[str]:
    """vidscribe's model and stage seconds per stage, then the rest of its wall time."""
    run = result.system("vidscribe").run
    lines = [f"vidscribe per stage, summed over {len(result.items)} videos",
             f"  {'stage':<26} {'model s':>8} {'of it load':>10} {'stage s':>8}"]
    for stage in sorted(set(run.stages) | set(run.stage_seconds), key=lambda s: -run.stages.get(s, 0.0)):
        model = f"{run.stages[stage]:.1f}" if stage in run.stages else "-"
        load = f"{run.stage_loads[stage]:.1f}" if stage in run.stage_loads else "-"
        wall = f"{run.stage_seconds[stage]:.1f}" if stage in run.stage_seconds else "-"
        lines.append(f"  {stage:<26} {model:>8} {load:>10} {wall:>8}")
    model_total = sum(run.stages.values())
    lines.append(f"  {'model time':<26} {model_total:>8.1f}")
    lines.append(f"  {'rest (wall - model time)':<26} {run.wall_seconds - model_total:>8.1f}")
    if model_total > run.wall_seconds:
        lines.append("  (model time above the wall time: model calls of different videos overlapped)")
    factor = diarization_factor(run)
    if factor is not None:
        lines.append(f"  pyannote without its load: {factor:.3f} x real time of the "
                     f"{run.diarized_seconds / 60:.1f} min it diarized")
    return lines


def diarization_factor(run: SystemRun) -> float | None:
    """pyannote's model seconds less their loads (the first call imports pyannote.audio), per second of the
    audio it diarized (None when it diarized nothing): issue #14's "x real time". The monologue probes (the
    speaker model: calls of the diarize stage too on a GPU) are left out: they run on every video."""
    return run.pyannote_seconds / run.diarized_seconds if run.diarized_seconds else None


def render(result: PeerResult, title: str) -> str:
    lines = [title, HEADER] + [_row(result, m) for m in result.systems]
    lines.append(f"audio {result.audio_seconds / 60:.1f} min in {len(result.items)} files; corpus built/loaded in "
                 f"{result.corpus_seconds:.0f} s, offline models prepared in {result.prepare_seconds:.1f} s "
                 "(both outside the timed runs)")
    return "\n".join(lines + [""] + stage_lines(result))


def to_json(result: PeerResult) -> dict[str, Any]:
    """Every figure of the table, per system and per stage."""
    return {
        "variant": result.variant, "corpus": str(result.folder), "audio_seconds": round(result.audio_seconds, 3),
        "files": [{"name": i.name, "file": i.file, "seconds": i.reference.duration,
                   "speakers": len(i.reference.speakers)} for i in result.items],
        "corpus_seconds": round(result.corpus_seconds, 2), "prepare_seconds": round(result.prepare_seconds, 2),
        "floor": result.floor.run.system,
        "systems": [{"system": m.run.system, "wall_s": round(m.run.wall_seconds, 3), "repeats_wall_s": m.walls,
                     "load_s": m.run.load_seconds, "audio_hours_per_hour": throughput(result, m),
                     "ratio_to_floor": ratio(result, m), **m.scores.to_json(),
                     "stage_model_s": m.run.stages, "stage_load_s": m.run.stage_loads,
                     "stage_wall_s": m.run.stage_seconds, "diarized_s": m.run.diarized_seconds,
                     "pyannote_s": round(m.run.pyannote_seconds, 3),
                     "diarization_x_real_time": diarization_factor(m.run)}
                    for m in result.systems],
    }
