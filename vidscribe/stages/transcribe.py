"""Transcribe: faster-whisper with its VAD filter and word timestamps.

Why these choices: the VAD filter stops Whisper hallucinating over silence and music (and is required by some
small models that otherwise loop); word timestamps let each word take the speaker of the turn it falls in;
on a GPU, `BatchedInferencePipeline` decodes many 30 s windows at once, several times faster than the
sequential decoder, while on a CPU the sequential decoder is the faster one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from vidscribe.audio import AudioRef
from vidscribe.errors import BadInputError
from vidscribe.cuda_libraries import preload_ctranslate2_cuda
from vidscribe.gpu import model_budget_mib, resolve_compute_type, resolve_device
from vidscribe.oom import with_oom_fallback
from vidscribe.runtime import get_runtime
from vidscribe.settings import Settings, section
from vidscribe.transcript import AsrSegment, Transcript, Word
from vidscribe.windows import plan_windows

if TYPE_CHECKING:  # imported where a model loads: a run with nothing to transcribe never loads the library
    from faster_whisper import WhisperModel

#: the settings that change a transcript: part of the stage's cache key
SECTION = section("TranscribeSettings", "asr_model", "device", "compute_type", "asr_batch_size", "asr_beam_size",
                  "language", "asr_min_avg_logprob", "window_seconds")


def load_whisper(settings: Settings) -> WhisperModel:
    device = resolve_device(settings.device)
    compute_type = resolve_compute_type(settings.compute_type, device)
    if device == "cuda":  # CTranslate2 dlopens cuBLAS 12 by name on its first GPU call
        preload_ctranslate2_cuda()
    from faster_whisper import WhisperModel

    runtime = get_runtime()
    return runtime.models.get(
        "asr", settings.asr_model, device, compute_type,
        lambda: WhisperModel(settings.asr_model, device=device, compute_type=compute_type,
                             download_root=str(settings.models_dir / "whisper")),
        model_budget_mib(settings, device, runtime.nvml),
    )


def transcribe_waveform(samples: np.ndarray, settings: Settings) -> Transcript:
    """Transcribe 16 kHz mono float32 samples already in memory (smaller batches, then the CPU, on OOM)."""

    def run(current: Settings) -> Transcript:
        with get_runtime().scheduler.slot("asr"):
            return _transcribe(load_whisper(current), samples, current)

    return with_oom_fallback(settings, ("asr_batch_size",), "device", "transcription", run)


def _transcribe(model: WhisperModel, samples: np.ndarray, settings: Settings) -> Transcript:
    options = dict(language=settings.language or None, beam_size=settings.asr_beam_size,
                   vad_filter=True, word_timestamps=True)
    if model.model.device == "cuda":
        from faster_whisper import BatchedInferencePipeline

        pieces, info = BatchedInferencePipeline(model).transcribe(samples, batch_size=settings.asr_batch_size,
                                                                  **options)
    else:
        pieces, info = model.transcribe(samples, condition_on_previous_text=False, **options)
    segments = tuple(
        AsrSegment(
            start=float(p.start), end=float(p.end), text=p.text.strip(), avg_logprob=float(p.avg_logprob),
            no_speech_prob=float(p.no_speech_prob), compression_ratio=float(p.compression_ratio),
            words=tuple(Word(float(w.start), float(w.end), w.word.strip(), float(w.probability))
                        for w in (p.words or ())),
        )
        for p in pieces  # a generator: decoding happens while we iterate
    )
    return Transcript(language=info.language, language_probability=float(info.language_probability),
                      duration=float(info.duration), segments=segments)


def check_speech(transcript: Transcript, source: str, settings: Settings) -> None:
    """Refuse transcripts that would fill the archive with noise.

    No words at all means music, noise or silence. A duration-weighted mean log-probability below
    `asr_min_avg_logprob` (-1.1) means the model did not understand: typically speech in another language
    than an English-only model knows, which it "translates" into confident-looking nonsense. Measured with
    tiny.en on espeak-ng speech: German -1.24 (the tests' clip; another -2.6), English -0.25, English over an
    8 kHz mu-law phone line -1.02 (which Whisper's per-window -1.0 refused). The margins are thin: a stopgap
    until the language is detected per segment.
    """
    if not transcript.words:
        raise BadInputError(f"{source}: no speech found (music, noise or silence only); nothing to store")
    weights = [s.end - s.start for s in transcript.segments]
    mean_logprob = float(np.average([s.avg_logprob for s in transcript.segments], weights=weights))
    if mean_logprob < settings.asr_min_avg_logprob:
        raise BadInputError(
            f"{source}: the speech was not understood (mean log-probability {mean_logprob:.2f} < "
            f"{settings.asr_min_avg_logprob}); if it is not in '{settings.language or 'the detected language'}'"
            f", set VIDSCRIBE_LANGUAGE and a multilingual VIDSCRIBE_ASR_MODEL (e.g. large-v3)"
        )


def join_windows(parts: list[tuple[float, Transcript]], duration: float) -> Transcript:
    """One transcript from windows' transcripts `(offset seconds, transcript)`: times shifted into the
    recording's; the language is the first window's (fixed anyway unless VIDSCRIBE_LANGUAGE is empty)."""
    first = parts[0][1]
    segments = tuple(segment.shifted(offset) for offset, part in parts for segment in part.segments)
    return Transcript(first.language, first.language_probability, duration, segments)


def transcribe(audio: AudioRef, settings: Settings) -> Transcript:
    """The stage: transcribe a decoded recording; recordings without understood speech are bad input.

    Long recordings are transcribed window by window (`vidscribe.windows`), each window copied out of the
    cache on its own, so Whisper's spectrogram and the audio in memory stay window-sized. A recording of
    one window is transcribed exactly as a whole.
    """
    parts = [(window.offset, transcribe_waveform(audio.read(window.start, window.stop), settings))
             for window in plan_windows(audio, settings.window_seconds)]
    transcript = join_windows(parts, audio.duration)
    check_speech(transcript, audio.source, settings)
    return transcript

