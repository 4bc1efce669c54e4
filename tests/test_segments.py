"""Segment building: speaker attribution and bounds, on hand-made transcripts (fast, exact)."""

from __future__ import annotations

from collections.abc import Sequence

from vidscribe.settings import Settings
from vidscribe.stages.attribute import attribute_words, word_speakers
from vidscribe.stages.segments import build_segments
from vidscribe.transcript import AsrSegment, Diarization, Segment, SpeakerName, Transcript, Turn, Word


def transcript_of(*timed_words: tuple[float, float, str]) -> Transcript:
    words = tuple(Word(a, b, text, 0.9) for a, b, text in timed_words)
    source = AsrSegment(words[0].start, words[-1].end, " ".join(w.text for w in words), -0.2, 0.01, 1.3, words)
    return Transcript("en", 1.0, words[-1].end, (source,))


def segments_of(transcript: Transcript, turns: Sequence[Turn], names: dict[str, SpeakerName],
                settings: Settings) -> list[Segment]:
    """The segments of `transcript` with its words attributed from `turns` alone (no audio)."""
    return build_segments(transcript, word_speakers(transcript, turns, settings), names, settings)


def test_short_flicker_joins_the_surrounding_speaker_but_a_reply_does_not(settings):
    # "this" lies in a 0.35 s flicker of B inside A's turn; "Sure, here we go." is B's real 1.5 s reply.
    transcript = transcript_of((0.0, 0.4, "I"), (0.4, 1.0, "need"), (1.0, 1.3, "this"), (1.3, 2.0, "now."),
                               (2.2, 2.6, "Sure,"), (2.6, 3.1, "here"), (3.1, 3.4, "we"), (3.4, 3.7, "go."))
    turns = [Turn(0.0, 0.95, "A"), Turn(0.95, 1.3, "B"), Turn(1.3, 2.0, "A"), Turn(2.1, 3.8, "B")]
    names = {"A": SpeakerName("A", "Alice", 0.9, True), "B": SpeakerName("B", "SPEAKER_00", 0.0, False)}
    segments = segments_of(transcript, turns, names, settings)
    assert [(s.text, s.speaker) for s in segments] == [("I need this now.", "Alice"),
                                                       ("Sure, here we go.", "SPEAKER_00")]
    assert segments[0].speaker_confidence == 0.9


def test_long_monologue_is_cut_within_bounds(settings):
    words = [(i * 0.5, i * 0.5 + 0.4, f"word{i}" + ("." if i % 7 == 6 else "")) for i in range(400)]
    bounded = settings.model_copy(update={"segment_max_seconds": 20.0, "segment_max_chars": 200})
    segments = segments_of(transcript_of(*words), [Turn(0, 200, "A")], {}, bounded)
    assert all(s.end - s.start <= 20.0 and len(s.text) <= 200 for s in segments)
    assert " ".join(s.text for s in segments).split() == [w[2] for w in words]  # nothing lost or repeated


def test_long_pause_starts_a_new_segment(settings):
    transcript = transcript_of((0.0, 0.5, "Hello"), (0.5, 1.0, "there"), (5.0, 5.5, "again"))
    segments = segments_of(transcript, [Turn(0, 6, "A")], {}, settings)
    assert [s.text for s in segments] == ["Hello there", "again"]


def test_a_word_timed_into_the_gap_stays_with_its_sentence(settings):
    # pyannote's sample at 20-22 s: "I'm in New Jersey now, though." (Diane) then Sheila's "Well, there isn't";
    # Whisper timed "though." in the gap after Diane's turn, nearer Sheila's much longer run
    transcript = transcript_of((20.26, 20.44, "I'm"), (20.44, 20.64, "in"), (20.64, 20.94, "New"),
                               (20.94, 21.28, "Jersey"), (21.28, 21.40, "now,"), (21.58, 21.58, "though."),
                               (21.90, 22.42, "Well,"), (22.70, 22.88, "there"), (22.88, 23.16, "isn't"),
                               (23.16, 23.44, "that"), (23.44, 23.96, "much"), (24.0, 24.5, "difference."))
    turns = [Turn(18.0, 21.51, "A"), Turn(21.77, 28.5, "B")]
    segments = segments_of(transcript, turns, {}, settings)
    assert [(s.speaker, s.text) for s in segments] == [("A", "I'm in New Jersey now, though."),
                                                       ("B", "Well, there isn't that much difference.")]


