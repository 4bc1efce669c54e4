"""WER and DER of a system's segments on the peer corpus, with the quality benchmark's definitions.

Why segments: it is what every system gives (vidscribe's database rows, faster-whisper's and WhisperX's
segments); `quality.score.segment_words` turns them into timed words (a segment without word times spreads
its text over its span, as vidscribe stores no word times), and each segment's span with its speaker is a
speaker turn. So DER here is the DER of the stored segments, pauses inside a segment included, the same for
vidscribe and WhisperX; rates add up over items by their counts. Flagged segments are left out (search does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vidscribe.app.bench.quality.corpus import Item
from vidscribe.app.bench.quality.metrics import ZERO, Der, Rate, der, word_error_rates
from vidscribe.app.bench.quality.reference import SpeakerTurn
from vidscribe.app.bench.quality.score import segment_words
from vidscribe.transcript import Segment


@dataclass(frozen=True)
class Scores:
    """WER over the corpus and, when the system says who speaks, DER (None: it does not); `items`: each
    file's own (WER, DER), to see where the errors are."""

    wer: Rate
    der: Der | None
    items: dict[str, tuple[Rate, Der | None]]

    def to_json(self) -> dict[str, Any]:
        return {"wer": self.wer.value, "der": _der_value(self.der),
                "items": {name: {"wer": wer.value, "der": _der_value(der)} for name, (wer, der) in self.items.items()}}


def _der_value(errors: Der | None) -> float | None:
    return None if errors is None else errors.rate.value


def score(items: Sequence[Item], transcripts: Mapping[str, Sequence[Segment]], diarized: bool) -> Scores:
    """The corpus's WER (speakers ignored) and, for a `diarized` system, DER (collar 0 s, whole file scored)."""
    each: dict[str, tuple[Rate, Der | None]] = {}
    for item in items:
        segments = [s for s in transcripts.get(item.name, ()) if s.flag is None]
        reference = item.reference
        turns = [SpeakerTurn(s.speaker, s.start, s.end) for s in segments]
        each[item.name] = (word_error_rates(reference, segment_words(segments))["wer"],
                           der(reference.speaker_turns, turns, [(0.0, reference.duration)]) if diarized else None)
    wer = sum((w for w, _ in each.values()), ZERO)
    return Scores(wer, sum((d for _, d in each.values() if d is not None), Der()) if diarized else None, each)
