"""Decode: any media becomes one 16 kHz mono float32 waveform, cached on disk by content hash.

Why: every model (Whisper, pyannote, the speaker encoder) needs the same waveform; decoding once and handing the
array to each model in memory removes the repeated work. The decoded array is kept as `<sha256>.npy`, so a
retried or resumed run memory-maps it instead of decoding again (it is this stage's cache: Prefect's result
cache would only store a pointer to it, so the task is retryable but not result-cached). ffmpeg's output is
streamed into that file chunk by chunk, so decoding a 3-hour recording needs no more memory than a 3-minute one.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path
from typing import BinaryIO

import numpy as np

from vidscribe.audio import SAMPLE_RATE, AudioRef, Level, check_media_file, file_sha256, stream_decode
from vidscribe.errors import BadInputError
from vidscribe.settings import Settings

#: Below this RMS (about -60 dBFS) a recording is treated as silent: there is nothing to transcribe.
SILENCE_RMS = 1e-3


def check_audible(source: str, level: Level) -> None:
    """Reject silent recordings early, before any model spends time on them."""
    if level.samples < SAMPLE_RATE // 10:
        raise BadInputError(f"{source}: shorter than 0.1 s of audio; nothing to transcribe")
    if level.rms < SILENCE_RMS:
        raise BadInputError(f"{source}: the recording is silent (RMS {level.rms:.1e}); nothing to transcribe")


def npy_header(samples: int) -> bytes:
    """The `.npy` header of a 1-D float32 array of `samples` values, as `np.save` writes it."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (samples,)})
    return header.getvalue()


def write_npy(source: Path, handle: BinaryIO) -> Level:
    """Stream-decode `source` into `handle` as a `.npy` file, byte for byte what `np.save` would write.

    The header holds the array's length, unknown until ffmpeg ends: a placeholder of the same size is
    written first and overwritten at the end (numpy pads every 1-D float32 header to the same 128 bytes).
    """
    placeholder = npy_header(0)
    handle.write(placeholder)
    level = stream_decode(source, handle)
    check_audible(str(source), level)
    header = npy_header(level.samples)
    if len(header) != len(placeholder):
        raise RuntimeError(f"npy header size changed ({len(placeholder)} -> {len(header)} bytes)")
    handle.seek(0)
    handle.write(header)
    return level


def decode(source: Path, cache_dir: Path) -> AudioRef:
    """Decode `source` once; a later call for the same content reuses the cached samples."""
    source = Path(source)
    check_media_file(source)
    sha = file_sha256(source)
    cached = cache_dir / f"{sha}.npy"
    note_file = cached.with_suffix(".note.txt")  # kept beside the samples: a cached decode says it again
    if cached.exists():
        samples = len(np.load(cached, mmap_mode="r"))
    else:
        cache_dir.mkdir(parents=True, exist_ok=True)
        # unique per writer: two workers decoding the same content at once each write their own file, and
        # the atomic rename lets the last one win with identical bytes
        partial = cached.with_suffix(f".{os.getpid()}-{threading.get_ident()}.partial.npy")
        try:
            with partial.open("wb") as handle:
                level = write_npy(source, handle)
        except BaseException:
            partial.unlink(missing_ok=True)  # bad or silent input leaves nothing in the cache
            raise
        samples = level.samples
        if note := level.ended_early(str(source)):
            note_file.write_text(note, encoding="utf-8")
        partial.replace(cached)  # atomic: a crash never leaves a truncated cache entry
    note = note_file.read_text(encoding="utf-8") if note_file.exists() else ""
    return AudioRef(source=str(source), sha256=sha, path=cached, duration=samples / SAMPLE_RATE, note=note)


def decode_recording(path: Path, settings: Settings) -> AudioRef:
    """The stage: decode the fetched file into the settings' audio cache."""
    return decode(path, settings.audio_cache_dir)
