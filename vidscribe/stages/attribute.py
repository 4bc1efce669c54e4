"""Attribute: which speaker said each word, and the speakers numbered in the order their words are heard.

Each word takes its speaker from `vidscribe.stages.word_speakers` (turns, each word's own voice, and the
transcript's punctuation and pauses weighed together). It is a stage of its own, run once per recording
between diarization and identification, because both later stages need it: identification names the
speakers in the order they are first heard (and reuses the speakers' voices computed here), and the segments
are cut at the words' speaker changes. (Done in each, the speakers' voices went through the encoder up to
three times per recording, and the opening words' clips twice.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from vidscribe.audio import AudioRef
from vidscribe.settings import Settings, section
from vidscribe.speakers.factory import load_speaker_encoder
from vidscribe.speakers.voices import speaker_voices
from vidscribe.speakers.word_voices import WordVoices, short_utterances, word_voices
from vidscribe.stages.word_speakers import assign_speakers, first_appearance_order, heard_spans
from vidscribe.transcript import Diarization, Transcript, Turn

SECTION = section("AttributeSettings", "speaker_change_penalty", "speaker_word_voice_weight", "speaker_model",
                  "speaker_encoder", "speaker_device", "speaker_sample_clips", "speaker_clip_seconds",
                  "window_seconds")


def segment_starts(transcript: Transcript) -> list[bool]:
    """For each of the transcript's words, whether it opens a Whisper segment."""
    return [i == 0 for segment in transcript.segments for i in range(len(segment.words))]


def word_speakers(transcript: Transcript, turns: Sequence[Turn], settings: Settings,
                  heard: WordVoices | None = None) -> list[str]:
    """The speaker label of each of the transcript's words, in order. Given the words' own voices (`heard`),
    the words are attributed once with the speakers' sampled voices, then again with voices estimated from
    the words themselves (see `vidscribe.speakers.word_voices`). Each word is placed where it must have been
    said (`heard_spans`), as `heard` must be."""
    words = heard_spans(transcript.words)
    opens = segment_starts(transcript)
    penalty, weight = settings.speaker_change_penalty, settings.speaker_word_voice_weight
    if heard is None:  # (a weight of 0 is the tagger's to ignore)
        return assign_speakers(words, opens, turns, penalty)
    labels = assign_speakers(words, opens, turns, penalty, heard.cosines(), weight)
    return assign_speakers(words, opens, turns, penalty, heard.refined(labels).cosines(), weight)


def attribute_words(audio: AudioRef | None, settings: Settings, transcript: Transcript,
                    diarization: Diarization) -> Diarization:
    """The diarization with each word's speaker (`Diarization.word_speakers`) and, when several speak, their
    voices (`Diarization.voices`), relabelled SPEAKER_00, 01, ... in the order the speakers' words are first
    heard.

    pyannote numbers speakers by its clusters, and its first turn may be a few milliseconds nobody reads; a
    reader expects the first voice of the transcript to be SPEAKER_00. Speakers who say no word follow, in the
    order of their first turn. `audio`: the recording, whose words' own voices then weigh in (with
    `speaker_word_voice_weight` above 0).
    """
    voices, heard = {}, None
    if (audio is not None and settings.speaker_word_voice_weight > 0 and len(diarization.speakers) > 1
            and transcript.words):
        encoder = load_speaker_encoder(settings)
        voices = speaker_voices(audio.load(), diarization.turns, encoder, settings)
        words = heard_spans(transcript.words)
        heard = word_voices(audio, words, voices, encoder, settings,
                            short_utterances(words, segment_starts(transcript)))
    labels = word_speakers(transcript, diarization.turns, settings, heard)
    by_turn = [t.speaker for t in sorted(diarization.turns, key=lambda t: t.start)]
    order = first_appearance_order([*labels, *by_turn])
    return replace(diarization, word_speakers=tuple(labels), voices=voices).relabelled(order)
