"""Windows over a long recording, cut at quiet points: how ASR and diarization keep memory bounded.

Why: faster-whisper computes the spectrogram of all the audio it is given, and pyannote clusters every chunk
embedding of a recording against every other (quadratic); on a 3-hour recording each needs gigabytes. Cut
into windows of at most `window_seconds`, each stage's peak memory is that of one window whatever the
recording's length, and only the current window is copied out of the memory-mapped cache. Each cut moves
to the quietest stretch within `SEARCH_SECONDS` of its nominal place, so it falls in a pause, not in a word.
ASR and diarization use the same plan, so their windows hold the same audio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vidscribe.audio import SAMPLE_RATE, AudioRef

#: how far a cut may move from its nominal place to find a pause
SEARCH_SECONDS = 5.0
#: the stretch whose energy a cut minimises, centred on the cut: long enough to prefer a pause between
#: sentences or turns to the short gap between two words
QUIET_SECONDS = 0.5
#: energy is measured per 10 ms frame
FRAME_SAMPLES = SAMPLE_RATE // 100


@dataclass(frozen=True)
class Window:
    """Samples `[start, stop)` of a recording."""

    start: int
    stop: int

    @property
    def offset(self) -> float:
        """Where the window starts, in seconds: what its timestamps are shifted by."""
        return self.start / SAMPLE_RATE


def plan_windows(audio: AudioRef, window_seconds: float) -> list[Window]:
    """Consecutive windows covering `audio`, as few as fit `window_seconds` and about equally long.

    A recording no longer than one window is one window: it is processed exactly as it always was.
    """
    total = len(audio.load())  # reads the header only
    longest = int(window_seconds * SAMPLE_RATE)
    if total <= longest:
        return [Window(0, total)]
    count = math.ceil(total / longest)
    edges = [0, *(quietest_point(audio, round(i * total / count)) for i in range(1, count)), total]
    return [Window(start, stop) for start, stop in zip(edges, edges[1:])]


def quietest_point(audio: AudioRef, nominal: int) -> int:
    """The sample near `nominal` at the centre of the lowest-energy `QUIET_SECONDS` stretch."""
    reach = int(SEARCH_SECONDS * SAMPLE_RATE)
    start = max(0, nominal - reach)
    region = audio.read(start, nominal + reach)
    frames = len(region) // FRAME_SAMPLES
    energy = np.square(region[: frames * FRAME_SAMPLES].reshape(frames, FRAME_SAMPLES), dtype=np.float64).sum(1)
    span = int(QUIET_SECONDS * SAMPLE_RATE) // FRAME_SAMPLES
    stretch = np.convolve(energy, np.ones(span), mode="valid")  # energy of the stretch starting at each frame
    return start + (int(np.argmin(stretch)) + span // 2) * FRAME_SAMPLES
