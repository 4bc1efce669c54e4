"""Monologue check: skip diarization when one voice speaks throughout.

Why: diarization is the most expensive stage after ASR, and on a solo channel it only adds the risk of
splitting one voice in two. Two cheap looks settle it. A few speaker embeddings spread over the recording's
speech: if every pair of probes is as similar as same-speaker clips are, one voice seems to speak throughout.
Then pyannote's segmentation model on a few 10 s stretches: it hears a second voice in turn changes faster than
a probe, which the embeddings average away (a monologue: at most 0.3 s of another voice in 80 s of probes; the
benchmarks' dialogues: 5 s or more).
"""

from __future__ import annotations

import numpy as np

from vidscribe.audio import AudioRef
from vidscribe.stages.diarize import other_voice_seconds
from vidscribe.settings import Settings, section
from vidscribe.speakers.factory import load_speaker_encoder, speaker_slot
from vidscribe.speakers.sampling import joined, sample_clips
from vidscribe.transcript import Diarization, Transcript, Turn

SECTION = section("MonologueSettings", "enable_diarization", "assume_monologue", "speaker_model", "speaker_encoder",
                  "speaker_device", "monologue_probe_windows", "monologue_probe_seconds", "monologue_similarity",
                  "monologue_other_voice_seconds", "diarization_pipeline", "device")
MONOLOGUE_LABEL = "SPEAKER_00"
#: fewer probes than this cannot tell a monologue from a dialogue: diarize
MIN_PROBES = 3
#: the stretches the segmentation model hears: its own window (pyannote's segmentation-3.0: 10 s)
SEGMENTATION_PROBE_SECONDS = 10.0
#: Whisper's segments closer than this are one stretch of speech, so a stretch can hold a turn change
JOIN_GAP_SECONDS = 1.0


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


def other_voice_probe(audio: AudioRef, settings: Settings, transcript: Transcript) -> float:
    """Seconds of any voice but the main one, summed over up to `monologue_probe_windows` 10 s stretches of
    the recording's speech (`vidscribe.stages.diarize.other_voice_seconds`)."""
    spans = joined([(s.start, s.end) for s in transcript.segments], JOIN_GAP_SECONDS)
    clips = sample_clips(audio.load(), spans, SEGMENTATION_PROBE_SECONDS, settings.monologue_probe_windows)
    return other_voice_seconds(settings, clips) if clips else 0.0


def check_monologue(audio: AudioRef, settings: Settings, transcript: Transcript) -> Diarization | None:
    """The single-speaker diarization if diarization can be skipped, else None (diarize)."""
    if not settings.enable_diarization:
        return single_speaker(transcript, "diarization disabled (ENABLE_DIARIZATION=false)")
    if settings.assume_monologue is True:
        return single_speaker(transcript, "ASSUME_MONOLOGUE=true")
    if settings.assume_monologue is False:
        return None
    similarity = probe_similarity(audio, settings, transcript)
    if similarity is None or similarity < settings.monologue_similarity:
        return None
    other = other_voice_probe(audio, settings, transcript)
    if other >= settings.monologue_other_voice_seconds:
        return None
    return single_speaker(transcript, f"monologue detected (min probe cosine {similarity:.2f}, "
                                      f"{other:.1f} s of another voice)")