def test_a_short_reply_between_sentences_keeps_its_speaker(settings):
    # "Neither did I." (0.6 s) between two sentences of the other speaker: a minimum run length would eat it
    transcript = transcript_of((8.9, 9.2, "I"), (9.2, 9.4, "didn't"), (9.4, 9.6, "know"), (9.6, 9.9, "that."),
                               (10.0, 10.2, "Neither"), (10.2, 10.4, "did"), (10.4, 10.6, "I."),
                               (10.9, 11.2, "Okay,"), (11.2, 11.5, "then."))
    turns = [Turn(8.3, 9.93, "A"), Turn(9.93, 10.65, "B"), Turn(10.65, 12.0, "A")]
    segments = segments_of(transcript, turns, {}, settings)
    assert [(s.speaker, s.text) for s in segments] == [("A", "I didn't know that."), ("B", "Neither did I."),
                                                       ("A", "Okay, then.")]


def test_text_keeps_whispers_spacing(settings):
    # Whisper's tokens: " Sea" "-doyles" (no space before the hyphen), " co" "-founder", " it" "'s", " 3" ".5"
    words = (Word(0.0, 0.3, "Seed", 0.9), Word(0.3, 0.6, "oils", 0.9), Word(0.7, 0.9, "co", 0.9),
             Word(0.9, 1.2, "-founder", 0.9, joined=True), Word(1.3, 1.4, "it", 0.9),
             Word(1.4, 1.5, "'s", 0.9, joined=True), Word(1.6, 1.8, "3", 0.9), Word(1.8, 2.0, ".5%", 0.9, joined=True))
    source = AsrSegment(0.0, 2.0, "", -0.2, 0.01, 1.3, words)
    segments = segments_of(Transcript("en", 1.0, 2.0, (source,)), [Turn(0, 2, "A")], {}, settings)
    assert [s.text for s in segments] == ["Seed oils co-founder it's 3.5%"]


def test_flagged_whisper_segments_stay_apart_and_keep_their_flag(settings):
    clean = AsrSegment(0.0, 1.0, "Good morning.", -0.2, 0.01, 1.2,
                       (Word(0.0, 0.4, "Good", 0.9), Word(0.4, 1.0, "morning.", 0.9)), language="en")
    looped = AsrSegment(1.2, 2.0, "the rest of", -1.2, 0.1, 2.8,
                        (Word(1.2, 1.5, "the", 0.3), Word(1.5, 1.8, "rest", 0.3), Word(1.8, 2.0, "of", 0.3)),
                        language="en", flag="repeated phrase")
    segments = segments_of(Transcript("en", 1.0, 2.0, (clean, looped)), [Turn(0, 2, "A")], {}, settings)
    assert [(s.text, s.flag, s.language) for s in segments] == [("Good morning.", None, "en"),
                                                                ("the rest of", "repeated phrase", "en")]


def test_speakers_are_numbered_in_the_order_their_words_are_heard(settings):
    # pyannote put a 20 ms turn of its SPEAKER_01 first; the first word heard is SPEAKER_00's... in its order
    transcript = transcript_of((1.0, 1.5, "Hello."), (2.0, 2.5, "Hi."))
    diarization = Diarization(turns=(Turn(0.9, 0.92, "SPEAKER_01"), Turn(0.95, 1.6, "SPEAKER_02"),
                                     Turn(1.9, 2.6, "SPEAKER_01"), Turn(5.0, 6.0, "SPEAKER_00")))
    ordered = attribute_words(None, settings, transcript, diarization)
    assert [(t.start, t.speaker) for t in ordered.turns] == [(0.9, "SPEAKER_01"), (0.95, "SPEAKER_00"),
                                                            (1.9, "SPEAKER_01"), (5.0, "SPEAKER_02")]
    assert ordered.word_speakers == ("SPEAKER_00", "SPEAKER_01")
