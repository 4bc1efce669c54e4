"""Monologue check: skip diarization when one voice speaks throughout.

Why: diarization is the most expensive stage after ASR, and on a solo channel it only adds the risk of
splitting one voice in two. A few speaker embeddings spread over the recording's speech settle it: if every
pair of probes is as similar as same-speaker clips are, the recording is a monologue.
"""

from __future__ import annotations

import numpy as np

from vidscribe.audio import AudioRef
from vidscribe.settings import Settings, section
from vidscribe.speakers.factory import load_speaker_encoder, speaker_slot
from vidscribe.speakers.sampling import sample_clips
from vidscribe.transcript import Diarization, Transcript, Turn

SECTION = section("MonologueSettings", "enable_diarization", "assume_monologue", "speaker_model", "speaker_encoder",
                  "speaker_device", "monologue_probe_windows", "monologue_probe_seconds", "monologue_similarity")
MONOLOGUE_LABEL = "SPEAKER_00"
#: fewer probes than this cannot tell a monologue from a dialogue: diarize
MIN_PROBES = 3


def single_speaker(transcript: Transcript, reason: str) -> Diarization:
    """One speaker over every stretch of speech Whisper found."""
    turns = tuple(Turn(s.start, s.end, MONOLOGUE_LABEL) for s in transcript.segments)
    return Diarization(turns=turns, skipped=True, reason=reason)


def probe_similarity(audio: AudioRef, settings: Settings, transcript: Transcript) -> float | None:
    """The lowest cosine between any two probes of the recording's speech; None if too little speech."""
    spans = [(s.start, s.end) for s in transcript.segments]
    clips = sample_clips(audio.load(), spans, settings.monologue_probe_seconds, settings.monologue_probe_windows)
    if len(clips) < MIN_PROBES:
        return None
    with speaker_slot(settings):
        vectors = load_speaker_encoder(settings).embed(clips)
    return float(np.min(vectors @ vectors.T))


def check_monologue(audio: AudioRef, settings: Settings, transcript: Transcript) -> Diarization | None:
    """The single-speaker diarization if diarization can be skipped, else None (diarize)."""
    if not settings.enable_diarization:
        return single_speaker(transcript, "diarization disabled (ENABLE_DIARIZATION=false)")
    if settings.assume_monologue is True:
        return single_speaker(transcript, "ASSUME_MONOLOGUE=true")
    if settings.assume_monologue is False:
        return None
    similarity = probe_similarity(audio, settings, transcript)
    if similarity is not None and similarity >= settings.monologue_similarity:
        return single_speaker(transcript, f"monologue detected (min probe cosine {similarity:.2f})")
    return None
