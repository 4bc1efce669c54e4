"""Audio as every model gets it: 16 kHz mono float32, decoded by the ffmpeg binary and streamed.

Why the ffmpeg binary and not torchcodec: torchcodec's FFmpeg linkage broke pyannote 4 for our predecessors;
here every model gets an array in memory. `AudioRef` is a decoded recording in the cache (made by the decode
stage, `vidscribe.stages.decode`); `decode_to_array` decodes a short file straight into memory.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from vidscribe.errors import BadInputError

SAMPLE_RATE = 16_000
#: ffmpeg output read (and written to the cache) per step: 256 Ki samples, 1 MiB; decoding's memory bound
STREAM_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class AudioRef:
    """A decoded recording: where its samples are cached and what identifies its content."""

    source: str
    sha256: str
    path: Path
    duration: float
    sample_rate: int = SAMPLE_RATE
    note: str = ""  # what the archive should say about the decoding, e.g. that the media ended early

    def load(self) -> np.ndarray:
        """The waveform, memory-mapped read-only (no copy until a model needs one)."""
        return np.load(self.path, mmap_mode="r")

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """A float32 copy of samples `[start, stop)`, through a memory map released on return.

        Why not slice one long-lived `load()`: every page a map has touched counts towards the process's
        resident memory for as long as the map lives, so reading a long recording window by window through
        one map would end with all of it resident. A map per read holds only the window being copied.
        """
        return np.array(self.load()[start:stop], dtype=np.float32)


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


def ffmpeg_command(source: Path) -> list[str]:
    """ffmpeg writing `source` to stdout as raw 16 kHz mono float32 (the cache file's payload).

    Log level info: its report (to a temporary file) includes the duration the container declares, which tells a
    recording cut short (a truncated download) from a short one."""
    return [ffmpeg_binary(), "-nostdin", "-hide_banner", "-nostats", "-loglevel", "info", "-i", str(source),
            "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "-acodec", "pcm_f32le", "-"]


@dataclass(frozen=True)
class Level:
    """What the silence checks need, accumulated while the samples stream past (never all in memory)."""

    samples: int
    sum_squares: float
    declared_seconds: float | None = None  # what the container says it holds (None: it does not say)

    @property
    def rms(self) -> float:
        return float(np.sqrt(self.sum_squares / self.samples)) if self.samples else 0.0

    def ended_early(self, source: str) -> str:
        """A note when far fewer samples were decoded than the container declares (more than 2 s and 5% short):
        a truncated download or copy. What was there is still transcribed; the note says so."""
        decoded = self.samples / SAMPLE_RATE
        declared = self.declared_seconds
        if declared is None or declared - decoded <= max(2.0, 0.05 * declared):
            return ""
        return (f"{source}: the media ended early ({decoded:.1f} s of the {declared:.1f} s it declares; a truncated "
                "file?); what was there is stored; replace the file and ingest it again with --force")


#: ffmpeg's report of an input's length, e.g. "  Duration: 00:00:40.10, start: 0.069063, bitrate: 32 kb/s"
_DURATION = re.compile(rb"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")


def declared_duration(report: bytes) -> float | None:
    """The first input's duration from ffmpeg's report, or None ("Duration: N/A", or no report)."""
    found = _DURATION.search(report)
    if found is None:
        return None
    hours, minutes, seconds = found.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def check_media_path(source: Path) -> None:
    """A local media path that exists and is a file; else bad input naming the fix."""
    if not source.exists():
        if source.is_symlink():  # exists() follows links: a loop or a dangling link reads as missing
            raise BadInputError(f"{source}: is a symbolic link that leads nowhere (a loop or a missing target); "
                                "point it at a media file")
        raise BadInputError(f"{source}: no such file; check the path")
    if source.is_dir():
        raise BadInputError(f"{source}: is a folder; give a media file, or `vidscribe backfill {source}` to "
                            "ingest every media file in it")
    if not os.access(source, os.R_OK):
        raise BadInputError(f"{source}: cannot be read (permission denied); let this user read it "
                            f"(e.g. `chmod a+r`) or run vidscribe as its owner")


def check_media_file(source: Path) -> None:
    """`check_media_path`, and the file is not empty (an empty file still has an identity: it is recorded)."""
    check_media_path(source)
    if source.stat().st_size == 0:
        raise BadInputError(f"{source}: the file is empty (0 bytes); re-download it")


def stream_decode(source: Path, sink: BinaryIO) -> Level:
    """Decode `source` with ffmpeg into `sink` as raw float32, `STREAM_CHUNK_BYTES` at a time.

    Why streamed: a 3-hour recording is 690 MB of float32; reading ffmpeg's whole output into memory (and
    then copying it into an array and a file) made decoding's peak memory grow with the recording. Here it
    stays at one chunk. ffmpeg's error output goes to a temporary file, not a pipe, so a file that makes it
    print an error per frame cannot fill the pipe and stall both processes.
    """
    check_media_file(source)
    samples, sum_squares = 0, 0.0
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(ffmpeg_command(source), stdout=subprocess.PIPE, stderr=errors)
        assert proc.stdout is not None  # stdout=PIPE
        try:
            while block := proc.stdout.read(STREAM_CHUNK_BYTES):
                chunk = np.frombuffer(block, dtype=np.float32)
                samples += chunk.size
                sum_squares += float(np.square(chunk, dtype=np.float64).sum())
                sink.write(block)
        finally:
            proc.stdout.close()  # an early exit (a full disk) must not leave ffmpeg blocked on the pipe
            returncode = proc.wait()
        errors.seek(0)
        report = errors.read()
        if returncode != 0:
            reason = report.decode(errors="replace").strip().splitlines()
            detail = reason[-1] if reason else f"ffmpeg exit code {returncode}"
            if "does not contain any stream" in detail:  # ffmpeg found no audio stream to write
                raise BadInputError(f"{source}: contains no audio stream (a video without sound?); give a file with "
                                    "sound")
            raise BadInputError(f"{source}: not a readable audio or video file ({detail}); check the file is media")
    if samples == 0:
        raise BadInputError(f"{source}: contains no audio stream; give a file with sound")
    return Level(samples, sum_squares, declared_duration(report))


def decode_to_array(source: Path) -> np.ndarray:
    """16 kHz mono float32 samples of a short file, in memory (speech snippets, references)."""
    buffer = io.BytesIO()
    stream_decode(Path(source), buffer)
    return np.frombuffer(buffer.getbuffer(), dtype=np.float32).copy()
