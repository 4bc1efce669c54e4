"""The metrics, each on plain data: reference turns and hypothesis words (time, text, speaker).

- WER: word errors of the whole transcript against the whole reference, speakers ignored (meeteval's cpWER
  with every word given one speaker, which is exactly the WER of the time-ordered word sequences).
- cpWER: meeteval's concatenated minimum-permutation WER: each speaker's words concatenated, hypothesis and
  reference speakers paired to minimise errors; words given to the wrong speaker count as errors.
- tcpWER: meeteval's time-constrained cpWER: a hypothesis word matches a reference word only if their times
  are within the collar (5 s, as CHiME-8 and the NOTSOFAR task score it). Hypothesis words carry Whisper's
  word times; reference words get times spread over their turn by character count (meeteval's default).
- WDER: the share of correctly recognised words that were given the wrong speaker (see `wder`).
- DER: pyannote.metrics' diarization error rate of the speaker turns, collar 0 s, overlap scored.
- inserted words: hypothesis words whose middle lies in reference non-speech (see `nonspeech_spans`).
- loops: a 3-word n-gram said 3 or more times in a row, alone or opening a phrase that repeats back to back
  (see `loops`): Whisper's classic failure.

All word-level metrics see the same normalised words (`normalize`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from vidscribe.app.bench.quality.normalize import normalize_words
from vidscribe.app.bench.quality.reference import Reference, Span, SpeakerTurn

#: tcpWER's collar in seconds: what CHiME-8 (DASR) and NOTSOFAR score with
TCP_COLLAR_SECONDS = 5.0
#: DER's collar: 0 s, every frame of a turn boundary counts (pyannote's own benchmarks use the same)
DER_COLLAR_SECONDS = 0.0
#: a word this close to reference speech is not an insertion into non-speech (word times are rough)
NONSPEECH_MARGIN_SECONDS = 0.5
#: a loop: an n-gram of LOOP_N words repeated at least LOOP_REPEATS times in a row
LOOP_N, LOOP_REPEATS = 3, 3
#: the longest phrase (in words) whose back-to-back repeats count as a loop
LOOP_LONGEST_PHRASE = 30
_EPS = "*"


@dataclass(frozen=True)
class HypWord:
    """One stored word: Whisper's time and text, and the speaker of the segment that holds it."""

    start: float
    end: float
    text: str
    speaker: str

    @property
    def middle(self) -> float:
        return (self.start + self.end) / 2


@dataclass(frozen=True)
class Rate:
    """`errors` out of `length`; rates of several items add up by their counts, never by averaging rates."""

    errors: float
    length: float

    @property
    def value(self) -> float | None:
        return self.errors / self.length if self.length else None

    def __add__(self, other: "Rate") -> "Rate":
        return Rate(self.errors + other.errors, self.length + other.length)


ZERO = Rate(0, 0)


# --- WER, cpWER, tcpWER (meeteval) ---------------------------------------------------------------------------

def _seglst(rows: list[dict]) -> list[dict]:
    """meeteval refuses a session with no segment at all: an empty transcript is one empty segment."""
    return rows or [dict(session_id="item", speaker="none", start_time=0.0, end_time=0.0, words="")]


def _reference_rows(reference: Reference, one_speaker: bool) -> list[dict]:
    rows = []
    for turn in reference.turns:
        words = " ".join(normalize_words(turn.text, reference.language))
        if words:
            rows.append(dict(session_id="item", speaker="all" if one_speaker else turn.speaker,
                             start_time=turn.start, end_time=turn.end, words=words))
    return _seglst(rows)


def _hypothesis_rows(words: Sequence[HypWord], language: str, one_speaker: bool) -> list[dict]:
    rows = []
    for word in words:
        text = " ".join(normalize_words(word.text, language))
        if text:
            rows.append(dict(session_id="item", speaker="all" if one_speaker else word.speaker,
                             start_time=word.start, end_time=max(word.end, word.start), words=text))
    return _seglst(rows)


def word_error_rates(reference: Reference, words: Sequence[HypWord],
                     collar: float = TCP_COLLAR_SECONDS) -> dict[str, Rate]:
    """WER, cpWER and tcpWER of the hypothesis `words` (time-ordered or not) against `reference`."""
    from meeteval.wer.api import cpwer, tcpwer

    def rate(result: dict) -> Rate:
        (error,) = result.values()
        return Rate(error.errors, error.length)

    lang = reference.language
    return {
        "wer": rate(cpwer(_reference_rows(reference, True), _hypothesis_rows(words, lang, True))),
        "cpwer": rate(cpwer(_reference_rows(reference, False), _hypothesis_rows(words, lang, False))),
        "tcpwer": rate(tcpwer(_reference_rows(reference, False), _hypothesis_rows(words, lang, False),
                              collar=collar)),
    }


