"""One item's figures from its reference and what the pipeline stored; totals over items; the targets.

Why score `Recording.segments` minus flagged segments: that is the archive as search sees it (a flagged
segment is stored with its reason and left out of search). Words come from each segment's `words` (Whisper's
times), with the segment's speaker. Words whose middle falls in an item's ignored span (speech without a
reference) are left out of WER, cpWER, tcpWER and WDER, and that span is left out of DER's scored time;
inserted words and loops look at everything stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from vidscribe.app.bench.quality.corpus import Item
from vidscribe.app.bench.quality.metrics import (
    ZERO, Der, HypWord, Rate, Wder, complement, der, inserted_words,
    inside, loops, nonspeech_spans, wder, word_error_rates,
)
from vidscribe.app.bench.quality.normalize import normalize_words
from vidscribe.app.bench.quality.reference import SpeakerTurn
from vidscribe.transcript import Segment, Turn

#: the issue's targets (#13)
SAMPLE_CP_GAP_POINTS = 3.0
SAMPLE_WDER = 0.03
DIALOGUE_WDER = 0.02
MAX_LOOPS = 0
INSERTIONS_PER_10_MIN = 1.0


@dataclass(frozen=True)
class IgnoredSpeech:
    """What was stored for an item's unscored speech (the German half of the mixed clip)."""

    segments: int
    flagged: int
    languages: dict[str, int]
    flags: dict[str, int]
    stored_words: int
    stored_text: str


@dataclass
class ItemResult:
    """An item's figures. `status`: "ok", "rejected: <why>" (the pipeline refused the recording: scored as an
    empty transcript) or "skipped: <why>" (not run; left out of the totals)."""

    name: str
    kind: str
    language: str
    duration: float
    status: str = "ok"
    wall_seconds: float = 0.0
    rates: dict[str, Rate] = field(default_factory=dict)
    wder_detail: Wder | None = None
    der_detail: Der = field(default_factory=Der)
    inserted: list[HypWord] = field(default_factory=list)
    nonspeech_seconds: float = 0.0
    loops: list[str] = field(default_factory=list)
    loops_with_flagged: list[str] = field(default_factory=list)
    segments: int = 0
    flagged: int = 0
    flags: dict[str, int] = field(default_factory=dict)
    speakers_found: int = 0
    speakers_reference: int = 0
    detected_language: str = ""
    diarization_note: str = ""
    ignored: IgnoredSpeech | None = None

    @property
    def scored(self) -> bool:
        return not self.status.startswith("skipped")

    def to_json(self) -> dict:
        return {
            "name": self.name, "kind": self.kind, "language": self.language, "duration_s": self.duration,
            "status": self.status, "wall_s": round(self.wall_seconds, 1),
            **{k: _json_rate(r) for k, r in self.rates.items()},
            "wder_with_substitutions": _json_rate(self.wder_detail.rate_with_substitutions)
            if self.wder_detail else None,
            "wder_speaker_mapping": self.wder_detail.mapping if self.wder_detail else None,
            "wrong_speaker_words": [vars(w) for w in self.wder_detail.wrong_words] if self.wder_detail else [],
            "der_seconds": vars(self.der_detail),
            "inserted_words": [vars(w) for w in self.inserted], "nonspeech_s": round(self.nonspeech_seconds, 2),
            "loops": self.loops, "loops_with_flagged": self.loops_with_flagged,
            "segments": self.segments, "flagged": self.flagged, "flags": self.flags,
            "speakers_found": self.speakers_found, "speakers_reference": self.speakers_reference,
            "detected_language": self.detected_language, "diarization": self.diarization_note,
            "ignored_speech": vars(self.ignored) if self.ignored else None,
        }


def _json_rate(rate: Rate) -> dict:
    return {"errors": rate.errors, "length": rate.length, "rate": rate.value}


def segment_words(segments: Sequence[Segment]) -> list[HypWord]:
    """Each segment's words with the segment's speaker (a segment without word times: its text spread
    evenly over its span)."""
    words = []
    for segment in sorted(segments, key=lambda s: s.start):
        if segment.words:
            words += [HypWord(w.start, w.end, w.text, segment.speaker) for w in segment.words]
        else:
            parts = segment.text.split()
            step = (segment.end - segment.start) / max(1, len(parts))
            words += [HypWord(segment.start + k * step, segment.start + (k + 1) * step, text, segment.speaker)
                      for k, text in enumerate(parts)]
    return words


def _loop_texts(segments: Sequence[Segment], language: str) -> list[str]:
    tokens = [w for s in sorted(segments, key=lambda s: s.start) for w in normalize_words(s.text, language)]
    return [" ".join(tokens[a:b]) for a, b in loops(tokens)]


