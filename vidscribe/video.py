"""What a source tells about a video before it is processed: the archive key, where it is, its metadata."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class VideoInfo:
    """A video as yt-dlp or a local file describes it; `source_id` is the archive key (see `vidscribe.sources`)."""

    source_id: str
    url: str
    title: str
    channel_url: str | None = None
    channel_name: str | None = None
    published_at: datetime | None = None
    duration: float | None = None
