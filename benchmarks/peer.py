"""The peer throughput benchmark of issue #14: vidscribe end to end against faster-whisper alone (and WhisperX).

    .venv/bin/python benchmarks/peer.py [--quick] [--repeats N] [--json FILE] [--whisperx-venv DIR]
                                        [--models-dir DIR] [--corpus-dir DIR]

On 4 MP3 files (64 kbit/s; two monologues, a 2-voice and a 3-voice espeak-ng dialogue; about 10 minutes, or
2.7 minutes with --quick) it times, in one process:

- the floor: faster-whisper alone, the offline profile's tiny.en loaded once (load timed apart) and the files
  decoded in turn with vidscribe's decode settings (beam 5, VAD filter, word timestamps, int8 on a CPU), with
  the sequential decoder and with `BatchedInferencePipeline` (word timestamps on as well); the floor is the
  faster of the two;
- vidscribe: `vidscribe backfill <corpus folder>` as a cold process, with a private data folder and embedded
  PostgreSQL (started outside the clock) and the offline models prepared beforehand (`--models-dir`, default
  the bench cache's `peer-models`; preparing is timed and printed apart);
- WhisperX, with --whisperx-venv: `DIR/bin/whisperx` as a cold process on the same files (same Whisper model,
  int8, beam 5, pyannote VAD, no alignment, diarized with vidscribe's offline pyannote pipeline).

It prints wall seconds, audio hours per hour, the ratio to the floor's throughput, WER and DER (the quality
benchmark's definitions, on each system's segments), then vidscribe's model seconds per stage (from
`videos.telemetry`) and the rest of its wall time. With --repeats N each system runs N times and the fastest
run counts. Definitions: `vidscribe/app/bench/peer/`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout: the package beside this folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the test's corpus: 4 files of about 40 s")
    parser.add_argument("--repeats", type=int, default=1, help="runs per system; the fastest counts")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--whisperx-venv", type=Path, help="a virtual environment with WhisperX's CLI: time it too")
    parser.add_argument("--models-dir", type=Path, help="prepared offline models (default: the bench cache's)")
    parser.add_argument("--corpus-dir", type=Path, help="where the corpus is cached (default: the bench cache)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.whisperx_venv and not (args.whisperx_venv / "bin" / "whisperx").is_file():
        parser.error(f"{args.whisperx_venv}/bin/whisperx does not exist")

    os.environ.update({"HF_HUB_OFFLINE": "1", "VIDSCRIBE_PROFILE": "offline"})
    from vidscribe.app.bench.corpus import cache_root
    from vidscribe.app.bench.peer.report import render, to_json
    from vidscribe.app.bench.peer.run import run_peer
    from vidscribe.settings import get_settings

    started = time.perf_counter()
    models = args.models_dir or cache_root() / "peer-models"
    result = run_peer("quick" if args.quick else "full", get_settings(), models,
                      repeats=args.repeats, whisperx_venv=args.whisperx_venv, corpus_dir=args.corpus_dir,
                      progress=lambda line: print(line, flush=True))
    elapsed = time.perf_counter() - started
    print()
    print(render(result, f"peer benchmark ({result.variant}, fastest of {args.repeats}), {elapsed:.0f} s in all"))
    if args.json:
        args.json.write_text(json.dumps({**to_json(result), "repeats": args.repeats, "total_s": round(elapsed, 1)},
                                        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
