"""Language per segment: find the parts of a recording that are not in the language they were decoded as.

Why per segment, and only where decoding struggled: a channel's episode may open in English and switch to
German, or quote a song in Spanish. Whisper detects one language per recording (or window) from its first
30 s, and an English-only model knows one language only: it "translates" anything else into fluent nonsense
("the rest of the rest of the rest ..."). Identifying the language of every segment would cost an encoder pass
each. Whisper's log-probability cannot pick the doubtful ones, because faster-whisper reports one figure for a
whole 30 s decoding window, shared by its segments; the words' own probabilities can: a segment whose median
word probability is below `asr_min_word_probability` is doubtful (espeak English through tiny.en: 0.83 and
above; German through it: 0.51 and below; pyannote's real two-voice sample: 0.91 and above). So is a segment
whose window's beam search failed Whisper's own checks (`failed_checks`): with the temperature fallback on, its
text is one random draw whose words can come out sure ("We will see you in the next video." for espeak German
through tiny.en; without this, whether such a recording was flagged depended on the draw, CI stop 22); with it
off (the default, unless the text looped) the beam search's text stays, and the window's figures still say it
failed.

Consecutive doubtful segments are identified together, up to Whisper's 30 s window (one encoder pass, and
more speech makes the identification surer); a run heard as its decoded language has its segments identified
again one by one (`_alone`), as a run can mix languages. A run found to be in another language is re-decoded in it when
the ASR model knows it (a multilingual model; the new decoding is kept only if its words are surer than the
old ones', because identification on a few unclear seconds can be wrong: French heard as Thai), else kept
flagged with a reason that names the language and the settings to change. The identifier is Whisper itself:
the ASR model when it is multilingual, else `language_id_model` (the offline profile's packaged Whisper
base), loaded once per process like every model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from vidscribe.audio import SAMPLE_RATE
from vidscribe.settings import Settings
from vidscribe.stages.whisper_models import load_faster_whisper
from vidscribe.transcript import AsrSegment

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

#: below this identification probability the segment's language is left as decoded
MIN_LANGUAGE_PROBABILITY = 0.5
#: less speech than this (seconds) is too little to identify its language
MIN_SPEECH_SECONDS = 1.0
#: the longest run of doubtful segments identified at once: Whisper's window
RUN_SECONDS = 30.0
#: neighbours of a doubtful segment join its run up to this much above `asr_min_word_probability`
RUN_MARGIN = 0.2
#: a neighbour of this many words or fewer joins a run whatever its probabilities: an English-only Whisper
#: renders the last words of a German run as a confident "I'm done," (seen in tests/test_languages.py)
SHORT_SEGMENT_WORDS = 2

Redecode = Callable[[np.ndarray, str], tuple[AsrSegment, ...]]


def load_identifier(asr: WhisperModel, settings: Settings) -> WhisperModel:
    """The model that identifies languages: the ASR model if multilingual, else `language_id_model`."""
    if asr.model.is_multilingual or not settings.language_id_model:
        return asr
    return load_faster_whisper("language_id", settings.language_id_model, settings)


def median_word_probability(segment: AsrSegment) -> float:
    probabilities = [word.probability for word in segment.words]
    return float(np.median(probabilities)) if probabilities else 1.0


def doubtful(segment: AsrSegment, settings: Settings) -> bool:
    """Whether the segment's words were decoded with little confidence (see the module docstring)."""
    return median_word_probability(segment) < settings.asr_min_word_probability


def failed_checks(segment: AsrSegment, settings: Settings) -> bool:
    """Whether the beam search's text failed Whisper's own checks (the ones that choose a temperature fallback):
    a log-probability below `asr_min_avg_logprob` or a compression ratio above `asr_max_compression_ratio`.
    With the fallback on, such a window was sampled instead (`temperature` above 0)."""
    return (segment.temperature > 0 or segment.avg_logprob < settings.asr_min_avg_logprob
            or segment.compression_ratio > settings.asr_max_compression_ratio)


def suspect(segment: AsrSegment, settings: Settings) -> bool:
    """Whether the segment's language is worth identifying: doubtful words, or a decoding that failed
    Whisper's checks."""
    return failed_checks(segment, settings) or doubtful(segment, settings)


def doubtful_runs(segments: tuple[AsrSegment, ...], settings: Settings) -> list[list[int]]:
    """Indices of consecutive unflagged segments to identify together, in runs of at most `RUN_SECONDS`.

    A run holds at least one `suspect` segment and grows over neighbours that are nearly doubtful (median word
    probability below the threshold plus `RUN_MARGIN`), as a VAD's hysteresis does: a German sentence that
    tiny.en happened to decode with 0.62 sits between two at 0.35 and must not stay alone as "English". A
    segment of one or two words says too little about its language to stand alone either way, so it joins
    too; the run's identification then decides (an English run stays English).
    """
    loose = settings.asr_min_word_probability + RUN_MARGIN
    runs: list[list[int]] = []
    chain: list[int] = []
    for i, segment in enumerate([*segments, None]):
        if segment is not None and not segment.flag and (median_word_probability(segment) < loose
                                                         or len(segment.words) <= SHORT_SEGMENT_WORDS
                                                         or suspect(segment, settings)):
            chain.append(i)
            continue
        if any(suspect(segments[k], settings) for k in chain):
            for k in chain:
                if runs and runs[-1][-1] == k - 1 and segments[k].end - segments[runs[-1][0]].start <= RUN_SECONDS:
                    runs[-1].append(k)
                else:
                    runs.append([k])
        chain = []
    return runs


