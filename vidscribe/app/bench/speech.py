"""Real synthetic speech with known speaker turns, made with espeak-ng (the benchmark's and the tests' voices).

Why espeak-ng: it is a Debian package that runs offline, and its voices are real speech that Whisper
transcribes and speaker models tell apart, with exact references (who speaks when, and what). The voice
pairs below are ones the CAM++ speaker model separates (see ../shared/ENVIRONMENT.md); `en-us+m3` and
`en-gb+f2` at default pitch are not, so they never share a recording.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidscribe.audio import SAMPLE_RATE, decode_to_array

#: silence between utterances
GAP_SECONDS = 0.6


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice (`-v`) and, optionally, its pitch (`-p`, 0-99; espeak's default is 50)."""

    name: str
    pitch: int | None = None

    def __str__(self) -> str:
        return self.name if self.pitch is None else f"{self.name} pitch {self.pitch}"


#: two pairs of voices the speaker models tell apart (DER about 5% on dialogues of either pair)
PAIR_A = (Voice("en-us+m3"), Voice("en-us+f4"))
PAIR_B = (Voice("en-us+m1", pitch=25), Voice("en-gb+f2", pitch=85))


def speak(text: str, voice: Voice | str) -> np.ndarray:
    """Speak `text` with an espeak-ng voice (a `Voice` or a bare voice name); 16 kHz mono float32."""
    voice = Voice(voice) if isinstance(voice, str) else voice
    pitch = [] if voice.pitch is None else ["-p", str(voice.pitch)]
    with tempfile.NamedTemporaryFile(suffix=".wav") as wav:
        subprocess.run(["espeak-ng", "-v", voice.name, *pitch, "-w", wav.name, text], check=True,
                       capture_output=True)
        return decode_to_array(Path(wav.name))


def concatenate(parts: list[tuple[str, np.ndarray]]) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """Join utterances with short pauses; return the audio and each utterance's (start, end, speaker)."""
    gap = np.zeros(int(GAP_SECONDS * SAMPLE_RATE), dtype=np.float32)
    pieces, turns, t = [gap], [], GAP_SECONDS
    for speaker, samples in parts:
        turns.append((t, t + len(samples) / SAMPLE_RATE, speaker))
        pieces += [samples, gap]
        t += (len(samples) + len(gap)) / SAMPLE_RATE
    return np.concatenate(pieces), turns
