"""Transcribe: faster-whisper with its VAD filter and word timestamps, then per-segment gates and language checks.

Why these choices: the VAD filter stops Whisper hallucinating over silence and music (and is required by some
small models that otherwise loop); word timestamps let each word take the speaker of the turn it falls in.
On a GPU, `BatchedInferencePipeline` decodes many 30 s windows at once, several times faster than the
sequential decoder. On a CPU (2 cores, tiny.en, 10 min of the peer corpus, word timestamps on) it is faster
too, 31.4 s against 38.3 s on one thread, but a CPU worker runs two videos' decodes side by side (16.0 s
against 18.5 s), and on the quality corpus its English WER is 18.4% against 17.4%: `asr_decoder=auto` keeps
the sequential decoder there. The batched pipeline runs with Whisper's timestamps: without them a segment is
a whole 30 s VAD chunk, and one looped phrase flagged a whole chunk of pyannote's sample. What Whisper invents
over silence is dropped and what looks like a loop is flagged (`vidscribe.stages.asr_gates`); segments in
another language than they were decoded as are re-decoded or flagged (`vidscribe.stages.language`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from vidscribe.audio import AudioRef
from vidscribe.errors import BadInputError
from vidscribe.oom import with_oom_fallback
from vidscribe.runtime import get_runtime
from vidscribe.settings import Settings, section
from vidscribe.stages.asr_gates import gate, suspicion
from vidscribe.stages.language import check_languages, foreign_language_flag, unheard_language
from vidscribe.stages.whisper_models import load_faster_whisper
from vidscribe.transcript import AsrSegment, Transcript, Word
from vidscribe.windows import plan_windows

if TYPE_CHECKING:  # imported where a model loads: a run with nothing to transcribe never loads the library
    from faster_whisper import WhisperModel
    from faster_whisper.transcribe import TranscriptionInfo

#: the settings that change a transcript: part of the stage's cache key
SECTION = section("TranscribeSettings", "asr_model", "device", "compute_type", "asr_decoder", "asr_batch_size",
                  "asr_beam_size", "asr_temperature_fallback", "language", "asr_min_avg_logprob", "asr_no_speech_prob",
                  "asr_max_compression_ratio", "asr_hallucination_silence_seconds", "asr_min_word_probability",
                  "language_id_model", "window_seconds")


#: faster-whisper's (and openai/whisper's) fallback temperatures, used when `asr_temperature_fallback` is on
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def load_whisper(settings: Settings) -> WhisperModel:
    return load_faster_whisper("asr", settings.asr_model, settings)


def transcribe_waveform(samples: np.ndarray, settings: Settings) -> Transcript:
    """Transcribe 16 kHz mono float32 samples already in memory (smaller batches, then the CPU, on OOM)."""

    def run(current: Settings) -> Transcript:
        with get_runtime().scheduler.slot("asr", concurrent=True):
            return _transcribe(load_whisper(current), samples, current)

    return with_oom_fallback(settings, ("asr_batch_size",), "device", "transcription", run)


def _decode(model: WhisperModel, samples: np.ndarray, settings: Settings,
            language: str | None) -> tuple[tuple[AsrSegment, ...], TranscriptionInfo]:
    """Whisper's segments of `samples` in `language` (None: detected), with words and Whisper's spacing."""
    options = dict(language=language, beam_size=settings.asr_beam_size, vad_filter=True, word_timestamps=True,
                   temperature=FALLBACK_TEMPERATURES if settings.asr_temperature_fallback else 0.0)
    if settings.asr_decoder == "batched" or (settings.asr_decoder == "auto" and model.model.device == "cuda"):
        from faster_whisper import BatchedInferencePipeline

        pieces, info = BatchedInferencePipeline(model).transcribe(samples, batch_size=settings.asr_batch_size,
                                                                  without_timestamps=False, **options)
    else:
        pieces, info = model.transcribe(samples, condition_on_previous_text=False,
                                        hallucination_silence_threshold=settings.asr_hallucination_silence_seconds,
                                        **options)
    segments = tuple(
        AsrSegment(
            start=float(p.start), end=float(p.end), text=p.text.strip(), avg_logprob=float(p.avg_logprob),
            no_speech_prob=float(p.no_speech_prob), compression_ratio=float(p.compression_ratio),
            words=tuple(Word(float(w.start), float(w.end), w.word.strip(), float(w.probability),
                             joined=not w.word[:1].isspace())
                        for w in (p.words or ())),
            language=info.language, temperature=float(p.temperature or 0.0),
        )
        for p in pieces  # a generator: decoding happens while we iterate
    )
    return segments, info


def _transcribe(model: WhisperModel, samples: np.ndarray, settings: Settings) -> Transcript:
    """The beam search's transcript; where it looped, Whisper's own remedy instead.

    The temperature fallback samples, and CTranslate2's seed does not reach its worker threads, so a sampled
    text differs from run to run. With `asr_temperature_fallback` off it is used only when the beam search's
    text holds a loop (`suspicion`): tiny.en's beam search wrote "beep" x74 for a 4 s sentence at 0.8 volume,
    and a sampled decoding heard the sentence. Everything else gives the same transcript every run.
    """
    transcript = _transcribe_once(model, samples, settings)
    if settings.asr_temperature_fallback or not any(suspicion(s, settings) for s in transcript.segments):
        return transcript
    return _transcribe_once(model, samples, settings.model_copy(update={"asr_temperature_fallback": True}))


def _transcribe_once(model: WhisperModel, samples: np.ndarray, settings: Settings) -> Transcript:
    segments, info = _decode(model, samples, settings, settings.language or None)

    def redecode(audio: np.ndarray, language: str) -> tuple[AsrSegment, ...]:
        return gate(_decode(model, audio, settings, language)[0], settings)

    checked = gate(check_languages(segments, samples, model, settings, redecode), settings)
    unheard = "" if any(s.words for s in checked) else unheard_language(samples, model, settings) or ""
    return Transcript(language=info.language, language_probability=float(info.language_probability),
                      duration=float(info.duration), segments=checked, unheard=unheard)


def check_speech(transcript: Transcript, source: str) -> None:
    """Refuse transcripts that would fill the archive with noise: no words at all (music, noise or
    silence; or speech in another language that Whisper dropped whole), or only flagged ones (speech in a
    language the model does not know, loops): the reason names the setting to change."""
    if not transcript.words and transcript.unheard:
        reason = foreign_language_flag(transcript.unheard, transcript.language)
        raise BadInputError(f"{source}: no part was understood: {reason}")
    if not transcript.words:
        raise BadInputError(f"{source}: no speech found (music, noise or silence only); nothing to store")
    if all(segment.flag for segment in transcript.segments):
        flags = [segment.flag for segment in transcript.segments]
        raise BadInputError(f"{source}: no part was understood: {max(flags, key=flags.count)}")


def join_windows(parts: list[tuple[float, Transcript]], duration: float) -> Transcript:
    """One transcript from windows' transcripts `(offset seconds, transcript)`: times shifted into the
    recording's; the language is the first window's (fixed anyway unless VIDSCRIBE_LANGUAGE is empty)."""
    first = parts[0][1]
    segments = tuple(segment.shifted(offset) for offset, part in parts for segment in part.segments)
    unheard = next((part.unheard for _, part in parts if part.unheard), "")
    return Transcript(first.language, first.language_probability, duration, segments, unheard)


def transcribe(audio: AudioRef, settings: Settings) -> Transcript:
    """The stage: transcribe a decoded recording; recordings without understood speech are bad input.

    Long recordings are transcribed window by window (`vidscribe.windows`), each window copied out of the
    cache on its own, so Whisper's spectrogram and the audio in memory stay window-sized. A recording of
    one window is transcribed exactly as a whole.
    """
    parts = [(window.offset, transcribe_waveform(audio.read(window.start, window.stop), settings))
             for window in plan_windows(audio, settings.window_seconds)]
    transcript = join_windows(parts, audio.duration)
    check_speech(transcript, audio.source)
    return transcript

