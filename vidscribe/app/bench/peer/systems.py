"""The systems the peer benchmark times, each returning a `SystemRun`: its wall time and its segments.

- The floor: faster-whisper alone in this process, the model loaded once per run (timed apart from the
  decode), the files decoded one after another with vidscribe's decode settings (`vidscribe.stages.transcribe`:
  the settings' language and beam size, VAD filter, word timestamps; the sequential decoder without
  conditioning on previous text and with the hallucination-silence threshold), or with
  `BatchedInferencePipeline` at the settings' batch size, which vidscribe uses on a GPU only.
- vidscribe: `vidscribe backfill <corpus folder>` as a cold process (its own Prefect API, imports, model loads,
  migrations) in a private data folder with its own embedded PostgreSQL (`sandbox.private_data`, started
  before the clock); the prepared offline models are linked in, so none is prepared inside the timed run.
  Segments and per-stage telemetry are read back from the database.
- WhisperX: its CLI as a cold process on the same files, with the same Whisper model and pyannote pipeline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidscribe.app.bench.quality.corpus import Item
from vidscribe.app.bench.sandbox import private_data
from vidscribe.gpu import resolve_compute_type, resolve_device
from vidscribe.settings import Settings, get_settings
from vidscribe.transcript import Segment, Word

#: the telemetry figure summed per stage
MODEL_SECONDS = "model_seconds"
LOAD_SECONDS = "load_seconds"


@dataclass
class SystemRun:
    """One timed run of a system over the corpus.

    `transcripts`: item name -> segments; `load_seconds`: the model load inside the wall time (floor only);
    `stages`: model seconds per stage summed over the videos (vidscribe's `videos.telemetry`), and
    `stage_loads` the part of them spent loading models (imports included); `stage_seconds`: wall seconds per
    stage summed likewise (`videos.stage_seconds`); `diarized_seconds`: the audio of the videos pyannote
    diarized (not the monologue fast path), and `pyannote_seconds` its calls' time less their loads.
    """

    system: str
    wall_seconds: float
    transcripts: dict[str, list[Segment]]
    diarized: bool
    load_seconds: float | None = None
    stages: dict[str, float] = field(default_factory=dict)
    stage_loads: dict[str, float] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    diarized_seconds: float = 0.0
    pyannote_seconds: float = 0.0


def _segment(start: float, end: float, text: str, speaker: str, words: tuple[Word, ...] = (),
             avg_logprob: float = 0.0, no_speech_prob: float = 0.0) -> Segment:
    """A peer's segment as vidscribe's type, so one scorer serves every system."""
    return Segment(start=start, end=end, text=text.strip(), speaker=speaker, speaker_confidence=0.0,
                   avg_logprob=avg_logprob, no_speech_prob=no_speech_prob, words=words)


def _from_faster_whisper(piece: Any) -> Segment:
    words = tuple(Word(float(w.start), float(w.end), w.word.strip(), float(w.probability)) for w in piece.words or ())
    return _segment(float(piece.start), float(piece.end), piece.text, "", words, float(piece.avg_logprob),
                    float(piece.no_speech_prob))


def floor_run(items: Sequence[Item], folder: Path, settings: Settings, batched: bool) -> SystemRun:
    """faster-whisper alone: load the ASR model, then decode every file in turn (see the module docstring)."""
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    device = resolve_device(settings.device)
    started = time.perf_counter()
    model = WhisperModel(settings.asr_model, device=device,
                         compute_type=resolve_compute_type(settings.compute_type, device))
    load_seconds = time.perf_counter() - started
    common = dict(language=settings.language or None, beam_size=settings.asr_beam_size, vad_filter=True,
                  word_timestamps=True)
    transcripts = {}
    for item in items:
        audio = str(folder / item.file)
        if batched:
            pieces, _ = BatchedInferencePipeline(model).transcribe(audio, batch_size=settings.asr_batch_size,
                                                                   **common)
        else:
            pieces, _ = model.transcribe(audio, condition_on_previous_text=False,
                                         hallucination_silence_threshold=settings.asr_hallucination_silence_seconds,
                                         **common)
        transcripts[item.name] = [_from_faster_whisper(p) for p in pieces]  # decoding happens here
    wall = time.perf_counter() - started
    return SystemRun(f"floor ({'batched' if batched else 'sequential'})", wall, transcripts, diarized=False,
                     load_seconds=load_seconds)


def _run_timed(command: list[str], env: dict[str, str]) -> float:
    """Run `command` to its end; its wall seconds. A failure raises with the end of its output."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"{' '.join(command[:3])} ... exited {done.returncode}:\n"
                           f"{(done.stdout + done.stderr)[-3000:]}")
    return wall


