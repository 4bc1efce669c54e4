"""Plain data passed between stages: small, picklable, and independent of any model library.

Why dataclasses and not model objects: these are what Prefect persists as cached task results, and what
tests compare; they must survive a library upgrade and stay cheap to pickle.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np


@dataclass(frozen=True)
class Word:
    """One word as Whisper timed it. `text` has no surrounding spaces; `joined` says Whisper wrote it onto the
    previous word without a space (the second half of "co-founder", a contraction's "'s", any CJK word), so
    text rebuilt from words (`join_words`) reads as Whisper wrote it."""

    start: float
    end: float
    text: str
    probability: float
    joined: bool = False

    def shifted(self, seconds: float) -> "Word":
        """The same word `seconds` later: a window's times become the recording's."""
        return replace(self, start=self.start + seconds, end=self.end + seconds)


@dataclass(frozen=True)
class AsrSegment:
    """One faster-whisper segment with the quality figures Whisper reports for it."""

    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    words: tuple[Word, ...]
    #: ISO 639-1 code of the language this segment was decoded (or identified) as; "" if unknown
    language: str = ""
    #: why this segment may not be what was said (a loop, speech in another language, ...); None: clean.
    #: Flagged segments are stored with the reason, and search leaves them out unless asked.
    flag: str | None = None
    #: the temperature Whisper kept this segment's decoding at: above 0 (with `asr_temperature_fallback`, or a loop)
    #: when the beam search's text failed Whisper's own checks and the text is a random draw of the fallback
    temperature: float = 0.0

    def shifted(self, seconds: float) -> "AsrSegment":
        """The same segment (and its words) `seconds` later."""
        return replace(self, start=self.start + seconds, end=self.end + seconds,
                       words=tuple(w.shifted(seconds) for w in self.words))


@dataclass(frozen=True)
class Transcript:
    language: str
    language_probability: float
    duration: float
    segments: tuple[AsrSegment, ...]
    #: the language of speech Whisper kept no words of, when it is not the configured one ("" otherwise):
    #: a recording of it fails naming the language, not as "no speech"
    unheard: str = ""

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments).strip()


def join_words(words: Iterable[Word]) -> str:
    """Text of consecutive words with Whisper's own spacing (no space before a `joined` word)."""
    return "".join(("" if word.joined or i == 0 else " ") + word.text for i, word in enumerate(words))


@dataclass(frozen=True)
class Turn:
    """A stretch of time in which one (anonymous) speaker talks."""

    start: float
    end: float
    speaker: str

    @property
    def duration(self) -> float:
        return self.end - self.start

    def shifted(self, seconds: float) -> "Turn":
        """The same turn `seconds` later."""
        return replace(self, start=self.start + seconds, end=self.end + seconds)


@dataclass(frozen=True)
class Diarization:
    """Who speaks when. `skipped` says the monologue fast-path produced it without running pyannote."""

    turns: tuple[Turn, ...]
    skipped: bool = False
    reason: str = ""
    #: each transcript word's speaker, in order, once the words are attributed (`vidscribe.stages.attribute`)
    word_speakers: tuple[str, ...] = ()
    #: each speaker's voice (`vidscribe.speakers.voices`) where the attribution computed it: identification
    #: reuses it instead of running the speaker encoder again
    voices: dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    @property
    def speakers(self) -> list[str]:
        return sorted({t.speaker for t in self.turns})

    def relabelled(self, labels: dict[str, str]) -> "Diarization":
        """The same diarization with each speaker label replaced by `labels[label]`."""
        return replace(self, turns=tuple(replace(t, speaker=labels.get(t.speaker, t.speaker)) for t in self.turns),
                       word_speakers=tuple(labels.get(label, label) for label in self.word_speakers),
                       voices={labels.get(label, label): voice for label, voice in self.voices.items()})


@dataclass(frozen=True)
class SpeakerName:
    """The name given to an anonymous diarization label, with the cosine that earned it."""

    label: str
    name: str
    confidence: float
    known: bool


@dataclass(frozen=True)
class Segment:
    """A retrieval-sized piece of transcript, attributed to one speaker."""

    start: float
    end: float
    text: str
    speaker: str
    speaker_confidence: float
    avg_logprob: float
    no_speech_prob: float
    words: tuple[Word, ...] = field(default=(), compare=False)
    #: ISO 639-1 code of the segment's language ("" if unknown); picks its full-text search configuration
    language: str = ""
    #: the reason the segment is suspect (see `AsrSegment.flag`), None if clean
    flag: str | None = None
