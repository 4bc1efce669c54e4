"""Run the real pipeline on each corpus item, without Prefect and without a database, and score it.

Why `process_recording(..., steps=PLAIN, until="segments")`: the same table of contents the flow runs, with
the plain stage functions; stopping before "embed" and "store" leaves `Recording.segments`, exactly the rows
the store would write. A recording the pipeline refuses as bad input (no speech understood) is scored as an
empty transcript, as the archive would hold nothing for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from vidscribe.app.bench.quality.corpus import Item
from vidscribe.app.bench.quality.score import ItemResult, score_item, skipped
from vidscribe.errors import BadInputError
from vidscribe.pipeline import PLAIN, process_recording
from vidscribe.settings import Settings


def offline_multilingual_asr(settings: Settings) -> Path:
    """The multilingual Whisper base of the offline profile (joined from its two PyPI packages by
    `vidscribe.offline_models.prepare_whisper_base`): the French item's ASR, since tiny.en knows English only."""
    from vidscribe.offline_models import prepare_whisper_base
    from vidscribe.settings import offline_model_paths

    return prepare_whisper_base(Path(offline_model_paths(settings.models_dir)["language_id_model"]))


def item_settings(item: Item, settings: Settings, multilingual_asr: Path | None) -> Settings:
    """`settings` with the item's language (None: detection) and, for a multilingual item, its ASR model."""
    update: dict[str, object] = {"language": item.language}
    if item.multilingual and multilingual_asr is not None:
        update["asr_model"] = str(multilingual_asr)
    return settings.model_copy(update=update)


def run_item(item: Item, folder: Path, settings: Settings, multilingual_asr: Path | None = None) -> ItemResult:
    """The pipeline up to the segments on one item, then its figures."""
    if item.multilingual and multilingual_asr is None:
        return skipped(item, "no multilingual Whisper model (pass --asr-model DIR)")
    started = time.perf_counter()
    try:
        recording = process_recording(str(folder / item.file), item_settings(item, settings, multilingual_asr),
                                      steps=PLAIN, until="segments")
    except BadInputError as error:
        return score_item(item, [], [], status=f"rejected: {error}", wall_seconds=time.perf_counter() - started)
    diarization = recording.diarization
    note = diarization.reason if diarization.skipped else f"pyannote, {len(diarization.speakers)} speakers"
    return score_item(item, recording.segments, diarization.turns, wall_seconds=time.perf_counter() - started,
                      detected_language=recording.transcript.language, diarization_note=note)


def run_corpus(items: Sequence[Item], folder: Path, settings: Settings, multilingual_asr: Path | None = None,
               progress: Callable[[ItemResult], None] | None = None) -> list[ItemResult]:
    """Every item in turn (the models load once, on the first item that needs each)."""
    results = []
    for item in items:
        results.append(run_item(item, folder, settings, multilingual_asr))
        if progress is not None:
            progress(results[-1])
    return results
