"""Per-segment gates on Whisper's output (hand-made segments: fast and exact)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from vidscribe.stages.asr_gates import gate, repeated_phrase
from vidscribe.stages.language import doubtful_runs
from vidscribe.transcript import AsrSegment, Word


@pytest.mark.parametrize("text, loop", [
    ("We had to focus on the rest of the rest of the rest of the rest of the rest.", ("the rest of", 4)),
    ("Thank you. Thank you. Thank you.", ("thank you", 3)),
    ("no no no no no no no no", ("no", 8)),
    ("No, no, no, that is not what I said.", None),  # speech repeats a word; a loop repeats a phrase
    ("The rest of the day, the rest of the week.", None),
    ("It's a long, long way to Tipperary, it's a long way to go.", None),
])
def test_repeated_phrase(text, loop):
    assert repeated_phrase(text) == loop


def segment(text: str, *, avg_logprob: float = -0.3, no_speech_prob: float = 0.05, compression_ratio: float = 1.4,
            probability: float = 0.9) -> AsrSegment:
    words = tuple(Word(i * 0.3, i * 0.3 + 0.3, w, probability) for i, w in enumerate(text.split()))
    return AsrSegment(0.0, len(words) * 0.3, text, avg_logprob, no_speech_prob, compression_ratio, words, "en")


def test_gate_drops_silence_flags_loops_and_keeps_speech(settings):
    speech = segment("We planted tomatoes along the fence.")
    silence = segment("Thank you very much.", avg_logprob=-1.3, no_speech_prob=0.8, probability=0.3)
    heard_in_a_silent_window = segment("Goodbye everyone.", avg_logprob=-1.3, no_speech_prob=0.8)
    loop = segment("the rest of the rest of the rest of the rest", avg_logprob=-0.8)
    squeezed = segment("la la la la la la la la la la", compression_ratio=3.1)
    kept = gate((speech, silence, heard_in_a_silent_window, loop, squeezed), settings)
    assert [s.text for s in kept] == [speech.text, heard_in_a_silent_window.text, loop.text, squeezed.text]
    assert [s.flag for s in kept[:2]] == [None, None]
    assert kept[2].flag == "repeated phrase 'the rest of' x3 (a decoding loop)"
    assert kept[3].flag.startswith("repeated phrase 'la' x10")
    # the compression ratio is the segment's own text's: faster-whisper's figure is its whole window's, and a
    # window that ended in a loop scored 2.7 for clean sentences beside it
    counting = ("One apple, two apples, one pear, two pears, one apple, two pears, one pear, two apples, one apple, "
                "two apples, one pear, two pears, one apple, two apples, one pear, two pears.")
    assert repeated_phrase(counting) is None
    assert gate((segment(counting),), settings)[0].flag == "repetitive text (compression ratio 3.3 > 2.4)"
    assert gate((segment("We planted tomatoes along the fence.", compression_ratio=2.7),), settings)[0].flag is None
    # punctuation alone says nothing, however Whisper scored it (its "." over music); any script's word does
    only_punctuation = (segment("."), segment(" ..."), segment("¿?", avg_logprob=-0.2))
    assert [s.text for s in gate((*only_punctuation, segment("Yes?")), settings)] == ["Yes?"]
    assert len(gate((segment("."), segment("東京。"), segment("Привет.")), settings)) == 2


def test_doubtful_runs_grow_over_nearly_doubtful_neighbours(settings):
    def at(start: float, probability: float) -> AsrSegment:
        return replace(segment("ein zwei drei", probability=probability), start=start, end=start + 4.0)

    medians = [0.95, 0.35, 0.62, 0.2, 0.9, 0.7, 0.75, 0.3]
    runs = doubtful_runs(tuple(at(5.0 * i, p) for i, p in enumerate(medians)), settings)
    assert runs == [[1, 2, 3], [5, 6, 7]]  # 0.62 joins its doubtful neighbours; 0.9 and 0.95 stay English
    long = tuple(at(5.0 * i, 0.3) for i in range(10))
    assert doubtful_runs(long, settings) == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9]]  # at most 30 s each

    # a confident "I'm done," after German joins the German run; alone, or beside English, it is no run
    short = replace(segment("I'm done,", probability=0.95), start=10.0, end=10.8)
    german, english = at(5.0, 0.3), at(11.0, 0.95)
    assert doubtful_runs((at(0.0, 0.95), german, short, english), settings) == [[1, 2]]
    assert doubtful_runs((at(0.0, 0.95), short, english), settings) == []

    # a segment Whisper sampled is identified however sure its words (its text is one random draw)
    drawn = replace(at(5.0, 0.95), temperature=1.0)
    assert doubtful_runs((at(0.0, 0.95), drawn, at(10.0, 0.95)), settings) == [[1]]
    # so is a beam search's text that failed Whisper's checks (the fallback that would sample it is off)
    for failed in (replace(at(5.0, 0.95), avg_logprob=-1.2), replace(at(5.0, 0.95), compression_ratio=2.7)):
        assert doubtful_runs((at(0.0, 0.95), failed, at(10.0, 0.95)), settings) == [[1]]


def test_the_batched_decoder_keeps_whispers_segments(settings, sample):
    """The GPU's decoder (here on the CPU): Whisper's own segments, not one per 30 s VAD chunk, so a gate
    judges a sentence, not a chunk. Without timestamps pyannote's sample came out as one 23 s segment whose
    "Hello." x6 flagged it whole, and nothing was stored."""
    from vidscribe.stages.transcribe import transcribe_waveform

    batched = settings.model_copy(update={"asr_decoder": "batched", "device": "cpu"})
    transcript = transcribe_waveform(sample["waveform"][0].numpy(), batched)
    kept = [s for s in transcript.segments if not s.flag]
    assert len(kept) >= 3 and max(s.end - s.start for s in kept) < 12
    words = " ".join(s.text for s in kept).lower()
    assert "chicago" in words and "new jersey" in words


@pytest.mark.parametrize("fallback, temperature", [(False, 0.0), (True, (0.0, 0.2, 0.4, 0.6, 0.8, 1.0))])
def test_the_temperature_fallback_is_a_setting(settings, fallback, temperature):
    """The options handed to faster-whisper: by default the beam search only (the same audio, the same
    transcript); with the fallback on, Whisper's temperatures, whose draws differ from run to run."""
    import numpy as np

    from vidscribe.stages.transcribe import _decode

    class Recorder:  # a WhisperModel's surface that `_decode` uses, recording what it is asked
        model = type("Model", (), {"device": "cpu"})()
        options: dict = {}

        def transcribe(self, samples: np.ndarray, **options: object) -> tuple[list, object]:
            self.options = options
            return [], type("Info", (), {"language": "en"})()

    recorder = Recorder()
    _decode(recorder, np.zeros(16000, np.float32), settings.model_copy(update={"asr_temperature_fallback": fallback}),
            "en")
    assert recorder.options["temperature"] == temperature and recorder.options["beam_size"] == settings.asr_beam_size


