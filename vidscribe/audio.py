"""Decode any media once into 16 kHz mono float32, cached on disk by content hash.

Why: every model (Whisper, pyannote, the speaker encoder) needs the same waveform. Decoding once with the
ffmpeg binary (not torchcodec, whose FFmpeg linkage broke pyannote 4 for our predecessors) and handing the
array to each model in memory removes both the repeated work and that failure mode. The decoded array is
kept as `<sha256>.npy` so a retried or resumed run memory-maps it instead of decoding again.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000
#: Below this RMS (about -60 dBFS) a recording is treated as silent: there is nothing to transcribe.
SILENCE_RMS = 1e-3


class BadInputError(ValueError):
    """The input cannot be processed; the message names the input and how to fix it."""


@dataclass(frozen=True)
class AudioRef:
    """A decoded recording: where its samples are cached and what identifies its content."""

    source: str
    sha256: str
    path: Path
    duration: float
    sample_rate: int = SAMPLE_RATE

    def load(self) -> np.ndarray:
        """The waveform, memory-mapped read-only (no copy until a model needs one)."""
        return np.load(self.path, mmap_mode="r")


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def ffmpeg_binary() -> str:
    """The ffmpeg executable: the system one, else the static one `imageio-ffmpeg` ships."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except ImportError as exc:
        raise BadInputError("ffmpeg was not found: install it (apt-get install ffmpeg) and retry") from exc


def decode_to_array(source: Path) -> np.ndarray:
    """Run ffmpeg and return 16 kHz mono float32 samples; errors name the file and the fix."""
    if not source.exists():
        raise BadInputError(f"{source}: no such file; check the path")
    if source.is_dir():
        raise BadInputError(f"{source}: is a folder; give a media file (or use `vidscribe backfill` for folders)")
    if source.stat().st_size == 0:
        raise BadInputError(f"{source}: the file is empty (0 bytes); re-download it")
    cmd = [ffmpeg_binary(), "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(source),
           "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "-acodec", "pcm_f32le", "-"]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        reason = proc.stderr.decode(errors="replace").strip().splitlines()
        detail = reason[-1] if reason else f"ffmpeg exit code {proc.returncode}"
        raise BadInputError(f"{source}: not a readable audio or video file ({detail}); check the file is media")
    samples = np.frombuffer(proc.stdout, dtype=np.float32)
    if samples.size == 0:
        raise BadInputError(f"{source}: contains no audio stream; give a file with sound")
    return samples


def check_audible(source: str, samples: np.ndarray) -> None:
    """Reject silent recordings early, before any model spends time on them."""
    if samples.size < SAMPLE_RATE // 10:
        raise BadInputError(f"{source}: shorter than 0.1 s of audio; nothing to transcribe")
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    if rms < SILENCE_RMS:
        raise BadInputError(f"{source}: the recording is silent (RMS {rms:.1e}); nothing to transcribe")


def decode(source: Path, cache_dir: Path) -> AudioRef:
    """Decode `source` once; a later call for the same content reuses the cached samples."""
    source = Path(source)
    if not source.exists():
        raise BadInputError(f"{source}: no such file; check the path")
    sha = file_sha256(source) if source.is_file() else ""
    cached = cache_dir / f"{sha}.npy"
    if sha and cached.exists():
        samples = np.load(cached, mmap_mode="r")
    else:
        samples = decode_to_array(source)
        check_audible(str(source), samples)
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".partial.npy")
        np.save(partial, samples)
        partial.replace(cached)  # atomic: a crash never leaves a truncated cache entry
    return AudioRef(source=str(source), sha256=sha, path=cached, duration=len(samples) / SAMPLE_RATE)
