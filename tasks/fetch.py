"""Fetch: turn a source (a local media file or any URL yt-dlp reads) into a local audio file plus metadata.

Why yt-dlp for every URL: YouTube videos, playlists, channels and podcast feeds all come through one
extractor API with one metadata shape, and audio-only formats keep downloads small.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from yt_dlp import YoutubeDL
from yt_dlp.utils import DownloadError

from vidscribe.audio import BadInputError, file_sha256
from vidscribe.db import VideoInfo
from vidscribe.settings import Settings
from vidscribe.stage_task import retryable_task

#: yt-dlp messages that no retry will fix
PERMANENT_ERRORS = ("HTTP Error 404", "HTTP Error 410", "Private video", "Video unavailable", "has been removed",
                    "Unsupported URL", "is not a valid URL")


@dataclass(frozen=True)
class Fetched:
    path: Path
    info: VideoInfo


def is_url(source: str) -> bool:
    return urlparse(source).scheme in ("http", "https")


def local_info(path: Path) -> VideoInfo:
    """A local file is identified by its content, so renaming or moving it does not make a new video."""
    resolved = path.resolve()
    modified = datetime.fromtimestamp(resolved.stat().st_mtime, tz=timezone.utc)
    return VideoInfo(source_id=f"file:{file_sha256(resolved)}", url=resolved.as_uri(), title=resolved.stem,
                     published_at=modified)


def info_from_ytdlp(meta: dict[str, Any], fallback_url: str) -> VideoInfo:
    """Map yt-dlp's info dict (any extractor) onto our video metadata."""
    timestamp = meta.get("timestamp") or meta.get("release_timestamp")
    published = datetime.fromtimestamp(timestamp, tz=timezone.utc) if timestamp else None
    if published is None and meta.get("upload_date"):
        published = datetime.strptime(meta["upload_date"], "%Y%m%d").replace(tzinfo=timezone.utc)
    return VideoInfo(
        source_id=f"{str(meta.get('extractor_key') or meta.get('extractor') or 'url').lower()}:{meta['id']}",
        url=meta.get("webpage_url") or meta.get("original_url") or fallback_url,
        title=meta.get("title") or str(meta["id"]),
        channel_url=meta.get("channel_url") or meta.get("uploader_url") or meta.get("playlist_webpage_url"),
        channel_name=meta.get("channel") or meta.get("uploader") or meta.get("playlist_title"),
        published_at=published,
        duration=meta.get("duration"),
    )


def download(url: str, settings: Settings) -> Fetched:
    """Download the best audio-only format with yt-dlp into the data folder."""
    options = {
        "format": "bestaudio/best",
        "outtmpl": str(settings.data_dir / "downloads" / "%(extractor_key)s" / "%(id)s.%(ext)s"),
        "restrictfilenames": True,  # titles never become paths: ids only, ASCII only
        "noplaylist": True,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
    }
    try:
        with YoutubeDL(options) as ydl:
            meta = ydl.extract_info(url, download=True)
            path = Path(ydl.prepare_filename(meta))
    except DownloadError as exc:
        message = str(exc).removeprefix("ERROR: ")
        if any(marker in message for marker in PERMANENT_ERRORS):
            raise BadInputError(f"{url}: cannot be downloaded ({message}); check the URL") from None
        raise
    return Fetched(path=path, info=info_from_ytdlp(meta, url))


def fetch(source: str, settings: Settings) -> Fetched:
    """The stage: a local path is used in place; a URL is downloaded."""
    if is_url(source):
        return download(source, settings)
    path = Path(source).expanduser()
    if not path.is_file():
        raise BadInputError(f"{source}: no such file; give an existing media file or an http(s) URL")
    return Fetched(path=path, info=local_info(path))


fetch_task = retryable_task(fetch, "fetch")
