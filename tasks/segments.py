"""Segments: attribute each word to a speaker and cut the transcript into retrieval-sized pieces.

Why word-level attribution: Whisper's own segments often span a speaker change ("Hello? Hello?" across two
people); giving every word the speaker whose turn overlaps it most, then cutting at speaker changes, pauses
and length bounds, yields segments that each belong to one speaker and fit an embedding model's window.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

import numpy as np

from vidscribe.settings import Settings
from vidscribe.stage_task import stage_task
from vidscribe.transcript import AsrSegment, Segment, SpeakerName, Transcript, Turn, Word

SETTINGS_FIELDS = ("segment_max_seconds", "segment_max_chars", "segment_pause_seconds")


class TurnIndex:
    """Turns sorted by start, for fast 'who speaks at time t' look-ups over long recordings."""

    def __init__(self, turns: Iterable[Turn]) -> None:
        self.turns = sorted(turns, key=lambda t: t.start)
        self.starts = [t.start for t in self.turns]
        self.longest = max((t.duration for t in self.turns), default=0.0)

    def speaker_at(self, start: float, end: float) -> str | None:
        """The speaker with the most overlap with [start, end]; the nearest turn when none overlaps."""
        if not self.turns:
            return None
        lo = bisect.bisect_left(self.starts, start - self.longest)
        hi = bisect.bisect_right(self.starts, end)
        overlap: dict[str, float] = {}
        for turn in self.turns[lo:hi]:
            shared = min(end, turn.end) - max(start, turn.start)
            if shared > 0:
                overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + shared
        if overlap:
            return max(overlap, key=overlap.__getitem__)
        # Zero-length words and words in gaps between turns: take the nearest turn.
        middle = (start + end) / 2
        i = bisect.bisect_left(self.starts, middle)
        near = self.turns[max(0, i - 1): i + 1]
        return min(near, key=lambda t: min(abs(middle - t.start), abs(middle - t.end))).speaker


def build_segments(
    transcript: Transcript, turns: Sequence[Turn], names: dict[str, SpeakerName], settings: Settings
) -> list[Segment]:
    """Cut the transcript at speaker changes, pauses and length bounds."""
    index = TurnIndex(turns)
    segments: list[Segment] = []
    current: list[Word] = []
    sources: list[AsrSegment] = []  # the Whisper segments the current words came from, for quality figures
    current_label: str | None = None

    def flush() -> None:
        if not current:
            return
        name = names.get(current_label or "")
        segments.append(Segment(
            start=current[0].start,
            end=current[-1].end,
            text=" ".join(w.text for w in current).strip(),
            speaker=name.name if name else (current_label or "SPEAKER_00"),
            speaker_confidence=name.confidence if name else 0.0,
            avg_logprob=float(np.mean([s.avg_logprob for s in sources])),
            no_speech_prob=float(np.max([s.no_speech_prob for s in sources])),
            words=tuple(current),
        ))
        current.clear()
        sources.clear()

    for source, word in ((seg, w) for seg in transcript.segments for w in seg.words):
        label = index.speaker_at(word.start, word.end)
        if current:
            chars = sum(len(w.text) + 1 for w in current) + len(word.text)
            if (
                label != current_label
                or word.start - current[-1].end > settings.segment_pause_seconds
                or word.end - current[0].start > settings.segment_max_seconds
                or chars > settings.segment_max_chars
            ):
                flush()
        current.append(word)
        if not sources or sources[-1] is not source:
            sources.append(source)
        current_label = label
    flush()
    return segments


segments_task = stage_task("segments", SETTINGS_FIELDS)(build_segments)
