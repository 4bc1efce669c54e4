"""Segments: attribute the transcript to speakers and cut it into retrieval-sized pieces.

Each word takes its speaker from `vidscribe.stages.word_speakers` (turns, each word's own voice, and the
transcript's punctuation and pauses weighed together). Segments never cross a speaker change or a long pause
and stay within the length bounds, so each belongs to one speaker and fits an embedding model's window. Text
is rebuilt with Whisper's own spacing (`join_words`), and a segment keeps the language and any flag of the
Whisper segments it holds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vidscribe.audio import AudioRef
from vidscribe.settings import Settings, section
from vidscribe.speakers.factory import load_speaker_encoder
from vidscribe.speakers.word_voices import word_voice_cosines
from vidscribe.stages.word_speakers import SENTENCE_END, assign_speakers, first_appearance_order
from vidscribe.transcript import AsrSegment, Diarization, Segment, SpeakerName, Transcript, Turn, Word, join_words

SECTION = section("SegmentsSettings", "segment_max_seconds", "segment_max_chars", "segment_pause_seconds",
                  "speaker_change_penalty", "speaker_word_voice_weight", "speaker_model", "speaker_encoder",
                  "speaker_device", "speaker_sample_clips", "speaker_clip_seconds", "window_seconds")


#: the opening words whose own voices decide the speakers' order (`in_speaking_order`): about 25 s of speech
ORDER_WORDS = 64


def word_speakers(transcript: Transcript, turns: Sequence[Turn], settings: Settings,
                  audio: AudioRef | None = None, voiced_words: int | None = None) -> list[str]:
    """The speaker label of each of the transcript's words, in order; each word's own voice weighs in when
    the recording's `audio` is given and several speakers talk (only the first `voiced_words` words', if
    given: the others have no voice evidence)."""
    words = transcript.words
    opens = [i == 0 for segment in transcript.segments for i in range(len(segment.words))]
    cosines = None
    if audio is not None and settings.speaker_word_voice_weight > 0 and len({t.speaker for t in turns}) > 1:
        heard = words[:voiced_words]
        found = word_voice_cosines(audio, heard, turns, load_speaker_encoder(settings), settings)
        if found is not None:  # words without a voice: equal cosines, no evidence either way
            voiced, matrix = found
            cosines = (voiced, np.vstack([matrix, np.zeros((len(words) - len(heard), len(voiced)))]))
    return assign_speakers(words, opens, turns, settings.speaker_change_penalty, cosines,
                           settings.speaker_word_voice_weight)


def in_speaking_order(diarization: Diarization, transcript: Transcript, settings: Settings,
                      audio: AudioRef | None = None) -> Diarization:
    """The diarization relabelled SPEAKER_00, 01, ... in the order the speakers' words are first heard.

    pyannote numbers speakers by its clusters, and its first turn may be a few milliseconds nobody reads; a
    reader expects the first voice of the transcript to be SPEAKER_00. Speakers who say no word follow, in the
    order of their first turn. Given the `audio`, the opening words' own voices weigh in as in the segments
    (`ORDER_WORDS` of them: pyannote's sample opens with two "Hello."s that its turns give to one voice).
    """
    heard = word_speakers(transcript, diarization.turns, settings, audio, ORDER_WORDS)
    by_turn = [t.speaker for t in sorted(diarization.turns, key=lambda t: t.start)]
    order = first_appearance_order([*heard, *by_turn])
    if all(old == new for old, new in order.items()):
        return diarization
    return diarization.relabelled(order)


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
    transcript: Transcript, turns: Sequence[Turn], names: dict[str, SpeakerName], settings: Settings,
    audio: AudioRef | None = None,
) -> list[Segment]:
    """Cut the attributed words at speaker changes, pauses and the length bounds.

    Past half the maximum length a segment also ends at a sentence end, so segments read as whole thoughts.
    `audio`: the recording, whose words' own voices then weigh in their attribution.
    """
    pairs = [(source, word) for source in transcript.segments for word in source.words]
    labels = word_speakers(transcript, turns, settings, audio)
    segments: list[Segment] = []
    group: list[tuple[AsrSegment, Word]] = []
    group_label = ""
    chars = 0
    for (source, word), label in zip(pairs, labels):
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
