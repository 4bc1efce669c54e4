"""The reference of one corpus item: who says what, and when; which speech is not scored.

Why turns with text and times: cpWER and tcpWER need each speaker's words (tcpWER also their times), WDER
needs each reference word's speaker, DER needs speaker turns and inserted words need to know where nobody
speaks. `ignored` marks speech that is in the audio but has no reference text (the German half of the
mixed-language clip): it is neither scored for WER nor counted as non-speech.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

Span = tuple[float, float]


@dataclass(frozen=True)
class RefTurn:
    """One reference utterance: `speaker` says `text` from `start` to `end` (seconds)."""

    speaker: str
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class SpeakerTurn:
    """Who speaks when, without text: a diarization reference row (RTTM)."""

    speaker: str
    start: float
    end: float


@dataclass(frozen=True)
class Reference:
    """Everything an item is scored against.

    `diarization`: the DER reference; empty means "the turns' spans" (exact for constructed audio, where each
    turn is the utterance's trimmed extent). `language`: ISO code of the scored speech (the normaliser spells
    numbers in English only).
    """

    duration: float
    turns: tuple[RefTurn, ...]
    ignored: tuple[Span, ...] = ()
    diarization: tuple[SpeakerTurn, ...] = field(default=())
    language: str = "en"

    @property
    def speaker_turns(self) -> tuple[SpeakerTurn, ...]:
        return self.diarization or tuple(SpeakerTurn(t.speaker, t.start, t.end) for t in self.turns)

    @property
    def speakers(self) -> list[str]:
        return sorted({t.speaker for t in self.speaker_turns})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Reference":
        return cls(
            duration=data["duration"],
            turns=tuple(RefTurn(**t) for t in data["turns"]),
            ignored=tuple((float(a), float(b)) for a, b in data["ignored"]),
            diarization=tuple(SpeakerTurn(**t) for t in data["diarization"]),
            language=data["language"],
        )


def read_stm(path: Path) -> list[RefTurn]:
    """NIST STM lines `file channel speaker start end text...` (`;;` comments skipped)."""
    turns = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith(";;"):
            continue
        _file, _channel, speaker, start, end, *words = line.split()
        turns.append(RefTurn(speaker, float(start), float(end), " ".join(words)))
    return turns


def read_rttm(path: Path) -> list[SpeakerTurn]:
    """RTTM `SPEAKER file channel start duration <NA> <NA> speaker <NA> <NA>` rows."""
    turns = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == "SPEAKER":
            start, duration = float(fields[3]), float(fields[4])
            turns.append(SpeakerTurn(fields[7], start, start + duration))
    return turns