def test_a_looping_beam_search_falls_back_to_whispers_sampling(settings, tmp_path):
    """The fallback is off, except where the beam search loops: on an AMD EPYC tiny.en's beam search wrote
    "beep" x74 for this 4 s sentence at 0.8 volume (the whole recording was refused), and a sampled decoding
    heard the sentence."""
    import soundfile as sf

    from tests.speech import ALICE_VOICE
    from vidscribe.app.bench.speech import speak
    from vidscribe.audio import SAMPLE_RATE
    from vidscribe.stages.asr_gates import suspicion
    from vidscribe.stages.transcribe import _transcribe_once, load_whisper, transcribe_waveform

    sf.write(tmp_path / "speech.wav", speak("Bees visit thousands of flowers to fill a single jar of honey.",
                                            ALICE_VOICE), SAMPLE_RATE)
    # 16-bit files, as the CLI matrix's clip and its quieter copy
    sf.write(tmp_path / "quieter.wav", sf.read(tmp_path / "speech.wav", dtype="float32")[0] * 0.8, SAMPLE_RATE)
    samples = sf.read(tmp_path / "quieter.wav", dtype="float32")[0]
    beam = _transcribe_once(load_whisper(settings), samples, settings)
    transcript = transcribe_waveform(samples, settings)
    print("beam search:", beam.text, "| kept:", transcript.text)
    # what the sampled text says is a random draw ("Peace with 1,000 month hours to fill a single jar on honey.",
    # or with 2 of the sentence's content words): only that words are kept, none of them a loop, is asserted
    assert transcript.words and not any(s.flag for s in transcript.segments)
    looped = any(suspicion(s, settings) for s in beam.segments)
    assert all(s.temperature > 0 for s in transcript.segments) if looped else transcript == beam
