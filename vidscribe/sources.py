"""Sources: what a channel, playlist, feed, folder or single file contains, as `VideoInfo`s, before any download.

Why enumerate first: a backfill compares the list against the database (the download archive) and fetches only
what is not done yet, so a second run over the same channel downloads nothing.

The source_id scheme (the archive key) is `<yt-dlp extractor, lower case>:<id>`, the same string `fetch`
reports after a download, e.g. `youtube:dQw4w9WgXcQ` or, for a podcast episode, `generic:<the item's guid>`;
a local file is `file:<sha256 of its bytes>`. yt-dlp's flat entries of a feed carry neither id nor extractor:
the guid travels inside the entry URL (yt-dlp "smuggles" it into the URL fragment, which no server sees),
so `VideoInfo.url` keeps that fragment and a later `fetch(info.url)` reports the same id. Pass the `VideoInfo`
to `fetch(..., known=info)` as well: its title and date are the feed's, which a bare download cannot know.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from yt_dlp.extractor import gen_extractor_classes
from yt_dlp.extractor.generic import GenericIE
from yt_dlp.utils import float_or_none, unsmuggle_url

from vidscribe import ytdlp
from vidscribe.audio import file_sha256
from vidscribe.errors import BadInputError
from vidscribe.video import VideoInfo
from vidscribe.settings import Settings

Order = Literal["newest", "oldest"]
log = logging.getLogger(__name__)

#: What a folder's media files end with (ffmpeg decodes all of them).
MEDIA_EXTENSIONS = frozenset({
    ".mp3", ".m4a", ".aac", ".wav", ".flac", ".ogg", ".oga", ".opus", ".wma", ".aiff",
    ".mp4", ".m4v", ".mkv", ".webm", ".mov", ".avi", ".wmv", ".flv", ".mpg", ".mpeg", ".ts", ".3gp",
})
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/")


def is_url(source: str) -> bool:
    return urlparse(source).scheme in ("http", "https")


def check_url(source: str) -> None:
    """Reject what is meant as a URL but cannot be one ("htp:/x", "http://"), before it reaches yt-dlp."""
    parsed = urlparse(source)
    if is_url(source) and not parsed.hostname:
        raise BadInputError(f"{source!r}: not a valid URL (no host); give one like https://host/path")
    if not is_url(source) and _SCHEME.match(source) and not Path(source).exists():
        raise BadInputError(f"{source!r}: not a valid URL (scheme {parsed.scheme!r}); use http:// or https://")


def local_info(path: Path) -> VideoInfo:
    """A local file is identified by its content, so renaming or moving it does not make a new video."""
    resolved = path.resolve()
    modified = datetime.fromtimestamp(resolved.stat().st_mtime, tz=timezone.utc)
    return VideoInfo(source_id=f"file:{file_sha256(resolved)}", url=resolved.as_uri(), title=resolved.stem,
                     published_at=modified)


def _text(value: Any) -> str | None:
    """A metadata value as text (NUL bytes dropped: PostgreSQL text cannot hold them), or None when missing,
    empty or not a scalar: extractors are not always tidy, and one odd entry must not fail a whole channel."""
    if value is None or isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return str(value).replace("\x00", "") or None


def source_id(meta: dict[str, Any], fallback_url: str = "") -> str:
    """`<extractor>:<id>` of a downloaded info dict or of a flat playlist entry (see the module docstring).

    Raises `BadInputError` when neither yt-dlp nor the URL gives an id (the archive key would be empty).
    """
    url = _text(meta.get("url")) or _text(meta.get("webpage_url")) or fallback_url
    extractor = _text(meta.get("extractor_key")) or _text(meta.get("ie_key"))
    video_id = _text(meta.get("id"))
    if not (extractor and video_id):
        # The extractor yt-dlp will pick for the URL: the first suitable one, Generic last.
        ie = next(ie for ie in gen_extractor_classes() if ie.suitable(url))
        extractor = extractor or ie.ie_key()
        video_id = video_id or _text(ie.get_temp_id(url)) or _generic_id(url)
    if not video_id:
        raise BadInputError(f"{url or 'an entry without a URL'}: yt-dlp gives it no id; give the video's own URL")
    return f"{extractor.lower()}:{video_id}"


def _generic_id(url: str) -> str:
    """The id yt-dlp's generic extractor gives a URL: the smuggled feed guid, else the file name's stem."""
    try:
        plain, smuggled = unsmuggle_url(url, {})
        guid = _text(smuggled.get("force_videoid"))
    except (ValueError, AttributeError):  # a malformed smuggle fragment in a hand-written URL
        plain, guid = url.split("#", 1)[0], None
    return guid or (_text(GenericIE._generic_id(plain)) or "")


def _published(meta: dict[str, Any]) -> datetime | None:
    """When the video was published (UTC); None when no date is given or it cannot be read (kept as undated)."""
    for key in ("timestamp", "release_timestamp"):
        try:
            if meta.get(key) and not isinstance(meta[key], bool):  # 0 means unknown, as in yt-dlp
                return datetime.fromtimestamp(meta[key], tz=timezone.utc)
        except (TypeError, ValueError, OverflowError, OSError):
            pass
    for key in ("upload_date", "release_date"):
        try:
            if meta.get(key):
                return datetime.strptime(meta[key], "%Y%m%d").replace(tzinfo=timezone.utc)
        except (TypeError, ValueError):
            pass
    return None


def _seconds(value: Any) -> float | None:
    """A duration in seconds, or None when missing or not a finite, non-negative number."""
    number = float_or_none(value) if not isinstance(value, bool) else None
    return number if number is not None and math.isfinite(number) and number >= 0 else None


def info_from_ytdlp(meta: dict[str, Any], fallback_url: str) -> VideoInfo:
    """Map yt-dlp's info dict (any extractor, downloaded or a flat entry) onto our video metadata.

    Odd values (wrong types, unreadable dates) become None; only a missing id raises (`BadInputError`).
    """
    url = _text(meta.get("webpage_url")) or _text(meta.get("url")) or _text(meta.get("original_url")) or fallback_url
    return VideoInfo(
        source_id=source_id(meta, fallback_url),
        url=url,
        title=_text(meta.get("title")) or _text(meta.get("id")) or fallback_url,
        channel_url=_text(meta.get("channel_url")) or _text(meta.get("uploader_url"))
        or _text(meta.get("playlist_webpage_url")),
        channel_name=_text(meta.get("channel")) or _text(meta.get("uploader")) or _text(meta.get("playlist_title")),
        published_at=_published(meta),
        duration=_seconds(meta.get("duration")),
    )


def _entry_info(entry: dict[str, Any], playlist: dict[str, Any]) -> VideoInfo:
    """A flat entry inherits the channel from its playlist (a feed's channel is the feed URL itself)."""
    channel = {
        "playlist_webpage_url": playlist.get("channel_url") or playlist.get("uploader_url")
        or playlist.get("webpage_url"),
        "playlist_title": playlist.get("channel") or playlist.get("uploader") or playlist.get("title"),
    }
    return info_from_ytdlp({**channel, **entry}, entry["url"])


def flat_entries(playlist: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(entry, the playlist that lists it) for every video of a flat listing, nested playlists included.

    A YouTube channel's root URL comes back as a playlist of its tabs (Videos, Shorts, Live), each a playlist
    of flat entries; a feed or a playlist is one level. Entries without a URL (a deleted video) are skipped.
    """
    for entry in playlist.get("entries") or []:
        if not isinstance(entry, dict):
            continue
        if entry.get("_type") == "playlist":
            yield from flat_entries(entry)
        elif entry.get("url"):
            yield entry, playlist


def _remote_infos(url: str, settings: Settings) -> list[VideoInfo]:
    with ytdlp.session(settings, extract_flat="in_playlist") as ydl:
        meta = ytdlp.extract(ydl, lambda y: y.extract_info(url, download=False), url, settings)
    if meta.get("_type") != "playlist":
        return [info_from_ytdlp(meta, url)]
    return [_entry_info(entry, playlist) for entry, playlist in flat_entries(meta)]


def resolve_dates(infos: list[VideoInfo], settings: Settings) -> list[VideoInfo]:
    """Entries with a publication date, looked up one by one (metadata only) for those the listing left undated.

    Why: a date filter must not let an undated entry through unseen, nor drop it unseen. yt-dlp's flat
    listings of most sites date every entry (feeds; YouTube with `approximate_date`), so this is rarely a
    request; an entry whose date still cannot be found stays undated and is left out by the filter (and
    counted, see `select`).
    """
    undated = [i for i in infos if i.published_at is None]
    if not undated:
        return infos
    found: dict[str, VideoInfo] = {}
    with ytdlp.session(settings) as ydl:
        for info in undated:
            try:
                meta = ytdlp.extract(ydl, lambda y, u=info.url: y.extract_info(u, download=False, process=False),
                                     info.url, settings)
            except BadInputError as exc:  # the entry itself is broken: its fetch will say so; it stays undated
                log.warning("no publication date for %s: %s", info.source_id, exc)
                continue
            published = _published(meta)
            if published is not None:
                found[info.source_id] = dataclasses.replace(info, published_at=published)
    return [found.get(i.source_id, i) for i in infos]


def _local_infos(path: Path) -> list[VideoInfo]:
    if path.is_file():
        return [local_info(path)]
    if path.is_dir():
        return [local_info(p) for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in MEDIA_EXTENSIONS]
    raise BadInputError(f"{path}: no such file or folder; give a media file, a folder of them, or an http(s) URL")


@dataclass(frozen=True)
class Selection:
    """The videos a backfill takes, and what the listing held that it does not take, for its summary."""

    videos: list[VideoInfo]
    undated_left_out: int = 0  # entries without any publication date, left out by since/until
    duplicates: int = 0  # entries listed twice under one archive key (kept once)
    shared_ids: int = 0  # entries that shared another's id but not its media (kept, under a key of their own)

    def note(self) -> str:
        """What a person should know about the listing (empty when nothing was left out)."""
        parts = []
        if self.undated_left_out:
            parts.append(f"{self.undated_left_out} entries without a publication date left out by --since/--until")
        if self.duplicates:
            parts.append(f"{self.duplicates} entries listed twice (same id) kept once")
        if self.shared_ids:
            parts.append(f"{self.shared_ids} entries shared another's id (feed guid) with other media: kept, "
                         "under the id and a hash of their media URL")
        return "; ".join(parts)


def select(infos: list[VideoInfo], since: date | None = None, until: date | None = None, limit: int | None = None,
           order: Order = "newest") -> Selection:
    """Deduplicate (first wins), filter by publication day (inclusive), sort, then keep the first `limit`.

    Without since/until, entries without a date are kept and sort after the dated ones in either order. With
    either, an entry without a date cannot be placed, so it is left out and counted in the selection's note
    (`resolve_dates` first looks each one up).
    """
    infos, shared = tell_apart(infos)
    first: dict[str, VideoInfo] = {}
    for info in infos:
        first.setdefault(info.source_id, info)
    filtered = since is not None or until is not None
    kept = [info for info in first.values() if (info.published_at is None and not filtered) or (
        info.published_at is not None
        and (since is None or info.published_at.date() >= since)
        and (until is None or info.published_at.date() <= until))]
    dated = sorted((i for i in kept if i.published_at), key=lambda i: i.published_at, reverse=order == "newest")
    ordered = dated + [i for i in kept if i.published_at is None]
    undated = sum(i.published_at is None for i in first.values()) if filtered else 0
    return Selection(ordered[:limit] if limit is not None else ordered, undated, len(infos) - len(first), shared)


def tell_apart(infos: list[VideoInfo]) -> tuple[list[VideoInfo], int]:
    """Give entries that share an id but not a media URL keys of their own; returns them and how many keys that made.

    Feeds in the wild reuse a `<guid>` for different episodes (a template's placeholder, a re-upload under the
    old guid). Keeping the first would drop the others without a word. Of the entries sharing an id, the one
    with the smallest URL keeps it (so the key does not depend on the feed's order), the others get
    `<id>#<10 hex digits of the URL's SHA-1>`: stable from one backfill to the next. Entries with the same URL
    too are the same episode listed twice: `select` keeps one.
    """
    urls: dict[str, set[str]] = {}
    for info in infos:
        urls.setdefault(info.source_id, set()).add(info.url)
    keeper = {key: min(found) for key, found in urls.items() if len(found) > 1}
    renamed = [info if info.source_id not in keeper or info.url == keeper[info.source_id] else dataclasses.replace(
        info, source_id=f"{info.source_id}#{hashlib.sha1(info.url.encode()).hexdigest()[:10]}") for info in infos]
    return renamed, len({b.source_id for a, b in zip(infos, renamed) if a is not b})


def enumerate_source(source: str, settings: Settings, since: date | None = None, until: date | None = None,
                     limit: int | None = None, order: Order = "newest") -> Selection:
    """The videos of a URL (channel, playlist, feed or one video; nothing is downloaded) or of a local path.

    With since/until, entries the listing left undated are looked up one by one; those still undated are
    left out and counted (`Selection.note`). A YouTube channel's root URL lists all its tabs (videos,
    shorts, live recordings); give its `/videos` URL for the uploads alone.
    """
    check_url(source)
    remote = is_url(source)
    infos = _remote_infos(source, settings) if remote else _local_infos(Path(source).expanduser())
    if remote and (since is not None or until is not None):
        infos = resolve_dates(infos, settings)
    return select(infos, since, until, limit, order)
