"""Any language: a recording that changes language, and one in German, through the real offline models.

The offline profile's ASR model (Whisper tiny.en) knows English only; its language identifier is the packaged
multilingual Whisper base. A German stretch must come out flagged with its language, never stored as clean
English nonsense; with the multilingual model as ASR the German is transcribed in German and found by a
German search.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.test_pipeline import word_error_rate
from vidscribe.app.bench.speech import concatenate, speak
from vidscribe.audio import SAMPLE_RATE
from vidscribe.db import get_engine, get_video, search
from vidscribe.pipeline import process_recording
from vidscribe.settings import Settings
from vidscribe.stages.embed import embed_texts
from vidscribe.stages.asr_gates import repeated_phrase
from vidscribe.stages.decode import decode
from vidscribe.stages.transcribe import transcribe
from vidscribe.transcript import AsrSegment, Word

ENGLISH = ["The garden was quiet in the early morning.",
           "We planted tomatoes along the southern fence and watered them twice a day.",
           "By July the plants were taller than the children, and the fruit began to turn red."]
GERMAN = ["Der Garten war am frühen Morgen still.",
          "Wir pflanzten Tomaten am südlichen Zaun und gossen sie zweimal am Tag.",
          "Im Juli waren die Pflanzen größer als die Kinder, und die Früchte wurden langsam rot.",
          "Meine Großmutter erzählte oft von ihrer Kindheit auf dem Land und von den Kühen im Stall."]


def write(path: Path, parts: list[tuple[str, np.ndarray]]) -> tuple[Path, list[tuple[float, float, str]]]:
    samples, turns = concatenate(parts)
    sf.write(path, samples, SAMPLE_RATE)
    return path, turns


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> tuple[Path, float]:
    """English, then German: the path and when the German starts."""
    parts = [("en", speak(text, "en-us+m3")) for text in ENGLISH] + [("de", speak(text, "de")) for text in GERMAN]
    path, turns = write(tmp_path_factory.mktemp("mixed") / "mixed.wav", parts)
    return path, next(start for start, _, language in turns if language == "de")


@pytest.fixture(scope="module")
def german(tmp_path_factory) -> Path:
    path, _ = write(tmp_path_factory.mktemp("german") / "german.wav", [("de", speak(t, "de")) for t in GERMAN])
    return path


def test_english_only_model_flags_the_other_language(settings, mixed):
    path, german_from = mixed
    audio = decode(path, settings.audio_cache_dir)
    transcript = transcribe(audio, settings)
    # the beam search's text is kept (no sampling fallback): the same audio gives the same transcript, so
    # this test and a retried video see what the first run saw (sampled, 0 to 13 German words were
    # stored unflagged from run to run on an AMD EPYC)
    assert transcribe(audio, settings) == transcript
    english = [s for s in transcript.segments if s.end <= german_from + 0.5]
    foreign = [s for s in transcript.segments if s.start >= german_from - 0.5]
    print("\n".join(f"{s.start:5.1f} [{s.language}] {s.flag or 'clean'}: {s.text}" for s in transcript.segments))
    assert not any(s.flag for s in english)
    assert word_error_rate(" ".join(ENGLISH), " ".join(s.text for s in english)) <= 0.25
    flagged = [s for s in foreign if s.flag and not repeated_phrase(s.text)]
    assert flagged and all(s.language == "de" and "speech in 'de'" in s.flag and "VIDSCRIBE_LANGUAGE=de" in s.flag
                           for s in flagged)
    # a German sentence identified on its own (2 s) can pass for English, and int8 decoding differs from CPU to
    # CPU: at most a fifth of the German words stored unflagged (0 on an AMD EPYC, where a sampled decoding left
    # 0 to 13 of 53; before the sentences of a run were identified on their own, all of them)
    unflagged = sum(len(s.words) for s in foreign if not s.flag)
    assert unflagged <= 0.2 * sum(len(s.words) for s in foreign)
    assert not [s.text for s in transcript.segments if not s.flag and repeated_phrase(s.text)]


def test_multilingual_model_transcribes_german_in_german_and_search_finds_it(settings, german):
    multilingual = Settings(asr_model="base", language="")  # "base" offline: the packaged multilingual model
    recording = process_recording(str(german), multilingual)
    transcript = recording.transcript
    wer = word_error_rate(" ".join(GERMAN), transcript.text)
    print(f"German through Whisper base: WER {wer:.1%}: {transcript.text}")
    assert transcript.language == "de" and {s.language for s in recording.segments} == {"de"}
    assert not any(s.flag for s in recording.segments)
    assert wer <= 0.5
    engine = get_engine(settings)
    assert get_video(engine, recording.info.source_id).language == "de"
    query = "Tomate Gärten"  # German stems: "Tomaten" and "Garten" are found by other forms of the words
    hits = search(engine, embed_texts([query], settings)[0], limit=3, query_text=query, mode="hybrid")
    assert hits and hits[0].source_id == recording.info.source_id and "tomaten" in hits[0].text.lower()


def test_a_segment_whisper_sampled_is_identified_however_sure_its_words(settings):
    """tiny.en's beam search fails Whisper's checks on German, and the fallback keeps one random draw: mostly
    words unsure enough to be doubtful, but once (CI stop 22) a sure-worded English sentence that stayed
    unflagged, and the German recording was stored as English. The draw here is the kind seen in those runs."""
    from vidscribe.stages.language import check_languages
    from vidscribe.stages.transcribe import load_whisper

    # 20 s of German: 8 s of espeak's German was identified as English or Thai on an AMD EPYC
    samples, _ = concatenate([("de", speak(text, "de")) for text in GERMAN])
    text = "We will see you in the next video."
    step = len(samples) / SAMPLE_RATE / len(text.split())
    words = tuple(Word(i * step, (i + 1) * step, w, 0.9) for i, w in enumerate(text.split()))
    drawn = AsrSegment(0.0, len(samples) / SAMPLE_RATE, text, -0.4, 0.1, 1.3, words, "en", temperature=1.0)

    def redecode(audio: np.ndarray, language: str) -> tuple[AsrSegment, ...]:
        raise AssertionError("an English-only model is never asked to decode German")

    asr = load_whisper(settings)
    [checked] = check_languages((drawn,), samples, asr, settings, redecode)
    assert checked.language == "de" and checked.flag and "speech in 'de'" in checked.flag
    # the same words from the beam search (temperature 0) are trusted: no identification, no flag
    assert check_languages((replace(drawn, temperature=0.0),), samples, asr, settings, redecode)[0].flag is None
