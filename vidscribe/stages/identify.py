"""Identify speakers: put enrolled names on diarized speakers.

Each diarized speaker gets ONE embedding: the centroid of a bounded, batched sample of its turns (see
`vidscribe.speakers.voices`), never one per transcript chunk. The word attribution has computed them for
every recording where several speakers talk (`Diarization.voices`), and they are reused; otherwise all
speakers' clips go through the encoder together, so a video costs a handful of batched calls whatever its
length.
"""

from __future__ import annotations

from collections.abc import Sequence

from vidscribe.audio import AudioRef
from vidscribe.settings import Settings, section
from vidscribe.speakers.factory import load_speaker_encoder
from vidscribe.speakers.matching import Profile, best_match
from vidscribe.speakers.voices import anonymous_label, speaker_voices
from vidscribe.transcript import Diarization, SpeakerName

SECTION = section("IdentifySettings", "speaker_model", "speaker_encoder", "speaker_device", "speaker_sample_clips",
                  "speaker_clip_seconds", "speaker_match_threshold", "speaker_match_margin")


def identify_speakers(
    audio: AudioRef, settings: Settings, diarization: Diarization, profiles: Sequence[Profile]
) -> dict[str, SpeakerName]:
    """Map each diarization label to an enrolled name, or to a stable anonymous label."""
    encoder = load_speaker_encoder(settings)
    usable = [p for p in profiles if p.key == encoder.key]
    labels = diarization.speakers  # SPEAKER_00, 01, ...: already in speaking order (stages.attribute)

    # nothing to match against: skip the model entirely; the word attribution's voices when it computed them
    voices = {}
    if usable:
        voices = diarization.voices or speaker_voices(audio.load(), diarization.turns, encoder, settings)

    names: dict[str, SpeakerName] = {}
    unknown = 0
    for label in labels:
        match = (best_match(voices[label], usable, settings.speaker_match_threshold, settings.speaker_match_margin)
                 if label in voices else None)
        if match:
            names[label] = SpeakerName(label, match.name, match.score, known=True)
        else:
            names[label] = SpeakerName(label, anonymous_label(unknown), 0.0, known=False)
            unknown += 1
    return names