def foreign_language_flag(language: str, decoded_as: str) -> str:
    """The flag of speech in `language` that a model of `decoded_as` only cannot transcribe."""
    return (f"speech in '{language}', not '{decoded_as}': set VIDSCRIBE_LANGUAGE={language} (or empty to detect) "
            f"and a multilingual VIDSCRIBE_ASR_MODEL (offline: base; gpu: large-v3)")


def _word_confidence(segments: Sequence[AsrSegment]) -> float:
    """Median probability of the segments' words (0 without words): which of two decodings Whisper is surer of."""
    probabilities = [word.probability for segment in segments for word in segment.words]
    return float(np.median(probabilities)) if probabilities else 0.0


def _span(samples: np.ndarray, start: float, end: float) -> np.ndarray:
    return samples[max(int(start * SAMPLE_RATE), 0):int(end * SAMPLE_RATE)]


def unheard_language(samples: np.ndarray, asr: WhisperModel, settings: Settings) -> str | None:
    """The language of the speech in `samples` when it is not the configured one, else None.

    For a recording where Whisper kept no words: faster-whisper drops a whole recording of speech in another
    language as a hallucination (`hallucination_silence_threshold`), which must not be reported as "no
    speech". Silero VAD (faster-whisper's) finds the speech; none, and it is music, noise or silence.
    """
    from faster_whisper.vad import collect_chunks, get_speech_timestamps

    if not settings.language:
        return None
    chunks = get_speech_timestamps(samples)
    if sum(chunk["end"] - chunk["start"] for chunk in chunks) < MIN_SPEECH_SECONDS * SAMPLE_RATE:
        return None
    speech = np.concatenate(collect_chunks(samples, chunks)[0])
    language, probability, _ = load_identifier(asr, settings).detect_language(audio=speech)
    return language if probability >= MIN_LANGUAGE_PROBABILITY and language != settings.language else None


def check_languages(segments: tuple[AsrSegment, ...], samples: np.ndarray, asr: WhisperModel,
                    settings: Settings, redecode: Redecode) -> tuple[AsrSegment, ...]:
    """The segments with their language checked where decoding struggled (see the module docstring).

    `samples` are the audio the segments' times refer to; `redecode(audio, language)` transcribes a run's
    audio again in `language` (only called when the ASR model is multilingual).
    """
    runs = doubtful_runs(segments, settings)
    if not runs:
        return segments
    identifier = load_identifier(asr, settings)
    replaced: dict[int, tuple[AsrSegment, ...]] = {}
    in_runs = {i for run in runs for i in run}
    runs.reverse()  # a stack: each run in order, and a mixed run's segments before the next run
    while runs:
        run = runs.pop()
        first, last = segments[run[0]], segments[run[-1]]
        if any(i in replaced for i in run):  # taken by a run found earlier in another language
            continue
        language, probability, _ = identifier.detect_language(audio=_span(samples, first.start, last.end))
        if probability < MIN_LANGUAGE_PROBABILITY or language == first.language:
            runs += _alone(run, segments)
            continue
        run = _grown(run, segments, samples, identifier, language, in_runs)
        in_runs.update(run)  # a later run must not grow back over what this one took (it would be stored twice)
        first, last = segments[run[0]], segments[run[-1]]
        if asr.model.is_multilingual:
            again = tuple(replace(s.shifted(first.start), language=language)
                          for s in redecode(_span(samples, first.start, last.end), language))
            if _word_confidence(again) <= _word_confidence([segments[i] for i in run]):
                continue  # identification on a short, unclear stretch can be wrong: keep the better decoding
            replaced[run[0]] = again
        else:
            flag = foreign_language_flag(language, first.language)
            replaced[run[0]] = tuple(replace(segments[i], language=language, flag=flag) for i in run)
        replaced.update({i: () for i in run[1:]})
    return tuple(s for i, segment in enumerate(segments) for s in replaced.get(i, (segment,)))


def _alone(run: list[int], segments: tuple[AsrSegment, ...]) -> list[list[int]]:
    """The segments of a run heard as its decoded language, each to be identified on its own (in order, for the
    stack) where it holds `MIN_SPEECH_SECONDS` of audio: a run can mix the languages. Where tiny.en fails
    Whisper's checks on a 30 s window, every segment of it is sampled, so its English and German sentences
    form one run, heard as English as a whole (seen on an AMD EPYC: the German half stored as English
    nonsense)."""
    if len(run) < 2:
        return []
    return [[i] for i in reversed(run) if segments[i].end - segments[i].start >= MIN_SPEECH_SECONDS]


def _grown(run: list[int], segments: tuple[AsrSegment, ...], samples: np.ndarray, identifier: WhisperModel,
           language: str, in_runs: set[int]) -> list[int]:
    """`run` (found to be in `language`) with the confident neighbours on either side that are in `language`
    too, each identified on its own: tiny.en decodes some German lines as fluent English with sure words
    ("Fonyra can't hide how they land.", CI run 9), which no probability marks as doubtful."""
    grown = list(run)
    for step in (1, -1):
        k = (grown[-1] if step == 1 else grown[0]) + step
        while 0 <= k < len(segments) and k not in in_runs and not segments[k].flag:
            heard, probability, _ = identifier.detect_language(audio=_span(samples, segments[k].start,
                                                                            segments[k].end))
            if heard != language or probability < MIN_LANGUAGE_PROBABILITY:
                break
            grown.insert(len(grown) if step == 1 else 0, k)
            k += step
    return grown
