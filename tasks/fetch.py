"""Fetch: turn a source (a local media file or any URL yt-dlp reads) into a local audio file plus metadata.

Why yt-dlp for every URL: YouTube videos, playlists, channels and podcast feeds all come through one
extractor API with one metadata shape, and audio-only formats keep downloads small. Enumerating a channel
lives in `vidscribe.sources`; retries, pacing and error sorting in `vidscribe.ytdlp`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from yt_dlp import YoutubeDL

from vidscribe import ytdlp
from vidscribe.audio import BadInputError
from vidscribe.db import VideoInfo
from vidscribe.settings import Settings
from vidscribe.sources import check_url, info_from_ytdlp, is_url, local_info
from vidscribe.stage_task import retryable_task

__all__ = ["Fetched", "download", "fetch", "fetch_task", "info_from_ytdlp", "is_url", "local_info"]


@dataclass(frozen=True)
class Fetched:
    path: Path
    info: VideoInfo


def download(url: str, settings: Settings) -> Fetched:
    """Download the best audio-only format into `<data_dir>/downloads/<extractor>/<id>.<ext>`.

    File names come from ids, never titles, and `restrictfilenames` keeps them ASCII without separators, so a
    title or guid with slashes, `..` or emoji cannot escape the folder. An existing file is overwritten: a
    re-fetch means the last attempt failed, maybe on a corrupt upload since fixed. A playlist URL is refused here
    (it would download every entry in one task): enumerate it with `vidscribe.sources` instead.
    """
    folder = settings.data_dir / "downloads"

    def extract_and_download(ydl: YoutubeDL) -> tuple[dict[str, Any], Path]:
        meta = ydl.extract_info(url, download=False, process=False)
        if meta.get("_type") == "playlist":
            raise BadInputError(f"{url}: is a playlist, channel or feed, not one video; backfill it instead")
        meta = ydl.process_ie_result(meta, download=True)
        return meta, Path(ydl.prepare_filename(meta))

    meta, path = ytdlp.run(extract_and_download, url, settings, format="bestaudio/best", noplaylist=True,
                           overwrites=True, restrictfilenames=True,
                           outtmpl=str(folder / "%(extractor_key)s" / "%(id).80B.%(ext)s"))
    return Fetched(path=path, info=info_from_ytdlp(meta, url))


def _merge(downloaded: VideoInfo, known: VideoInfo | None) -> VideoInfo:
    """The enumerated metadata wins: a feed knows an episode's title and date, its bare file does not,
    and its source_id is the archive key the backfill already matched against the database."""
    if known is None:
        return downloaded
    return dataclasses.replace(downloaded, **{k: v for k, v in dataclasses.asdict(known).items() if v is not None})


def fetch(source: str, settings: Settings, known: VideoInfo | None = None) -> Fetched:
    """The stage: a local path is used in place; a URL is downloaded. `known`: the enumerated entry, if any."""
    if source.startswith("file://"):  # what local videos store as their URL (and what a retry gets back)
        source = url2pathname(urlparse(source).path)
    check_url(source)
    if is_url(source):
        fetched = download(source, settings)
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise BadInputError(f"{source}: no such file; give an existing media file or an http(s) URL")
        fetched = Fetched(path=path, info=local_info(path))
    return dataclasses.replace(fetched, info=_merge(fetched.info, known))


fetch_task = retryable_task(fetch, "fetch")