# --- WDER ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WrongSpeaker:
    """A correctly recognised word stored under the wrong speaker (for the report)."""

    word: str
    start: float
    reference_speaker: str
    hypothesis_speaker: str


@dataclass(frozen=True)
class Wder:
    """`wrong` of the `correct` words have the wrong speaker; `substituted_wrong` of the `substituted` too."""

    correct: int
    wrong: int
    substituted: int
    substituted_wrong: int
    mapping: dict[str, str]
    wrong_words: tuple[WrongSpeaker, ...] = ()

    @property
    def rate(self) -> Rate:
        """WDER as defined here: wrong-speaker share of the correctly recognised words."""
        return Rate(self.wrong, self.correct)

    @property
    def rate_with_substitutions(self) -> Rate:
        """Shafey et al. (2019)'s WDER: the same share over correct and substituted words together."""
        return Rate(self.wrong + self.substituted_wrong, self.correct + self.substituted)


def wder(reference: Reference, words: Sequence[HypWord]) -> Wder:
    """Word diarization error rate: the share of correctly recognised words given the wrong speaker.

    1. Both sides become one time-ordered sequence of normalised words: reference words in turn order (by
       turn start), each with its turn's speaker; hypothesis words by Whisper's time, each with its segment's
       speaker.
    2. The sequences are aligned by minimum edit distance, speakers ignored (kaldialign, as WER aligns).
    3. Hypothesis speakers are mapped one-to-one to reference speakers so that the most aligned word pairs
       (correct or substituted) agree: the Hungarian algorithm on the pair counts. A hypothesis speaker left
       without a partner (more speakers found than there are) is wrong for every word.
    4. WDER = aligned pairs with equal words whose mapped hypothesis speaker differs from the reference
       speaker, divided by all aligned pairs with equal words. Substitutions are left out, so a misheard word
       is a WER error and not also a speaker error; `Wder.rate_with_substitutions` is Shafey et al.'s variant.
    """
    import kaldialign
    from scipy.optimize import linear_sum_assignment

    ref: list[tuple[str, str]] = [(w, t.speaker) for t in sorted(reference.turns, key=lambda t: t.start)
                                  for w in normalize_words(t.text, reference.language)]
    timed = [(w, h.speaker, h.start) for h in sorted(words, key=lambda h: h.start)
             for w in normalize_words(h.text, reference.language)]
    hyp: list[tuple[str, str]] = [(w, speaker) for w, speaker, _ in timed]
    pairs: list[tuple[int, int]] = []
    i = j = 0
    for r, h in kaldialign.align([w for w, _ in ref], [w for w, _ in hyp], _EPS):
        if r != _EPS and h != _EPS:
            pairs.append((i, j))
        i += r != _EPS
        j += h != _EPS
    ref_speakers = sorted({s for _, s in ref})
    hyp_speakers = sorted({s for _, s in hyp})
    counts = np.zeros((len(hyp_speakers), len(ref_speakers)))
    for i, j in pairs:
        counts[hyp_speakers.index(hyp[j][1]), ref_speakers.index(ref[i][1])] += 1
    rows, cols = linear_sum_assignment(counts, maximize=True)
    mapping = {hyp_speakers[r]: ref_speakers[c] for r, c in zip(rows, cols)}
    tally = {"correct": 0, "wrong": 0, "substituted": 0, "substituted_wrong": 0}
    wrong_words = []
    for i, j in pairs:
        kind = "correct" if ref[i][0] == hyp[j][0] else "substituted"
        tally[kind] += 1
        if mapping.get(hyp[j][1]) != ref[i][1]:
            tally["wrong" if kind == "correct" else "substituted_wrong"] += 1
            if kind == "correct":
                wrong_words.append(WrongSpeaker(hyp[j][0], timed[j][2], ref[i][1], hyp[j][1]))
    return Wder(**tally, mapping=mapping, wrong_words=tuple(wrong_words))


