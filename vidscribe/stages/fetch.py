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

from vidscribe import ytdlp
from vidscribe.audio import check_media_path
from vidscribe.errors import BadInputError
from vidscribe.video import VideoInfo
from vidscribe.settings import Settings
from vidscribe.sources import check_url, info_from_ytdlp, is_url, local_info


@dataclass(frozen=True)
class Fetched:
    path: Path
    info: VideoInfo


def download(url: str, settings: Settings) -> Fetched:
    """Download the best audio-only format into `<data_dir>/downloads/<extractor>/<id>.<ext>`.

    File names come from ids, never titles, and `restrictfilenames` keeps them ASCII without separators, so a
    title or guid with slashes, `..` or emoji cannot escape the folder. An existing file is overwritten: a
    re-fetch means the last attempt failed, maybe on a corrupt upload since fixed. A playlist URL is refused here
    (it would download every entry in one task): enumerate it with `vidscribe.sources` instead. So is a live
    stream still running (its download would never end) or not yet started.

    Extraction and download are retried by different layers (see `vidscribe.ytdlp`): a failed download is
    retried by yt-dlp's downloader, never by extracting the page again.
    """
    folder = settings.data_dir / "downloads"
    with ytdlp.session(settings, format="bestaudio/best", noplaylist=True, overwrites=True, restrictfilenames=True,
                       outtmpl=str(folder / "%(extractor_key)s" / "%(id).80B.%(ext)s")) as ydl:
        # extraction, without processing first: a playlist must be refused before its entries are extracted
        meta = ytdlp.extract(ydl, lambda y: y.extract_info(url, download=False, process=False), url, settings)
        if meta.get("_type") == "playlist":
            raise BadInputError(f"{ytdlp.shown_url(url)}: is a playlist, channel or feed, not one video; "
                                "backfill it instead")
        # the rest of the extraction (a link to the video's own page is followed) and the format choice
        meta = ytdlp.extract(ydl, lambda y: y.process_ie_result(meta, download=False), url, settings)
        refuse_live(meta, url)
        # the download alone, as yt-dlp does for a saved info file: no page is requested again
        meta = ytdlp.download(ydl, lambda y: y.process_ie_result(meta, download=True), url, settings)
        return Fetched(path=Path(ydl.prepare_filename(meta)), info=info_from_ytdlp(meta, url))


#: yt-dlp's `live_status` values whose media cannot be downloaded as a finished recording yet
NOT_RECORDED_YET = {
    "is_live": "is a live stream in progress; ingest it once the stream has ended (`vidscribe retry` then)",
    "is_upcoming": "is a scheduled live stream that has not started; ingest it once it has ended",
    "post_live": "is a live stream that just ended and is still being processed by the site; try again later",
}


def refuse_live(meta: dict[str, Any], url: str) -> None:
    """Refuse a stream that is live, upcoming or still processing: downloading it would never end, or fail."""
    status = meta.get("live_status") or ("is_live" if meta.get("is_live") else None)
    if status in NOT_RECORDED_YET:
        raise BadInputError(f"{ytdlp.shown_url(url)}: {NOT_RECORDED_YET[status]}")


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
        check_media_path(path)
        fetched = Fetched(path=path, info=local_info(path))
    return dataclasses.replace(fetched, info=_merge(fetched.info, known))

