"""Segment building: speaker attribution and bounds, on hand-made transcripts (fast, exact)."""

from __future__ import annotations

from vidscribe.stages.segments import build_segments
from vidscribe.transcript import AsrSegment, SpeakerName, Transcript, Turn, Word


def transcript_of(*timed_words: tuple[float, float, str]) -> Transcript:
    words = tuple(Word(a, b, text, 0.9) for a, b, text in timed_words)
    source = AsrSegment(words[0].start, words[-1].end, " ".join(w.text for w in words), -0.2, 0.01, 1.3, words)
    return Transcript("en", 1.0, words[-1].end, (source,))


def test_short_flicker_joins_the_surrounding_speaker_but_a_reply_does_not(settings):
    # "this" lies in a 0.35 s flicker of B inside A's turn; "Sure, here we go." is B's real 1.5 s reply.
    transcript = transcript_of((0.0, 0.4, "I"), (0.4, 1.0, "need"), (1.0, 1.3, "this"), (1.3, 2.0, "now."),
                               (2.2, 2.6, "Sure,"), (2.6, 3.1, "here"), (3.1, 3.4, "we"), (3.4, 3.7, "go."))
    turns = [Turn(0.0, 0.95, "A"), Turn(0.95, 1.3, "B"), Turn(1.3, 2.0, "A"), Turn(2.1, 3.8, "B")]
    names = {"A": SpeakerName("A", "Alice", 0.9, True), "B": SpeakerName("B", "SPEAKER_00", 0.0, False)}
    segments = build_segments(transcript, turns, names, settings)
    assert [(s.text, s.speaker) for s in segments] == [("I need this now.", "Alice"),
                                                       ("Sure, here we go.", "SPEAKER_00")]
    assert segments[0].speaker_confidence == 0.9


def test_long_monologue_is_cut_within_bounds(settings):
    words = [(i * 0.5, i * 0.5 + 0.4, f"word{i}" + ("." if i % 7 == 6 else "")) for i in range(400)]
    bounded = settings.model_copy(update={"segment_max_seconds": 20.0, "segment_max_chars": 200})
    segments = build_segments(transcript_of(*words), [Turn(0, 200, "A")], {}, bounded)
    assert all(s.end - s.start <= 20.0 and len(s.text) <= 200 for s in segments)
    assert " ".join(s.text for s in segments).split() == [w[2] for w in words]  # nothing lost or repeated


def test_long_pause_starts_a_new_segment(settings):
    transcript = transcript_of((0.0, 0.5, "Hello"), (0.5, 1.0, "there"), (5.0, 5.5, "again"))
    segments = build_segments(transcript, [Turn(0, 6, "A")], {}, settings)
    assert [s.text for s in segments] == ["Hello there", "again"]
