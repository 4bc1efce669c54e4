"""Which speaker said each word: diarization turns and the transcript's own structure, decided together.

Why not "the turn each word overlaps most": Whisper's word timestamps are off by a tenth of a second or more
(tiny.en's often by 0.4 s), so at every turn change a word or two lands on the wrong side ("I'm in New Jersey
now, | though." given to the next speaker), and pyannote's own boundaries wobble by as much. Peers smooth
afterwards: WhisperX takes the largest overlap per word; whisper-diarization re-assigns whole sentences to
their majority speaker, which merges a reply into the question whenever the model leaves a speaker change
unpunctuated; a minimum run length swallows real short replies ("Neither did I.").

What this does instead is what a tagger would: each word's evidence from the turns (how much of the word,
widened by the timestamp tolerance, each speaker covers; or, in a gap, how near each speaker's speech is) is
weighed against a cost for changing speaker between two words. The cost is high inside a sentence and low
where a speaker change is likely: after a sentence end, after a comma, across a pause, at a Whisper segment
boundary. The Viterbi path is the most likely labelling: a stray word mid-sentence stays with its sentence,
while a short reply between sentence ends keeps its own speaker.

The turns miss what pyannote's segmentation never heard: a reply of a word or two inside the other speaker's
turn, with nothing in the text to mark it. So each word's own voice adds its evidence when the recording's
audio is at hand (`vidscribe.speakers.word_voices`): `speaker_word_voice_weight` times the word's cosine to a
speaker's voice less its best cosine. With that second witness the turns' floor is raised (`VOICED_FLOOR`):
a turn no longer makes every other speaker nearly impossible for a word.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from vidscribe.transcript import Turn, Word

FALLBACK_LABEL = "SPEAKER_00"
SENTENCE_END = (".", "?", "!", "…", "。", "？", "！")
CLAUSE_END = (",", ";", ":", "，", "、", "；")
#: how far (seconds) a word's timestamps may be off: the evidence window is the word widened by this
TOLERANCE = 0.1
#: a word in a gap between turns: evidence for a speaker falls off with the distance to their speech (seconds)
NEAR_SECONDS = 0.3
#: evidence floor, so that no speaker is impossible for a word (log space)
FLOOR = 1e-3
#: the floor when each word's own voice is evidence too. Words at the wrong speaker, quality corpus (sample, 4
#: dialogues) + peer corpus (2 dialogues): 42+75 with turns only; weight 60 with this floor at 1e-3: 26+10, at
#: 0.01: 14+4, at 0.03: 11+5, at 0.1: 9+1
VOICED_FLOOR = 0.1
#: what makes a speaker change cheaper, in log-evidence units (see module docstring)
SENTENCE_BONUS = 3.5
CLAUSE_BONUS = 1.0
SEGMENT_BONUS = 1.0
PAUSE_BONUS_PER_SECOND = 2.5
MAX_PAUSE_SECONDS = 1.0
#: the cheapest a speaker change can ever be
MIN_CHANGE_COST = 0.1
#: a word timed shorter than this (one 20 ms Whisper frame) was collapsed by the alignment (see `heard_spans`)
COLLAPSED_SECONDS = 0.02


class TurnIndex:
    """Turns sorted by start, for fast 'who speaks during [a, b]' look-ups over long recordings."""

    def __init__(self, turns: Iterable[Turn]) -> None:
        self.turns = sorted(turns, key=lambda t: t.start)
        self.starts = [t.start for t in self.turns]
        self.longest = max((t.duration for t in self.turns), default=0.0)

    def overlaps(self, start: float, end: float) -> dict[str, float]:
        """Seconds each speaker talks within [start, end]."""
        lo = bisect.bisect_left(self.starts, start - self.longest)
        hi = bisect.bisect_right(self.starts, end)
        shared: dict[str, float] = {}
        for turn in self.turns[lo:hi]:
            seconds = min(end, turn.end) - max(start, turn.start)
            if seconds > 0:
                shared[turn.speaker] = shared.get(turn.speaker, 0.0) + seconds
        return shared

    def distances(self, moment: float, reach: float) -> dict[str, float]:
        """Each speaker's distance (seconds) from `moment` to their nearest turn within `reach`."""
        lo = bisect.bisect_left(self.starts, moment - reach - self.longest)
        hi = bisect.bisect_right(self.starts, moment + reach)
        near: dict[str, float] = {}
        for turn in self.turns[lo:hi]:
            gap = max(turn.start - moment, moment - turn.end, 0.0)
            if gap <= reach and gap < near.get(turn.speaker, math.inf):
                near[turn.speaker] = gap
        return near