# --- DER (pyannote.metrics) ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Der:
    """DER's components in seconds; they add up over items."""

    confusion: float = 0.0
    missed: float = 0.0
    false_alarm: float = 0.0
    total: float = 0.0

    @property
    def rate(self) -> Rate:
        return Rate(self.confusion + self.missed + self.false_alarm, self.total)

    def __add__(self, other: "Der") -> "Der":
        return Der(self.confusion + other.confusion, self.missed + other.missed,
                   self.false_alarm + other.false_alarm, self.total + other.total)


def der(reference: Sequence[SpeakerTurn], hypothesis: Iterable[SpeakerTurn], scored: Sequence[Span],
        collar: float = DER_COLLAR_SECONDS) -> Der:
    """pyannote.metrics' DER of `hypothesis` turns against `reference` turns within the `scored` spans
    (the UEM), with `collar` (0 s) and overlapping speech scored (`skip_overlap=False`)."""
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    def annotation(turns: Iterable[SpeakerTurn]) -> Annotation:
        result = Annotation()
        for k, turn in enumerate(turns):
            if turn.end > turn.start:
                result[Segment(turn.start, turn.end), k] = turn.speaker
        return result

    uem = Timeline([Segment(a, b) for a, b in scored if b > a])
    metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
    parts = metric(annotation(reference), annotation(hypothesis), uem=uem, detailed=True)
    return Der(parts["confusion"], parts["missed detection"], parts["false alarm"], parts["total"])


# --- inserted words --------------------------------------------------------------------------------------------

def _merge(spans: Iterable[Span]) -> list[Span]:
    merged: list[list[float]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def complement(spans: Iterable[Span], duration: float) -> list[Span]:
    """The parts of [0, duration] that no span covers."""
    gaps, t = [], 0.0
    for a, b in _merge(spans):
        if a > t:
            gaps.append((t, min(a, duration)))
        t = max(t, b)
    if t < duration:
        gaps.append((t, duration))
    return [(a, b) for a, b in gaps if b > a]


def nonspeech_spans(reference: Reference, margin: float = NONSPEECH_MARGIN_SECONDS) -> list[Span]:
    """Where nobody speaks: [0, duration] minus every reference turn and ignored span, each widened by
    `margin` (Whisper's word times are off by tenths of a second, and a turn's edges by a little)."""
    speech = [(t.start - margin, t.end + margin) for t in reference.speaker_turns]
    speech += [(t.start - margin, t.end + margin) for t in reference.turns]
    speech += [(a - margin, b + margin) for a, b in reference.ignored]
    return complement(speech, reference.duration)


def inside(moment: float, spans: Sequence[Span]) -> bool:
    return any(a <= moment < b for a, b in spans)


def inserted_words(reference: Reference, words: Sequence[HypWord]) -> list[HypWord]:
    """Hypothesis words whose middle falls in reference non-speech."""
    spans = nonspeech_spans(reference)
    return [w for w in words if inside(w.middle, spans)]


# --- loops -----------------------------------------------------------------------------------------------------

def loops(words: Sequence[str], n: int = LOOP_N, repeats: int = LOOP_REPEATS,
          longest: int = LOOP_LONGEST_PHRASE) -> list[tuple[int, int]]:
    """The stretches (first word, end) where an `n`-gram is repeated `repeats` or more times in a row.

    "In a row" means back to back at the n-gram's own length ("no no no no no no no no no", "the end of the
    end of the end of") or as the opening of a longer phrase, up to `longest` words, that itself repeats back
    to back (Whisper's sentence loops: "I went home. I went home. I went home."); natural speech does neither.
    Each maximal stretch counts once, at its shortest period.
    """
    found: list[tuple[int, int]] = []
    i = 0
    while i + n * repeats <= len(words):
        end = _loop_end(words, i, n, repeats, longest)
        if end is None:
            i += 1
        else:
            found.append((i, end))
            i = end
    return found


def _loop_end(words: Sequence[str], i: int, n: int, repeats: int, longest: int) -> int | None:
    """The end of the loop starting at word `i`, at its shortest period; None if none starts there."""
    head = list(words[i: i + n])
    for period in range(n, longest + 1):
        if i + period * repeats > len(words):
            return None
        if any(list(words[i + k * period: i + k * period + n]) != head for k in range(1, repeats)):
            continue  # cheap test first: the n-gram itself must come back at every repeat
        phrase = list(words[i: i + period])
        if all(list(words[i + k * period: i + (k + 1) * period]) == phrase for k in range(1, repeats)):
            end = i + period * repeats
            while list(words[end: end + period]) == phrase:
                end += period
            return end
    return None
