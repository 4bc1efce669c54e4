"""Segments: attribute the transcript to speakers and cut it into retrieval-sized pieces.

Why words first, then smoothing: Whisper's word timestamps are only roughly aligned (tens to hundreds of
ms), so the speaker under each word flips single words between speakers at turn boundaries. Each word takes
the speaker it overlaps most, then runs shorter than `segment_min_turn_seconds` join their neighbour. A
whole-sentence vote would be simpler but merges a reply into the question whenever Whisper leaves a speaker
change unpunctuated, which small models often do. Segments never cross a speaker change or a long pause and
stay within the length bounds, so each belongs to one speaker and fits an embedding model's window.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

import numpy as np

from vidscribe.settings import Settings, section
from vidscribe.transcript import AsrSegment, Segment, SpeakerName, Transcript, Turn, Word

SECTION = section("SegmentsSettings", "segment_max_seconds", "segment_max_chars", "segment_pause_seconds",
                  "segment_min_turn_seconds")
SENTENCE_END = (".", "?", "!", "…")
FALLBACK_LABEL = "SPEAKER_00"


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

    def nearest(self, moment: float) -> str | None:
        """The speaker of the turn closest to `moment` (for speech that falls between turns)."""
        if not self.turns:
            return None
        i = bisect.bisect_left(self.starts, moment)
        near = self.turns[max(0, i - 1): i + 1]
        return min(near, key=lambda t: min(abs(moment - t.start), abs(moment - t.end))).speaker


def word_labels(words: Sequence[Word], index: TurnIndex) -> list[str]:
    """Each word's speaker: the one talking most during the word, else the nearest turn's."""
    labels = []
    for word in words:
        shared = index.overlaps(word.start, word.end)
        label = max(shared, key=shared.__getitem__) if shared else index.nearest((word.start + word.end) / 2)
        labels.append(label or FALLBACK_LABEL)
    return labels


def smooth(labels: list[str], words: Sequence[Word], min_seconds: float) -> list[str]:
    """Give speaker runs shorter than `min_seconds` to their longer neighbouring run.

    Shortest runs go first, so a flicker inside one speaker's turn disappears while a real reply of a few
    words (longer than `min_seconds`) keeps its own speaker.
    """
    runs: list[list] = []  # [label, first word index, last word index]
    for i, label in enumerate(labels):
        if runs and runs[-1][0] == label:
            runs[-1][2] = i
        else:
            runs.append([label, i, i])

    def seconds(run: list) -> float:
        return words[run[2]].end - words[run[1]].start

    while len(runs) > 1:
        i = min(range(len(runs)), key=lambda k: seconds(runs[k]))
        if seconds(runs[i]) >= min_seconds:
            break
        neighbours = [k for k in (i - 1, i + 1) if 0 <= k < len(runs)]
        target = max(neighbours, key=lambda k: seconds(runs[k]))
        runs[target][1] = min(runs[target][1], runs[i][1])
        runs[target][2] = max(runs[target][2], runs[i][2])
        del runs[i]
        merged: list[list] = []
        for run in runs:  # neighbours that now share a label become one run
            if merged and merged[-1][0] == run[0]:
                merged[-1][2] = run[2]
            else:
                merged.append(run)
        runs = merged
    return [label for label, first, last in runs for _ in range(first, last + 1)]


def within_bounds(group_start: float, group_end: float, group_chars: int,
                  start: float, end: float, chars: int, settings: Settings) -> bool:
    """Whether a piece [start, end] of `chars` characters may join a group without breaking the bounds."""
    return (start - group_end <= settings.segment_pause_seconds
            and end - group_start <= settings.segment_max_seconds
            and group_chars + chars <= settings.segment_max_chars)


def _segment(pairs: list[tuple[AsrSegment, Word]], label: str, names: dict[str, SpeakerName]) -> Segment:
    sources = list({id(source): source for source, _ in pairs}.values())
    name = names.get(label)
    return Segment(
        start=pairs[0][1].start,
        end=pairs[-1][1].end,
        text=" ".join(word.text for _, word in pairs).strip(),
        speaker=name.name if name else label,
        speaker_confidence=name.confidence if name else 0.0,
        avg_logprob=float(np.mean([s.avg_logprob for s in sources])),
        no_speech_prob=float(np.max([s.no_speech_prob for s in sources])),
        words=tuple(word for _, word in pairs),
    )


def build_segments(
    transcript: Transcript, turns: Sequence[Turn], names: dict[str, SpeakerName], settings: Settings
) -> list[Segment]:
    """Cut the attributed words at speaker changes, pauses and the length bounds.

    Past half the maximum length a segment also ends at a sentence end, so segments read as whole thoughts.
    """
    pairs = [(source, word) for source in transcript.segments for word in source.words]
    words = [word for _, word in pairs]
    labels = smooth(word_labels(words, TurnIndex(turns)), words, settings.segment_min_turn_seconds)
    segments: list[Segment] = []
    group: list[tuple[AsrSegment, Word]] = []
    group_label = ""
    chars = 0
    for (source, word), label in zip(pairs, labels):
        if group and (label != group_label or not within_bounds(
            group[0][1].start, group[-1][1].end, chars, word.start, word.end, len(word.text) + 1, settings,
        )):
            segments.append(_segment(group, group_label, names))
            group, chars = [], 0
        group.append((source, word))
        group_label = label
        chars += len(word.text) + 1
        if word.text.endswith(SENTENCE_END) and word.end - group[0][1].start >= settings.segment_max_seconds / 2:
            segments.append(_segment(group, group_label, names))
            group, chars = [], 0
    if group:
        segments.append(_segment(group, group_label, names))
    return segments
