"""Decode: the fetched media becomes one in-memory-ready 16 kHz mono waveform (see `vidscribe.audio`).

Its cache is the decoded file itself, keyed by content hash: Prefect's result cache would only store a
pointer to it, so this task is retryable but not result-cached.
"""

from __future__ import annotations

from pathlib import Path

from vidscribe.audio import AudioRef, decode
from vidscribe.settings import Settings
from vidscribe.stage_task import retryable_task


def decode_audio(path: Path, settings: Settings) -> AudioRef:
    return decode(path, settings.audio_cache_dir)


decode_task = retryable_task(decode_audio, "decode")
