"""One voice vector per diarized speaker: the centroid of a bounded clip sample of its turns.

Why shared: speaker identification (names for a recording's speakers) and speaker linking (one voice across
the windows of a long recording) must compute voices the same way, or their cosine thresholds would not mean
the same thing. All speakers' clips go through the encoder in one batched call.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from vidscribe.settings import Settings
from vidscribe.speakers.encoder import SpeakerEncoder
from vidscribe.speakers.factory import speaker_slot
from vidscribe.speakers.matching import centroid
from vidscribe.speakers.sampling import sample_clips
from vidscribe.transcript import Turn


def anonymous_label(order: int) -> str:
    """Unknown speakers are numbered by first appearance, so re-runs give the same labels."""
    return f"SPEAKER_{order:02d}"


def speaker_voices(
    samples: np.ndarray, turns: Iterable[Turn], encoder: SpeakerEncoder, settings: Settings
) -> dict[str, np.ndarray]:
    """Label -> unit voice vector, for each label with enough speech for a clip (by first appearance).

    At most `speaker_sample_clips` clips of `speaker_clip_seconds` per label; `turns` are in the time base
    of `samples` (a window's own turns for a window's samples).
    """
    ordered = sorted(turns, key=lambda t: t.start)
    clips_per_label = {
        label: sample_clips(samples, [(t.start, t.end) for t in ordered if t.speaker == label],
                            settings.speaker_clip_seconds, settings.speaker_sample_clips)
        for label in dict.fromkeys(t.speaker for t in ordered)
    }
    all_clips = [clip for clips in clips_per_label.values() for clip in clips]
    if not all_clips:
        return {}
    with speaker_slot(settings):
        vectors = encoder.embed(all_clips)
    voices: dict[str, np.ndarray] = {}
    offset = 0
    for label, clips in clips_per_label.items():
        if clips:
            voices[label] = centroid(vectors[offset:offset + len(clips)])
        offset += len(clips)
    return voices
