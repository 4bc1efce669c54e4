"""Each word's own voice in word attribution: a reply the turns missed goes to the voice that said it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vidscribe.app.bench.speech import PAIR_B, speak
from vidscribe.audio import SAMPLE_RATE
from vidscribe.speakers.factory import load_speaker_encoder
from vidscribe.speakers.word_voices import (REFINE_MIN_WORDS, UTTERANCE_MAX_SECONDS, WORD_CLIP_SECONDS, WordVoices,
                                           short_utterances, utterance_clip, word_clip, word_voices)
from vidscribe.stages.attribute import attribute_words, word_speakers
from vidscribe.stages.decode import decode
from vidscribe.stages.transcribe import transcribe
from vidscribe.stages.word_speakers import assign_speakers, heard_spans, voice_evidence
from vidscribe.transcript import AsrSegment, Diarization, Transcript, Turn, Word

#: voice pair B of the quality corpus, where pyannote left 4 of 13 short replies inside the other voice's turn
ASKER, REPLIER = PAIR_B
LINES = [(ASKER, "Kneading stretches the gluten, which traps the gas and makes the loaf rise."),
         (REPLIER, "Of course, that makes sense."),
         (ASKER, "A slow rise in a cool kitchen gives the bread more flavour than a fast one."),
         (REPLIER, "Sourdough uses wild yeast and bacteria, kept alive in a jar of flour and water.")]
#: seconds between lines: the quick turn changes pyannote's segmentation misses
GAP_SECONDS = 0.1


@pytest.fixture(scope="module")
def missed_reply(tmp_path_factory) -> tuple[Path, list[tuple[float, float, str]]]:
    """The dialogue and its true turns (start, end, voice)."""
    pieces, turns, moment = [], [], 0.5
    for voice, text in LINES:
        samples = speak(text, voice)
        turns.append((moment, moment + len(samples) / SAMPLE_RATE, str(voice)))
        pieces += [samples, np.zeros(int(GAP_SECONDS * SAMPLE_RATE), dtype=np.float32)]
        moment = turns[-1][1] + GAP_SECONDS
    path = tmp_path_factory.mktemp("missed") / "missed-reply.wav"
    sf.write(path, np.concatenate([np.zeros(SAMPLE_RATE // 2, dtype=np.float32), *pieces]), SAMPLE_RATE)
    return path, turns


def test_a_reply_the_turns_missed_goes_to_the_voice_that_said_it(settings, missed_reply):
    path, truth = missed_reply
    audio = decode(path, settings.audio_cache_dir)
    transcript = transcribe(audio, settings)
    # the diarization as pyannote made it of voice pair B: the reply inside the asker's turn
    turns = [Turn(truth[0][0], truth[2][1], "A"), Turn(truth[3][0], truth[3][1], "B")]
    reply = [i for i, w in enumerate(transcript.words) if truth[1][0] <= (w.start + w.end) / 2 <= truth[1][1]]
    asked = [i for i, w in enumerate(transcript.words) if (w.start + w.end) / 2 < truth[1][0]
             or truth[2][0] <= (w.start + w.end) / 2 <= truth[2][1]]
    assert len(reply) >= 3 and len(asked) >= 20

    by_turns = word_speakers(transcript, turns, settings)
    attributed = attribute_words(audio, settings, transcript, Diarization(tuple(turns)))
    by_voice = attributed.word_speakers  # A speaks first: SPEAKER_00
    print([(w.text, a, b) for w, a, b in zip(transcript.words, by_turns, by_voice)])
    assert {by_turns[i] for i in reply} == {"A"}  # nothing in the turns or the text marks the reply
    assert {by_voice[i] for i in reply} == {"SPEAKER_01"}
    assert sum(by_voice[i] != "SPEAKER_00" for i in asked) <= 1  # the asker's own words stay his
    assert sorted(attributed.voices) == ["SPEAKER_00", "SPEAKER_01"]  # for identification to reuse


def test_a_words_voice_outweighs_the_turns_only_when_it_is_clear(settings):
    words = [Word(i * 0.3, i * 0.3 + 0.25, text, 0.9) for i, text in enumerate(
        "and makes the loaf rise. Right, exactly. A slow rise gives flavour.".split())]
    turns = [Turn(0.0, 4.0, "A"), Turn(4.0, 6.0, "B")]
    reply = {5, 6}  # "Right, exactly."
    clear = np.array([[0.5, 0.7] if i in reply else [0.7, 0.5] for i in range(len(words))])
    faint = np.array([[0.6, 0.61] if i in reply else [0.7, 0.5] for i in range(len(words))])
    opens = [False] * len(words)
    assert assign_speakers(words, opens, turns, settings.speaker_change_penalty)[5:7] == ["A", "A"]
    for cosines, expected in ((clear, ["B", "B"]), (faint, ["A", "A"])):
        labels = assign_speakers(words, opens, turns, settings.speaker_change_penalty, (["A", "B"], cosines),
                                 settings.speaker_word_voice_weight)
        assert labels[5:7] == expected
        assert labels[:5] == ["A"] * 5 and labels[7:] == ["A"] * 5
    # a speaker without a voice (too little speech for a clip) is neither favoured nor ruled out by voices
    assert not voice_evidence(["A", "B"], (["A"], np.array([[0.3], [0.9]])), 60.0).any()
    assert voice_evidence(["A", "B"], (["A", "B"], np.array([[0.5, 0.7]])), 60.0).ravel() == pytest.approx([-12.0, 0.0])


def test_a_word_whisper_gave_no_duration_is_heard_between_its_neighbours(settings):
    # Whisper's alignment collapsed "Yes." onto one frame at the end of B's reply (between A's two lines)
    words = [Word(0.1, 0.9, "Hello there.", 0.9), Word(2.95, 2.95, "Yes.", 0.9), Word(3.0, 3.8, "Well, then.", 0.9)]
    spans = heard_spans(words)
    assert [(w.start, w.end) for w in spans] == [(0.1, 0.9), (0.9, 3.0), (3.0, 3.8)]
    assert spans[1].text == "Yes." and heard_spans([Word(1.0, 1.0, "Hi.", 0.9)])[0] == Word(1.0, 1.0, "Hi.", 0.9)
    transcript = Transcript("en", 1.0, 4.0, (AsrSegment(0.1, 3.8, "Hello there. Yes. Well, then.", -0.2, 0.01, 1.2,
                                                         tuple(words)),))
    turns = [Turn(0.0, 1.0, "A"), Turn(1.0, 2.9, "B"), Turn(2.9, 4.0, "A")]
    assert word_speakers(transcript, turns, settings) == ["A", "B", "A"]  # at 2.95 s alone: mostly A's turn


def test_a_words_clip_is_centred_and_never_leaves_the_audio():
    samples = np.arange(10 * SAMPLE_RATE, dtype=np.float32)
    length = round(WORD_CLIP_SECONDS * SAMPLE_RATE)
    middle = word_clip(samples, 0.0, Word(5.0, 5.1, "yes", 0.9))
    assert len(middle) == length and middle[length // 2] == pytest.approx(5.05 * SAMPLE_RATE, abs=1)
    long = word_clip(samples, 0.0, Word(2.0, 3.0, "extraordinarily", 0.9))  # its middle: every clip batches
    assert len(long) == length and long[length // 2] == pytest.approx(2.5 * SAMPLE_RATE, abs=1)
    for word in (Word(0.0, 0.05, "so", 0.9), Word(9.98, 10.2, "end.", 0.9)):  # at the edges, and timed past the end
        clip = word_clip(samples, 0.0, word)
        assert len(clip) == length and clip[0] >= 0 and clip[-1] <= samples[-1]
    # a window's samples start at its offset
    assert word_clip(samples, 100.0, Word(105.0, 105.1, "yes", 0.9))[length // 2] == middle[length // 2]


def test_voices_are_estimated_again_from_the_words_given_to_each_speaker():
    def unit(*xs: float) -> np.ndarray:
        return np.array(xs, dtype=np.float32) / np.linalg.norm(xs)

    # A's sampled voice is off the direction of A's word clips; B has too few words to estimate its voice
    a_words = [unit(1.0, 0.1 * (i % 3), 0.0) for i in range(REFINE_MIN_WORDS)]
    b_words = [unit(0.0, 0.0, 1.0)] * (REFINE_MIN_WORDS - 1)
    heard = WordVoices(["A", "B"], np.stack([unit(1.0, 1.0, 0.0), unit(0.0, 1.0, 1.0)]),
                       np.stack([*a_words, *b_words]))
    refined = heard.refined(["A"] * len(a_words) + ["B"] * len(b_words))
    assert refined.voices[0] == pytest.approx(unit(*np.mean(a_words, axis=0)))
    assert refined.voices[1] == pytest.approx(heard.voices[1])  # kept
    speakers, cosines = refined.cosines()
    assert speakers == ["A", "B"] and cosines.shape == (len(a_words) + len(b_words), 2)
    assert (cosines[:len(a_words), 0] > heard.cosines()[1][:len(a_words), 0]).all()  # A's words now nearer A


def test_speakers_are_numbered_by_the_voices_of_their_first_words(settings):
    """pyannote's sample opens with Diane's "Hello?" and Sheila's "Hello." 1.8 s apart; its turns give both to
    Sheila's voice, which the turns alone then numbered SPEAKER_00. The opening words' own voices put Diane
    first, in the labels as in the words. (Whether tiny.en hears Sheila's "Hello." differs from one CPU to
    another, so the words are checked against the sample's reference, whichever are heard.)"""
    import pyannote.audio

    from vidscribe.app.bench.quality.reference import read_stm
    from vidscribe.pipeline import process_recording

    folder = Path(pyannote.audio.__file__).parent / "sample"
    segments = process_recording(str(folder / "sample.wav"), settings, until="segments").segments
    opening = [t for t in read_stm(folder / "sample.stm") if t.end <= 11.0]  # "Hello?" ... "Neither did I."
    expected = {"Diane": "SPEAKER_00", "Sheila": "SPEAKER_01"}
    heard = [(w.text, segment.speaker, turn.speaker) for segment in segments for w in segment.words
             for turn in opening if turn.start <= (w.start + w.end) / 2 <= turn.end]
    print(heard)
    assert sum(said == "Diane" for *_, said in heard) >= 5 and sum(said == "Sheila" for *_, said in heard) >= 3
    assert [(text, label) for text, label, said in heard if label != expected[said]] == []


def test_identification_reuses_the_voices_the_attribution_computed(settings, missed_reply):
    """Identification matches the diarization's own voices: a profile equal to one of them is named with a cosine
    of 1, which voices computed again from the audio would not give (here they are random directions)."""
    from dataclasses import dataclass

    from vidscribe.speakers.factory import load_speaker_encoder
    from vidscribe.stages.identify import identify_speakers

    @dataclass(frozen=True)
    class Enrolled:
        name: str
        key: str
        centroid: np.ndarray

    path, truth = missed_reply
    encoder = load_speaker_encoder(settings)
    rng = np.random.default_rng(0)
    voices = {label: vector / np.linalg.norm(vector) for label, vector in
              (("SPEAKER_00", rng.standard_normal(encoder.dim)), ("SPEAKER_01", rng.standard_normal(encoder.dim)))}
    turns = tuple(Turn(start, end, f"SPEAKER_{i % 2:02d}") for i, (start, end, _) in enumerate(truth))
    diarization = Diarization(turns, voices=voices)
    names = identify_speakers(decode(path, settings.audio_cache_dir), settings, diarization,
                              [Enrolled("Replier", encoder.key, voices["SPEAKER_01"])])
    assert names["SPEAKER_01"].name == "Replier" and names["SPEAKER_01"].confidence == pytest.approx(1.0)
    assert not names["SPEAKER_00"].known


def test_short_multi_word_segments_are_the_utterances_heard_whole():
    def words(*spans: tuple[float, float]) -> list[Word]:
        return [Word(a, b, "w", 0.9) for a, b in spans]

    heard = words((0.0, 0.3), (0.4, 0.9),  # a 0.9 s reply of two words: heard whole
                  (1.0, 1.2),  # a one-word segment: its word clip says as much
                  (1.3, 1.4), (1.42, 1.5),  # two words in 0.2 s, shorter than a word's clip
                  (2.0, 2.5), (2.5, 3.0), (3.0, 3.6))  # 1.6 s: long enough to hold a turn change
    starts = [True, False, True, True, False, True, False, False]
    assert short_utterances(heard, starts) == [range(0, 2)]
    assert UTTERANCE_MAX_SECONDS < 1.6


def test_an_utterances_words_share_the_vector_of_its_whole_clip(settings, tmp_path):
    reply, question = speak("Right, exactly.", REPLIER), speak(LINES[0][1], ASKER)
    path = tmp_path / "reply.wav"
    sf.write(path, np.concatenate([reply, np.zeros(SAMPLE_RATE // 10, dtype=np.float32), question]), SAMPLE_RATE)
    audio = decode(path, settings.audio_cache_dir)
    middle, end = len(reply) / SAMPLE_RATE / 2, len(reply) / SAMPLE_RATE
    words = [Word(0.0, middle, "Right,", 0.9), Word(middle, end, "exactly.", 0.9),
             Word(end + 0.1, end + 0.6, "Kneading", 0.9)]
    encoder = load_speaker_encoder(settings)
    voices = {"A": encoder.embed([question])[0], "B": encoder.embed([reply])[0]}
    heard = word_voices(audio, words, voices, encoder, settings, [range(0, 2)])
    whole = encoder.embed([utterance_clip(audio.load(), 0.0, words, range(0, 2))])[0]
    assert heard.vectors[0] == pytest.approx(whole, abs=1e-5) and heard.vectors[1] == pytest.approx(whole, abs=1e-5)
    alone = word_voices(audio, words, voices, encoder, settings)
    assert heard.vectors[2] == pytest.approx(alone.vectors[2], abs=1e-5)  # the other words keep their own clips
    assert not np.allclose(alone.vectors[0], whole, atol=1e-3)
    assert len(utterance_clip(audio.load(), 0.0, words, range(0, 2))) == round(end * SAMPLE_RATE)
