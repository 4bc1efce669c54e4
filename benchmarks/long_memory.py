"""Peak memory of a 3-hour recording against a 30-minute one, through the real stages.

    .venv/bin/python benchmarks/long_memory.py [--minutes 30 180] [--window-seconds S] [--workdir DIR]

Why a fresh process per recording: peak RSS (`ru_maxrss`) only ever grows, so each recording is processed
by its own child process, which loads the offline models, runs `vidscribe.pipeline.process_recording` up to
the segments (fetch, decode, transcribe, the monologue check and diarization (forced on), attribute, identify, segments;
plain functions, no Prefect server), and reports its peak RSS after each step. The recordings are real speech,
compressed as a download would be: `tests/speech.py`'s conversation (espeak-ng's two voices and pyannote's two-speaker
sample, 2.7 minutes) looped to the length and encoded to Opus. Everything runs offline on the CPU.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `tests.speech` builds the recordings; a script's own folder is not the root
TARGET_RATIO = 1.25


@dataclass(frozen=True)
class Voice:
    """An enrolled voice (the `Profile` that identify matches against), made here without a database."""

    name: str
    key: str
    centroid: np.ndarray


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (Linux reports `ru_maxrss` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_stages(path: Path) -> dict[str, object]:
    """The child: the pipeline up to segments on `path`, with wall seconds and peak RSS after each step."""
    from tests.speech import ALICE_REFERENCES, ALICE_VOICE, speak
    from vidscribe.pipeline import process_recording
    from vidscribe.settings import get_settings
    from vidscribe.speakers.factory import load_speaker_encoder
    from vidscribe.speakers.matching import centroid
    from vidscribe.windows import plan_windows

    settings = get_settings()
    encoder = load_speaker_encoder(settings)
    alice = Voice("Alice", encoder.key, centroid(encoder.embed([speak(t, ALICE_VOICE) for t in ALICE_REFERENCES])))
    stages: dict[str, dict[str, float]] = {}
    last = time.perf_counter()

    def measured(step: str, _artefact: object) -> None:
        nonlocal last
        now = time.perf_counter()
        stages[step] = {"seconds": round(now - last, 1), "peak_rss_mib": round(peak_rss_mib())}
        last = now

    recording = process_recording(str(path), settings, profiles=[alice], hook=measured, until="segments")
    audio, transcript, diarization = recording.audio, recording.transcript, recording.diarization
    return {
        "duration_s": audio.duration, "windows": len(plan_windows(audio, settings.window_seconds)),
        "words": len(transcript.words), "speakers": sorted({n.name for n in recording.names.values()}),
        "segments": len(recording.segments), "diarized": not diarization.skipped, "stages": stages,
        "peak_rss_mib": round(peak_rss_mib()),
    }


def make_recording(unit: Path, minutes: float, target: Path) -> Path:
    """`unit` looped to `minutes` and encoded to Opus (32 kbit/s, a typical podcast download)."""
    if not target.exists():
        loops = math.ceil(minutes * 60 / sf.info(unit).duration) - 1
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-stream_loop", str(loops), "-i", str(unit),
                        "-t", str(minutes * 60), "-c:a", "libopus", "-b:a", "32k", str(target)], check=True)
    return target


def measure(path: Path, env: dict[str, str]) -> dict[str, object]:
    """Run the stages on `path` in a fresh child process; its report, plus the parent's wall clock."""
    started = time.perf_counter()
    child = subprocess.run([sys.executable, __file__, "--child", str(path)], env=env, cwd=ROOT,
                           capture_output=True, text=True)
    if child.returncode != 0:
        raise RuntimeError(f"{path.name}: the child failed:\n{child.stderr[-4000:]}")
    report = json.loads(child.stdout.strip().splitlines()[-1])
    report["wall_s"] = round(time.perf_counter() - started, 1)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs=2, default=(30.0, 180.0), metavar=("SHORT", "LONG"))
    parser.add_argument("--window-seconds", type=float, help="VIDSCRIBE_WINDOW_SECONDS (default: the setting's)")
    parser.add_argument("--workdir", type=Path, help="keeps the recordings and models between runs")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_stages(args.child)))
        return

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="vidscribe-long-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VIDSCRIBE_PROFILE": "offline", "ASSUME_MONOLOGUE": "false",
           "VIDSCRIBE_DATA_DIR": str(workdir / "data")}
    if args.window_seconds:
        env["VIDSCRIBE_WINDOW_SECONDS"] = str(args.window_seconds)
    os.environ.update(env)
    from tests.speech import build_conversation
    from vidscribe.offline_models import prepare_offline_models
    from vidscribe.settings import get_settings

    prepare_offline_models(get_settings().models_dir)
    unit = workdir / "conversation.wav"
    if not unit.exists():
        build_conversation(unit)

    reports = {}
    for minutes in args.minutes:
        recording = make_recording(unit, minutes, workdir / f"recording-{minutes:g}min.opus")
        reports[minutes] = report = measure(recording, env)
        print(f"{minutes:g} min: {report['duration_s']:.0f} s audio in {report['windows']} window(s), "
              f"wall {report['wall_s']:.0f} s, peak RSS {report['peak_rss_mib']} MiB; per stage "
              + ", ".join(f"{name} {s['seconds']:.0f} s / {s['peak_rss_mib']} MiB"
                          for name, s in report["stages"].items()), flush=True)
    short, long = (reports[m] for m in args.minutes)
    ratio = long["peak_rss_mib"] / short["peak_rss_mib"]
    verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
    print(f"peak RSS ratio {args.minutes[1]:g} min / {args.minutes[0]:g} min: {ratio:.3f} "
          f"({verdict} the {TARGET_RATIO} target)")
    (workdir / "long_memory.json").write_text(json.dumps({"reports": reports, "ratio": ratio}, indent=2))


if __name__ == "__main__":
    main()
