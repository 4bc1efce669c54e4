"""Bounded clip sampling: what gets embedded for a speaker, a voice reference or a monologue probe.

Why bounded: when diarization failed, our predecessor embedded every transcript chunk (thousands of model calls
per video). A speaker's voice is well characterised by a dozen 3 s clips spread over the recording, so every
speaker-embedding call here is capped at `max_clips` clips of at most `clip_seconds` each, whatever the length.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import numpy as np

from vidscribe.audio import SAMPLE_RATE

T = TypeVar("T")
N = TypeVar("N", int, float)

#: clips quieter than this fraction of the loudest clip's RMS are pauses, not speech
QUIET_FRACTION = 0.1
MIN_CLIP_SECONDS = 0.5


def windows(spans: Iterable[tuple[float, float]], clip_seconds: float) -> list[tuple[float, float]]:
    """Cut time spans into consecutive windows of `clip_seconds` (a shorter tail is kept if long enough)."""
    cut: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        t = start
        while end - t >= MIN_CLIP_SECONDS:
            cut.append((t, min(end, t + clip_seconds)))
            t += clip_seconds
    return cut


def joined(spans: Iterable[tuple[N, N]], max_gap: N) -> list[tuple[N, N]]:
    """Sorted spans, those less than `max_gap` apart joined into one (seconds, or sample indices)."""
    out: list[tuple[N, N]] = []
    for start, end in sorted(spans):
        if out and start - out[-1][1] < max_gap:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def spread(items: list[T], count: int) -> list[T]:
    """At most `count` items, evenly spaced over the list (so over time when the list is sorted)."""
    if len(items) <= count:
        return items
    picks = np.linspace(0, len(items) - 1, count).round().astype(int)
    return [items[i] for i in picks]


def sample_clips(
    samples: np.ndarray, spans: Iterable[tuple[float, float]], clip_seconds: float, max_clips: int
) -> list[np.ndarray]:
    """Up to `max_clips` voiced clips from `spans`, spread over time; full-length windows are preferred."""
    cut = windows(spans, clip_seconds)
    full = [w for w in cut if w[1] - w[0] >= clip_seconds - 1e-6]
    chosen = spread(full if len(full) >= max_clips else cut, max_clips * 2)
    clips = [np.asarray(samples[int(a * SAMPLE_RATE): int(b * SAMPLE_RATE)], dtype=np.float32) for a, b in chosen]
    clips = [c for c in clips if c.size]
    if not clips:
        return []
    rms = np.array([np.sqrt(np.mean(np.square(c))) for c in clips])
    voiced = [c for c, r in zip(clips, rms) if r >= QUIET_FRACTION * rms.max()]
    return spread(voiced, max_clips)