def vidscribe_run(items: Sequence[Item], folder: Path, models_dir: Path) -> SystemRun:
    """`vidscribe backfill <folder>` from a cold process in a private world; then what it stored."""
    from vidscribe.db import get_engine, get_video, video_segments
    from vidscribe.offline_models import prepare_offline_models
    from vidscribe.sources import local_info

    with private_data() as root:
        (root / "data" / "models").symlink_to(models_dir.resolve(), target_is_directory=True)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "VIDSCRIBE_PROFILE": "offline",
               "PREFECT_HOME": str(root / "prefect"), "PREFECT_LOCAL_STORAGE_PATH": str(root / "prefect" / "storage")}
        env.pop("PREFECT_API_URL", None)  # the CLI starts its own API, as a user's first run does
        wall = _run_timed([str(Path(sys.executable).with_name("vidscribe")), "backfill", str(folder), "--quiet"], env)
        # the run rewrote the pipeline config's paths for its private data folder, which goes with this block
        prepare_offline_models(models_dir)
        engine = get_engine(get_settings())
        transcripts, stages, loads, stage_seconds = {}, Counter[str](), Counter[str](), Counter[str]()
        diarized_seconds = pyannote_seconds = 0.0
        for item in items:
            video = get_video(engine, local_info(folder / item.file).source_id)
            if video is None or video.status != "done":
                raise RuntimeError(f"vidscribe did not store {item.file}: {video and (video.status, video.error)}")
            transcripts[item.name] = video_segments(engine, video.id)
            per_stage = video.telemetry.get("stages", {})
            stages.update({stage: entry[MODEL_SECONDS] for stage, entry in per_stage.items()})
            loads.update({stage: entry.get(LOAD_SECONDS, 0.0) for stage, entry in per_stage.items()})
            stage_seconds.update(video.stage_seconds)
            if video.telemetry.get("diarized"):
                diarized_seconds += item.reference.duration
            pyannote = video.telemetry.get("models", {}).get("diarize", {})
            pyannote_seconds += pyannote.get(MODEL_SECONDS, 0.0) - pyannote.get(LOAD_SECONDS, 0.0)
        engine.dispose()
    return SystemRun("vidscribe", wall, transcripts, diarized=True, stages=dict(stages), stage_loads=dict(loads),
                     stage_seconds=dict(stage_seconds), diarized_seconds=diarized_seconds,
                     pyannote_seconds=pyannote_seconds)


def whisperx_run(items: Sequence[Item], folder: Path, settings: Settings, pipeline: Path, venv: Path) -> SystemRun:
    """The `whisperx` CLI of `venv` on every file in one cold process: the settings' Whisper model (int8, CPU,
    same beam size and language), pyannote VAD, no alignment, diarized with vidscribe's offline pyannote
    pipeline (`pipeline`: its config.yaml)."""
    with tempfile.TemporaryDirectory(prefix="peer-whisperx-") as out:
        command = [str(venv / "bin" / "whisperx"), *(str(folder / item.file) for item in items),
                   "--model", str(settings.asr_model), "--compute_type", "int8", "--device", "cpu",
                   "--beam_size", str(settings.asr_beam_size), "--language", settings.language or "en",
                   "--vad_method", "pyannote", "--no_align", "--diarize",
                   "--diarize_model", str(pipeline),
                   "--output_format", "json", "--output_dir", out]
        wall = _run_timed(command, {**os.environ, "HF_HUB_OFFLINE": "1"})
        transcripts = {item.name: _whisperx_segments(Path(out) / f"{Path(item.file).stem}.json") for item in items}
    return SystemRun("whisperx", wall, transcripts, diarized=True)


def _whisperx_segments(path: Path) -> list[Segment]:
    """WhisperX's JSON segments; without alignment they have no word times, and a segment no speaker
    overlaps has no speaker (then "unknown", a speaker of its own)."""
    segments = []
    for entry in json.loads(path.read_text())["segments"]:
        words = tuple(Word(float(w["start"]), float(w["end"]), w["word"].strip(), float(w.get("score", 0.0)))
                      for w in entry.get("words", ()) if "start" in w and "end" in w)
        segments.append(_segment(float(entry["start"]), float(entry["end"]), entry["text"],
                                 entry.get("speaker", "unknown"), words))
    return segments
