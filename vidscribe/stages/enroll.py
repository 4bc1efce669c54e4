"""Enroll a voice profile from reference recordings of one person.

Why a centroid of bounded clips: a profile must be comparable with the per-speaker centroids that speaker
identification computes, so it is built the same way (same encoder, same clip length, same unit mean).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vidscribe.stages.decode import decode
from vidscribe.errors import BadInputError
from vidscribe.db import VoiceProfile, get_engine, list_profiles, upsert_profile
from vidscribe.settings import Settings
from vidscribe.speakers.factory import load_speaker_encoder, speaker_slot
from vidscribe.speakers.matching import centroid
from vidscribe.speakers.sampling import sample_clips


def enroll(name: str, files: list[Path], settings: Settings) -> VoiceProfile:
    """Embed a bounded sample of each reference file and store the centroid as `name`'s profile."""
    if not name.strip():
        raise BadInputError("a voice profile needs a non-empty name; give one, e.g. "
                            "`vidscribe voices enroll Alice a.wav`")
    encoder = load_speaker_encoder(settings)
    clips: list[np.ndarray] = []
    for path in files:
        audio = decode(path, settings.audio_cache_dir)
        clips += sample_clips(audio.load(), [(0.0, audio.duration)], settings.speaker_clip_seconds,
                              settings.speaker_sample_clips)
    if not clips:
        raise BadInputError(f"no speech found in {', '.join(map(str, files))}; give recordings of {name} speaking")
    with speaker_slot(settings):
        voice = centroid(encoder.embed(clips))
    engine = get_engine(settings)
    upsert_profile(engine, name.strip(), encoder.key, voice, len(clips))
    return next(p for p in list_profiles(engine, encoder.key) if p.name == name.strip())