def score_item(item: Item, segments: Sequence[Segment], turns: Sequence[Turn], *, status: str = "ok",
               wall_seconds: float = 0.0, detected_language: str = "", diarization_note: str = "") -> ItemResult:
    """The figures of one item, given the pipeline's `segments` and diarization `turns` (empty if rejected)."""
    reference = item.reference
    stored = [s for s in segments if s.flag is None]
    words = segment_words(stored)
    scored_words = [w for w in words if not inside(w.middle, reference.ignored)]
    nonspeech = nonspeech_spans(reference)
    wder_detail = wder(reference, scored_words)
    der_detail = der(reference.speaker_turns, [SpeakerTurn(t.speaker, t.start, t.end) for t in turns],
                     complement(reference.ignored, reference.duration))
    result = ItemResult(
        name=item.name, kind=item.kind, language=reference.language, duration=reference.duration,
        status=status, wall_seconds=wall_seconds,
        rates={**word_error_rates(reference, scored_words), "wder": wder_detail.rate, "der": der_detail.rate},
        wder_detail=wder_detail, der_detail=der_detail,
        inserted=inserted_words(reference, words), nonspeech_seconds=sum(b - a for a, b in nonspeech),
        loops=_loop_texts(stored, reference.language),
        loops_with_flagged=_loop_texts(segments, reference.language),
        segments=len(segments), flagged=len(segments) - len(stored),
        flags=dict(Counter(s.flag for s in segments if s.flag is not None)),
        speakers_found=len({s.speaker for s in stored}), speakers_reference=len(reference.speakers),
        detected_language=detected_language, diarization_note=diarization_note,
    )
    if reference.ignored:
        result.ignored = ignored_speech(segments, reference.ignored)
    return result


def ignored_speech(segments: Sequence[Segment], spans: Sequence[tuple[float, float]]) -> IgnoredSpeech:
    """What was stored for the segments whose middle lies in `spans`."""
    inner = [s for s in segments if inside((s.start + s.end) / 2, spans)]
    kept = [s for s in inner if s.flag is None]
    return IgnoredSpeech(
        segments=len(inner), flagged=len(inner) - len(kept),
        languages=dict(Counter(s.language or "?" for s in inner)),
        flags=dict(Counter(s.flag for s in inner if s.flag is not None)),
        stored_words=sum(len(s.text.split()) for s in kept), stored_text=" ".join(s.text for s in kept),
    )


def skipped(item: Item, why: str) -> ItemResult:
    return ItemResult(name=item.name, kind=item.kind, language=item.reference.language,
                      duration=item.reference.duration, status=f"skipped: {why}")


# --- totals and targets ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Totals:
    """Counts added over items (never rates averaged). Word rates and DER: English items only (a French WER
    is another quantity); inserted words, loops and flags: every item that ran."""

    rates: dict[str, Rate]
    inserted: int
    nonspeech_seconds: float
    loops: int
    segments: int
    flagged: int
    duration: float
    wall_seconds: float

    @property
    def inserted_per_10_min(self) -> float | None:
        return self.inserted / (self.nonspeech_seconds / 600) if self.nonspeech_seconds else None


def totals(results: Sequence[ItemResult]) -> Totals:
    ran = [r for r in results if r.scored]
    english = [r for r in ran if r.language == "en"]
    keys = ("wer", "cpwer", "tcpwer", "wder", "der")
    return Totals(
        rates={k: sum((r.rates[k] for r in english), ZERO) for k in keys},
        inserted=sum(len(r.inserted) for r in ran), nonspeech_seconds=sum(r.nonspeech_seconds for r in ran),
        loops=sum(len(r.loops) for r in ran), segments=sum(r.segments for r in ran),
        flagged=sum(r.flagged for r in ran), duration=sum(r.duration for r in ran),
        wall_seconds=sum(r.wall_seconds for r in ran),
    )


@dataclass(frozen=True)
class Target:
    name: str
    value: float | None
    limit: float
    unit: str  # how value and limit print: "%", "points", "count", "per 10 min"

    @property
    def met(self) -> bool:
        return self.value is not None and self.value <= self.limit


def _percent(rate: Rate) -> float | None:
    return None if rate.value is None else 100 * rate.value


def targets(results: Sequence[ItemResult]) -> list[Target]:
    """The issue's targets over these results (those of items present in the corpus)."""
    found: list[Target] = []
    by_kind = {r.name: r for r in results if r.scored}
    sample = by_kind.get("sample")
    if sample:
        wer_, cp = _percent(sample.rates["wer"]), _percent(sample.rates["cpwer"])
        gap = None if wer_ is None or cp is None else cp - wer_
        found.append(Target("sample: cpWER - WER", gap, SAMPLE_CP_GAP_POINTS, "points"))
        found.append(Target("sample: WDER", _percent(sample.rates["wder"]), 100 * SAMPLE_WDER, "%"))
    for result in results:
        if result.kind == "dialogue" and result.scored:
            found.append(Target(f"{result.name}: WDER", _percent(result.rates["wder"]), 100 * DIALOGUE_WDER, "%"))
    total = totals(results)
    found.append(Target("loops (3-gram 3+ times in a row), all items", total.loops, MAX_LOOPS, "count"))
    found.append(Target("inserted words per 10 min of non-speech, all items", total.inserted_per_10_min,
                        INSERTIONS_PER_10_MIN, "per 10 min"))
    return found

