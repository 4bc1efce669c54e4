"""Segments: cut the attributed transcript into retrieval-sized pieces.

Each word comes with its speaker (`vidscribe.stages.attribute`). Segments never cross a speaker change or a
long pause and stay within the length bounds, so each belongs to one speaker and fits an embedding model's window. Text
is rebuilt with Whisper's own spacing (`join_words`), and a segment keeps the language and any flag of the
Whisper segments it holds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vidscribe.settings import Settings, section
from vidscribe.stages.word_speakers import SENTENCE_END
from vidscribe.transcript import AsrSegment, Segment, SpeakerName, Transcript, Word, join_words

SECTION = section("SegmentsSettings", "segment_max_seconds", "segment_max_chars", "segment_pause_seconds")


def within_bounds(group_start: float, group_end: float, group_chars: int,
                  start: float, end: float, chars: int, settings: Settings) -> bool:
    """Whether a piece [start, end] of `chars` characters may join a group without breaking the bounds."""
    return (start - group_end <= settings.segment_pause_seconds
            and end - group_start <= settings.segment_max_seconds
            and group_chars + chars <= settings.segment_max_chars)


def _segment(pairs: list[tuple[AsrSegment, Word]], label: str, names: dict[str, SpeakerName]) -> Segment:
    sources = list({id(source): source for source, _ in pairs}.values())
    name = names.get(label)
    flags = [s.flag for s in sources if s.flag]
    return Segment(
        start=pairs[0][1].start,
        end=pairs[-1][1].end,
        text=join_words(word for _, word in pairs),
        speaker=name.name if name else label,
        speaker_confidence=name.confidence if name else 0.0,
        avg_logprob=float(np.mean([s.avg_logprob for s in sources])),
        no_speech_prob=float(np.max([s.no_speech_prob for s in sources])),
        words=tuple(word for _, word in pairs),
        language=max((s.language for s in sources), key=[s.language for s in sources].count),
        flag="; ".join(dict.fromkeys(flags)) or None,
    )


def build_segments(
    transcript: Transcript, labels: Sequence[str], names: dict[str, SpeakerName], settings: Settings,
) -> list[Segment]:
    """Cut the words, attributed to the speakers `labels` (one per word: `Diarization.word_speakers`), at
    speaker changes, pauses and the length bounds.

    Past half the maximum length a segment also ends at a sentence end, so segments read as whole thoughts.
    """
    pairs = [(source, word) for source in transcript.segments for word in source.words]
    segments: list[Segment] = []
    group: list[tuple[AsrSegment, Word]] = []
    group_label = ""
    chars = 0
    for (source, word), label in zip(pairs, labels, strict=True):
        if group and (label != group_label or source.flag != group[-1][0].flag or not within_bounds(
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
