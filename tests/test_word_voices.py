"""Each word's own voice in word attribution: a reply the turns missed goes to the voice that said it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vidscribe.app.bench.speech import PAIR_B, speak
from vidscribe.audio import SAMPLE_RATE
from vidscribe.speakers.word_voices import REFINE_MIN_WORDS, WORD_CLIP_SECONDS, WordVoices, word_clip
from vidscribe.stages.attribute import attribute_words, word_speakers
from vidscribe.stages.decode import decode
from vidscribe.stages.transcribe import transcribe
from vidscribe.stages.word_speakers import assign_speakers, voice_evidence
from vidscribe.transcript import Diarization, Turn, Word

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
    first, in the labels as in the words."""
    import pyannote.audio

    from vidscribe.pipeline import process_recording

    wav = Path(pyannote.audio.__file__).parent / "sample" / "sample.wav"
    segments = process_recording(str(wav), settings, until="segments").segments
    assert [(s.speaker, s.text) for s in segments[:3]] == [
        ("SPEAKER_00", "Hello."), ("SPEAKER_01", "Hello."), ("SPEAKER_00", "Oh, hello. I didn't know you were there.")]


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
