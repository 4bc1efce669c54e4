"""Identify speakers: put enrolled names on diarized speakers.

Each diarized speaker gets ONE embedding: the centroid of a bounded, batched sample of its turns (see
`vidscribe.speakers.sampling`), never one per transcript chunk. All speakers' clips go through the encoder
together, so a video costs a handful of batched calls whatever its length.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vidscribe.audio import AudioRef
from vidscribe.gpu import gpu_slot
from vidscribe.settings import Settings
from vidscribe.speakers.factory import load_speaker_encoder
from vidscribe.speakers.matching import Profile, best_match, centroid
from vidscribe.speakers.sampling import sample_clips
from vidscribe.stage_task import stage_task
from vidscribe.transcript import Diarization, SpeakerName

SETTINGS_FIELDS = ("speaker_model", "speaker_encoder", "device", "speaker_sample_clips", "speaker_clip_seconds",
                   "speaker_match_threshold", "speaker_match_margin")


def anonymous_label(order: int) -> str:
    """Unknown speakers are numbered by first appearance, so re-runs give the same labels."""
    return f"SPEAKER_{order:02d}"


def identify_speakers(
    audio: AudioRef, settings: Settings, diarization: Diarization, profiles: Sequence[Profile]
) -> dict[str, SpeakerName]:
    """Map each diarization label to an enrolled name, or to a stable anonymous label."""
    encoder = load_speaker_encoder(settings)
    usable = [p for p in profiles if p.key == encoder.key]
    samples = audio.load()
    first_seen = {}
    for turn in sorted(diarization.turns, key=lambda t: t.start):
        first_seen.setdefault(turn.speaker, turn.start)
    labels = sorted(first_seen, key=first_seen.__getitem__)

    clips_per_label = {
        label: sample_clips(samples, [(t.start, t.end) for t in diarization.turns if t.speaker == label],
                            settings.speaker_clip_seconds, settings.speaker_sample_clips)
        for label in labels
    }
    all_clips = [clip for clips in clips_per_label.values() for clip in clips]
    vectors = np.zeros((0, encoder.dim), np.float32)
    if all_clips and usable:  # nothing to match against: skip the model entirely
        with gpu_slot():
            vectors = encoder.embed(all_clips)

    names: dict[str, SpeakerName] = {}
    offset = 0
    unknown = 0
    for label in labels:
        count = len(clips_per_label[label]) if usable else 0
        match = (best_match(centroid(vectors[offset:offset + count]), usable, settings.speaker_match_threshold,
                            settings.speaker_match_margin) if count else None)
        offset += count
        if match:
            names[label] = SpeakerName(label, match.name, match.score, known=True)
        else:
            names[label] = SpeakerName(label, anonymous_label(unknown), 0.0, known=False)
            unknown += 1
    return names


identify_task = stage_task("identify", SETTINGS_FIELDS)(identify_speakers)
