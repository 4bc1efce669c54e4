"""The peer benchmark from corpus to figures: each system timed `repeats` times, the fastest run kept.

Why the fastest: the machine may be shared, and interference only ever adds time; the fastest of a few runs
is the closest to what the system itself costs. Scores come from the kept run (decoding is deterministic).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vidscribe.app.bench.peer.corpus import load_corpus
from vidscribe.app.bench.peer.score import Scores, score
from vidscribe.app.bench.peer.systems import SystemRun, floor_run, vidscribe_run, whisperx_run
from vidscribe.app.bench.quality.corpus import Item, Variant
from vidscribe.offline_models import prepare_offline_models
from vidscribe.settings import Settings, offline_model_paths


@dataclass(frozen=True)
class Measured:
    """A system's kept (fastest) run, its scores and every repeat's wall time."""

    run: SystemRun
    scores: Scores
    walls: tuple[float, ...]


@dataclass(frozen=True)
class PeerResult:
    """Everything the report prints: the corpus, the set-up times outside the timed runs, each system."""

    variant: Variant
    folder: Path
    items: tuple[Item, ...]
    corpus_seconds: float
    prepare_seconds: float
    systems: tuple[Measured, ...]

    @property
    def audio_seconds(self) -> float:
        return sum(item.reference.duration for item in self.items)

    @property
    def floor(self) -> Measured:
        """The faster of the two faster-whisper runs."""
        return min((m for m in self.systems if m.run.system.startswith("floor")), key=lambda m: m.run.wall_seconds)

    def system(self, name: str) -> Measured:
        return next(m for m in self.systems if m.run.system == name)


def fastest(make: Callable[[], SystemRun], items: Sequence[Item], repeats: int) -> Measured:
    """`make()` `repeats` times; the fastest run, scored."""
    runs = [make() for _ in range(repeats)]
    kept = min(runs, key=lambda r: r.wall_seconds)
    return Measured(kept, score(items, kept.transcripts, kept.diarized), tuple(r.wall_seconds for r in runs))


def run_peer(variant: Variant, settings: Settings, models_dir: Path, *, repeats: int = 1,
             whisperx_venv: Path | None = None, corpus_dir: Path | None = None,
             progress: Callable[[str], None] = lambda _: None) -> PeerResult:
    """Build (or load) the corpus, prepare the offline models in `models_dir` (timed apart: a user does it once),
    then time the floor (sequential, batched), vidscribe and, given its venv, WhisperX."""
    started = time.perf_counter()
    folder, items = load_corpus(variant, corpus_dir)
    corpus_seconds = time.perf_counter() - started
    started = time.perf_counter()
    prepare_offline_models(models_dir)
    prepare_seconds = time.perf_counter() - started
    progress(f"corpus {folder} ({len(items)} files, {sum(i.reference.duration for i in items) / 60:.1f} min, "
             f"{corpus_seconds:.0f} s); models prepared in {prepare_seconds:.1f} s")
    makers: list[Callable[[], SystemRun]] = [
        lambda: floor_run(items, folder, settings, batched=False),
        lambda: floor_run(items, folder, settings, batched=True),
        lambda: vidscribe_run(items, folder, models_dir),
    ]
    if whisperx_venv is not None:
        pipeline = Path(offline_model_paths(models_dir)["diarization_pipeline"])
        makers.append(lambda: whisperx_run(items, folder, settings, pipeline, whisperx_venv))
    systems = []
    for make in makers:
        systems.append(fastest(make, items, repeats))
        progress(f"  {systems[-1].run.system}: " + ", ".join(f"{w:.1f} s" for w in systems[-1].walls))
    return PeerResult(variant, folder, tuple(items), corpus_seconds, prepare_seconds, tuple(systems))
