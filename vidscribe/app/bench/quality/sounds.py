"""Non-speech for the corpus, made with ffmpeg's lavfi sources: chords (music-like tones) and noise.

Why ffmpeg and not numpy: ffmpeg is already a dependency (decoding), its `sine` and `anoisesrc` sources are
what a person would reach for to make test sounds, and sox is not on a fresh machine. Why chords that change
every two seconds and coloured noise: a steady beep is easy for a VAD to reject; a chord progression with
a tremolo and pink or brown noise are closer to the music beds and room noise that make Whisper invent words.
"""

from __future__ import annotations

import subprocess

import numpy as np

from vidscribe.audio import SAMPLE_RATE, ffmpeg_binary

#: C major, A minor, F major, G major (Hz), a progression that sounds like a song's backing
CHORDS = ((261.63, 329.63, 392.00), (220.00, 261.63, 329.63), (174.61, 220.00, 261.63), (196.00, 246.94, 293.66))
CHORD_SECONDS = 2.0
#: espeak-ng writes exact digital silence around speech; anything quieter than this is silence
SILENCE_LEVEL = 1e-3


def _render(inputs: list[str], graph: str | None) -> np.ndarray:
    """Run ffmpeg on lavfi `inputs` (through the filter `graph`, if any) to 16 kHz mono float32."""
    command = [ffmpeg_binary(), "-nostdin", "-hide_banner", "-loglevel", "error"]
    for source in inputs:
        command += ["-f", "lavfi", "-i", source]
    if graph:
        command += ["-filter_complex", graph]
    command += ["-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"]
    raw = subprocess.run(command, capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.float32).copy()


def chord(frequencies: tuple[float, ...], seconds: float, peak: float = 0.3) -> np.ndarray:
    """One chord peaking near `peak`: a `sine` per note (each at lavfi's amplitude 1/8), mixed, with a tremolo
    and short fades (so chord changes do not click)."""
    inputs = [f"sine=frequency={f}:sample_rate={SAMPLE_RATE}:duration={seconds}" for f in frequencies]
    labels = "".join(f"[{i}:a]" for i in range(len(inputs)))
    fade = min(0.1, seconds / 4)
    graph = (f"{labels}amix=inputs={len(inputs)}:normalize=0,volume={peak * 8 / len(inputs):.4f},"
             f"tremolo=f=5:d=0.4,afade=t=in:d={fade},afade=t=out:st={seconds - fade}:d={fade}")
    return _render(inputs, graph)


def music(seconds: float) -> np.ndarray:
    """A chord progression of `seconds` (the last chord cut to fit)."""
    pieces, left, i = [], seconds, 0
    while left > 1e-6:
        length = min(CHORD_SECONDS, left)
        pieces.append(chord(CHORDS[i % len(CHORDS)], length))
        left -= length
        i += 1
    return _fit(np.concatenate(pieces), seconds)


def noise(seconds: float, color: str = "pink", amplitude: float = 0.05) -> np.ndarray:
    """`anoisesrc` noise of `color` (white, pink, brown, ...) and peak `amplitude`."""
    source = f"anoisesrc=color={color}:amplitude={amplitude}:sample_rate={SAMPLE_RATE}:duration={seconds}:seed=13"
    return _fit(_render([source], None), seconds)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32)


def _fit(samples: np.ndarray, seconds: float) -> np.ndarray:
    """Exactly `seconds` of samples (ffmpeg may give a few samples more or less)."""
    want = round(seconds * SAMPLE_RATE)
    return np.pad(samples[:want], (0, max(0, want - len(samples))))


def trim_silence(samples: np.ndarray, level: float = SILENCE_LEVEL) -> np.ndarray:
    """`samples` without leading and trailing silence, so a reference turn spans only the speech."""
    loud = np.flatnonzero(np.abs(samples) > level)
    return samples[loud[0]: loud[-1] + 1] if len(loud) else samples[:0]