def heard_spans(words: Sequence[Word]) -> list[Word]:
    """The words with the span each must have been said in: a word Whisper timed with no duration is widened
    to the gap between its neighbours.

    Why: Whisper's word times come from aligning its tokens to the audio frames (cross-attention, dynamic time
    warping), and where that alignment collapses a word onto one frame the frame is often not where the word
    was said ("Yes," timed at 5.55 s, said at 5.00-5.33 s, right after a turn change). The word surely lies
    between the end of the word before and the start of the word after, so the turns and its voice clip are
    read there. Measured on the quality and peer corpora (10 dialogues and pyannote's sample, 2,601 words): words
    at the wrong speaker 19 -> 16, no item worse. The stored times stay Whisper's.
    """
    spans = list(words)
    for i, word in enumerate(words):
        if word.end - word.start < COLLAPSED_SECONDS:
            before = words[i - 1].end if i else word.start
            after = words[i + 1].start if i + 1 < len(words) else word.end
            spans[i] = replace(word, start=min(before, word.start), end=max(after, word.end))
    return spans


def evidence(word: Word, index: TurnIndex, speakers: Sequence[str], floor: float = FLOOR) -> np.ndarray:
    """Log-evidence from the turns for each speaker having said `word` (a probability-like share, floored)."""
    shared = index.overlaps(word.start - TOLERANCE, word.end + TOLERANCE)
    share = np.array([shared.get(s, 0.0) for s in speakers])
    if share.sum() <= 0:
        middle = (word.start + word.end) / 2
        near = index.distances(middle, 10 * NEAR_SECONDS)
        share = np.array([math.exp(-near[s] / NEAR_SECONDS) if s in near else 0.0 for s in speakers])
    if share.sum() <= 0:
        share = np.ones(len(speakers))
    return np.log(share / share.sum() + floor)


def change_cost(previous: Word, word: Word, new_segment: bool, penalty: float) -> float:
    """What changing speaker between `previous` and `word` costs: `penalty` less the signs of a turn change."""
    bonus = PAUSE_BONUS_PER_SECOND * min(max(word.start - previous.end, 0.0), MAX_PAUSE_SECONDS)
    if previous.text.endswith(SENTENCE_END):
        bonus += SENTENCE_BONUS
    elif previous.text.endswith(CLAUSE_END):
        bonus += CLAUSE_BONUS
    if new_segment:
        bonus += SEGMENT_BONUS
    return max(penalty - bonus, MIN_CHANGE_COST)


def voice_evidence(speakers: Sequence[str], cosines: tuple[list[str], np.ndarray], weight: float) -> np.ndarray:
    """Log-evidence from each word's voice (words x `speakers`): `weight` times the word's cosine to a speaker's
    voice less its best cosine; 0 (no evidence against) for a speaker without a voice."""
    voiced, matrix = cosines
    gaps = weight * (matrix - matrix.max(axis=1, keepdims=True))
    columns = {label: gaps[:, j] for j, label in enumerate(voiced)}
    return np.stack([columns.get(label, np.zeros(len(matrix))) for label in speakers], axis=1)


def assign_speakers(words: Sequence[Word], segment_starts: Sequence[bool], turns: Iterable[Turn],
                    penalty: float, cosines: tuple[list[str], np.ndarray] | None = None,
                    voice_weight: float = 0.0) -> list[str]:
    """The most likely speaker label of each word (Viterbi over words; see the module docstring).

    `segment_starts[i]` says word i opens a Whisper segment; `penalty` is the cost of a speaker change with
    no sign of one (setting `speaker_change_penalty`); `cosines` are the voiced speakers and each word's
    cosine to their voices (`WordVoices.cosines`), weighed by `voice_weight`.
    """
    index = TurnIndex(turns)
    speakers = sorted({t.speaker for t in index.turns})
    if not words:
        return []
    if len(speakers) <= 1:
        return [speakers[0] if speakers else FALLBACK_LABEL] * len(words)
    n, k = len(words), len(speakers)
    voice, floor = np.zeros((n, k)), FLOOR
    if cosines is not None and voice_weight > 0:
        voice, floor = voice_evidence(speakers, cosines, voice_weight), VOICED_FLOOR
    score = evidence(words[0], index, speakers, floor) + voice[0]
    back = np.zeros((n, k), dtype=np.int64)
    stay = np.eye(k, dtype=bool)
    for i in range(1, n):
        cost = change_cost(words[i - 1], words[i], segment_starts[i], penalty)
        options = score[:, None] - np.where(stay, 0.0, cost)  # options[from, to]
        back[i] = options.argmax(axis=0)
        score = options.max(axis=0) + evidence(words[i], index, speakers, floor) + voice[i]
    path = [int(score.argmax())]
    for i in range(n - 1, 0, -1):
        path.append(int(back[i, path[-1]]))
    return [speakers[j] for j in reversed(path)]


def first_appearance_order(labels: Iterable[str]) -> dict[str, str]:
    """Anonymous labels renumbered SPEAKER_00, 01, ... in the order their speakers are first heard."""
    order: dict[str, str] = {}
    for label in labels:
        if label not in order:
            order[label] = f"SPEAKER_{len(order):02d}"
    return order
