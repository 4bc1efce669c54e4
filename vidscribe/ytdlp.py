"""One way to run yt-dlp: quiet, paced, retried once per request, with errors sorted into transient and permanent.

Why here and not in each caller: enumerating a channel and downloading one video hit the same hosts with the
same cookies, so they share pacing, the retry policy and the rule for which errors deserve a retry.

The retry policy: every request is retried by exactly one layer, never by several nested ones.
- The media download (the file's body, or its fragments): yt-dlp's downloader retries server errors (5xx),
  time-outs and cut connections, `VIDSCRIBE_FETCH_RETRIES` times with exponential backoff from
  `VIDSCRIBE_FETCH_RETRY_SECONDS`, resuming where the file stopped. vidscribe does not repeat it: a repeat
  would extract the page again (on YouTube, solve its challenges again) for a file already half fetched.
- Extraction (the page, feed or API requests before any download): vidscribe's loop in `extract`, the same
  number of times with the same backoff, because yt-dlp's generic extractor does not retry at all;
  `extractor_retries` is 0, so YouTube's extractor adds no retries of its own on top.
- Prefect: none. When these retries are spent the fetch fails with one line (`FetchError`, or
  `UnreachableError` when the host could not be reached at all), which Prefect does not retry; the video is
  recorded as failed and the next backfill or `vidscribe retry` tries it again.
Errors that no retry can fix (404, private video, a web page instead of media) fail at once.

Secrets: yt-dlp's `--verbose` debug lines print its whole configuration, so the logger drops debug output; the
cookies file is checked when settings load (see `Settings.cookies_file`), so yt-dlp never reaches its
warning that echoes a malformed cookie line; cookie loading errors are reported without their chained cause.
"""

from __future__ import annotations

import errno
import logging
import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlparse
from xml.etree import ElementTree

from yt_dlp import YoutubeDL
from yt_dlp.cookies import CookieLoadError
from yt_dlp.utils import YoutubeDLError, unsmuggle_url

from vidscribe.errors import BadInputError
from vidscribe.settings import Settings

T = TypeVar("T")
log = logging.getLogger("vidscribe.ytdlp")

#: HTTP statuses a later attempt can get past: timeout, too early, rate limited, server-side failures
TRANSIENT_STATUSES = {408, 425, 429, 500, 502, 503, 504}

#: (pattern in yt-dlp's message, what is wrong and how to fix it) for errors no retry will fix
PERMANENT_ERRORS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"HTTP Error (404|410)"), "not found on the server (removed?); check the URL or drop it"),
    (re.compile(r"HTTP Error (401|403)"), "access denied; set VIDSCRIBE_COOKIES_FILE to a signed-in cookies file"),
    (re.compile(r"Private video|members-only|Sign in to confirm", re.I),
     "needs a signed-in account; set VIDSCRIBE_COOKIES_FILE to a cookies file of one that can see it"),
    (re.compile(r"Video unavailable|has been removed|no longer available|account .* terminated", re.I),
     "the video was removed or is unavailable; drop it from the list"),
    (re.compile(r"Unsupported URL"),
     "the address serves a web page, not media, a playlist, a channel or a feed that yt-dlp can read; "
     "give the media file's own URL (a login page? set VIDSCRIBE_COOKIES_FILE)"),
    (re.compile(r"is not a valid URL|Invalid URL|No host supplied|Unsupported url scheme", re.I),
     "not a valid URL; give one like https://host/path"),
    (re.compile(r"HTTP Error 4\d\d"), "the server refused the request; check the URL"),
]

#: Extractor arguments for every call. `youtubetab:approximate_date`: flat channel and playlist entries carry
#: no upload date; with it yt-dlp turns YouTube's "3 weeks ago" into a timestamp (day precision), so a
#: channel backfill's --since/--until can filter without a request per video.
EXTRACTOR_ARGS = {"youtubetab": {"approximate_date": [""]}}


class FetchError(BadInputError):
    """The source kept failing with transient errors until the retries were spent (see the module docstring).

    Why a BadInputError: those retries were the whole retry budget; Prefect's task retries on top would
    multiply the requests and add minutes per video. Like bad input, the video is recorded as failed with
    a message that names the URL, and a later run tries it again.
    """


class UnreachableError(FetchError):
    """The host could not be reached at all (name not resolved, connection refused, no route)."""


def unreachable_reason(error: BaseException) -> str | None:
    """Why the host was not reached, from the socket error that yt-dlp wraps; None for any other error.

    Read from the exception chain rather than the message: the socket error types are the same whichever
    HTTP library yt-dlp picked, while its message text is not.
    """
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return "its host name does not resolve"
        if isinstance(cause, ConnectionRefusedError):
            return "it refused the connection (nothing listens on that port)"
        if isinstance(cause, OSError) and cause.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "there is no network route to it"
        cause = cause.__cause__ or cause.__context__
    return None


def permanent_fix(message: str) -> str | None:
    """What is wrong and the fix, if no retry will help; None for a transient error (or an unknown one).

    Unknown errors count as transient: a needless retry costs seconds, a wrongly abandoned video is lost.
    """
    status = re.search(r"HTTP Error (\d{3})", message)
    if status and int(status.group(1)) in TRANSIENT_STATUSES:
        return None
    return next((fix for pattern, fix in PERMANENT_ERRORS if pattern.search(message)), None)


#: yt-dlp warnings that only announce what an error or a retry says again: logged at INFO (`--verbose`), so a
#: failed fetch prints its one error line, not the same reason once per attempt first
_ANNOUNCEMENTS = re.compile(r"Unable to download (webpage|API page|JSON)|Retrying|Got error|Falling back on generic")


class _QuietLogger:
    """yt-dlp's logger: debug/info (progress, configuration) dropped; warnings kept; errors are raised anyway."""

    def debug(self, message: str) -> None:
        pass

    info = debug
    error = debug

    def warning(self, message: str) -> None:
        log.log(logging.INFO if _ANNOUNCEMENTS.search(message) else logging.WARNING, "yt-dlp: %s", message)


def backoff(first: float) -> Callable[..., float]:
    """Exponential backoff: `first`, 2x, 4x, ... seconds for the 0-based retry `n`.

    yt-dlp calls its `retry_sleep_functions` as `func(n=retry)`, a keyword argument; the loop in `extract`
    calls the same function the same way.
    """

    def seconds(n: int) -> float:
        return first * 2**n

    return seconds


def options(settings: Settings, **extra: Any) -> dict[str, Any]:
    """yt-dlp options from settings: quiet, paced, with the download retries of the module's policy."""
    wait = backoff(settings.fetch_retry_seconds)
    base: dict[str, Any] = {
        "quiet": True,
        "noprogress": True,
        "logger": _QuietLogger(),
        "retries": settings.fetch_retries,
        "fragment_retries": settings.fetch_retries,
        "extractor_retries": 0,  # extraction is retried by `extract`, once per attempt, not twice
        "retry_sleep_functions": {"http": wait, "fragment": wait},
        "extractor_args": EXTRACTOR_ARGS,
        "sleep_interval_requests": settings.request_sleep_seconds or None,
        "sleep_interval": settings.download_sleep_seconds or None,
        "ratelimit": settings.download_rate_limit,
        "cookiefile": str(settings.cookies_file) if settings.cookies_file else None,
    }
    return {key: value for key, value in {**base, **extra}.items() if value is not None}


def shown_url(url: str) -> str:
    """The URL as a person gave it: a feed entry's URL carries yt-dlp's smuggled id, not for people's eyes."""
    return unsmuggle_url(url)[0]


#: yt-dlp could not read the cookies file (the message never shows its content)
COOKIES_UNREADABLE = ("VIDSCRIBE_COOKIES_FILE: yt-dlp could not load the cookies file; export it again in "
                      "Netscape format")


@contextmanager
def session(settings: Settings, **extra: Any) -> Iterator[YoutubeDL]:
    """A configured YoutubeDL (`extra`: options of this call); an unreadable cookies file is one clear error."""
    try:
        with YoutubeDL(options(settings, **extra)) as ydl:
            yield ydl
    except CookieLoadError:
        raise BadInputError(COOKIES_UNREADABLE) from None


def _message(error: YoutubeDLError) -> str:
    return str(error).removeprefix("ERROR: ")


def _permanent(error: YoutubeDLError, ydl: YoutubeDL, url: str) -> BadInputError | None:
    if isinstance(error, CookieLoadError):
        return BadInputError(COOKIES_UNREADABLE)
    fix = permanent_fix(_message(error))
    if fix is not None and "Unsupported URL" in _message(error):
        fix = broken_feed(ydl, url) or fix
    return BadInputError(f"{shown_url(url)}: {fix} (yt-dlp: {_message(error)})") if fix is not None else None


#: what a feed's first bytes look like (RSS, Atom, or any XML document)
_FEED_START = re.compile(rb"^\s*(<\?xml|<rss|<feed)", re.I)
#: how much of a page to read to tell a broken feed from a web page (feeds of thousands of episodes are MBs)
FEED_PROBE_BYTES = 32 << 20


def broken_feed(ydl: YoutubeDL, url: str) -> str | None:
    """Why the URL's XML document is no feed yt-dlp can read, when it is one (yt-dlp reports such a feed as an
    "Unsupported URL", as it does a web page); None for anything else. One more request, on this failure only."""
    try:
        with ydl.urlopen(url) as response:
            body = response.read(FEED_PROBE_BYTES)
    except (YoutubeDLError, OSError):
        return None
    if not _FEED_START.match(body):
        return None
    try:
        ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        return (f"the feed is not well-formed XML ({exc}); the publisher must fix it, or check the URL "
                "(nothing was stored)")
    return None


def _spent(error: YoutubeDLError, url: str, attempts: int, step: str) -> FetchError:
    """The error once the retries of `step` are spent: unreachable host, or a host that kept failing."""
    shown = shown_url(url)
    detail = _message(error).split(" (caused by ")[0]
    reason = unreachable_reason(error)
    if reason is not None:
        return UnreachableError(
            f"{shown}: cannot reach {urlparse(shown).netloc}: {reason} ({attempts} attempts); check the address "
            f"and the network connection, or try again later (yt-dlp: {detail})"
        )
    return FetchError(f"{shown}: the {step} kept failing ({attempts} attempts); try again later with "
                      f"`vidscribe retry` (yt-dlp: {detail})")


def extract(ydl: YoutubeDL, action: Callable[[YoutubeDL], T], url: str, settings: Settings) -> T:
    """`action(ydl)` (an extraction: no media download), retried on transient errors with backoff."""
    wait = backoff(settings.fetch_retry_seconds)
    for retry in range(settings.fetch_retries + 1):
        try:
            return action(ydl)
        except YoutubeDLError as exc:  # DownloadError and the networking errors raised before extraction
            permanent = _permanent(exc, ydl, url)
            if permanent is not None:
                raise permanent from None
            if retry == settings.fetch_retries:
                raise _spent(exc, url, retry + 1, "page request") from None
            log.info("%s: transient error, retry %d/%d: %s", shown_url(url), retry + 1, settings.fetch_retries,
                     _message(exc))
            time.sleep(wait(n=retry))
    raise AssertionError("unreachable: the loop returns or raises")


def download(ydl: YoutubeDL, action: Callable[[YoutubeDL], T], url: str, settings: Settings) -> T:
    """`action(ydl)` (a media download, which yt-dlp's downloader retries itself), with its errors sorted."""
    try:
        return action(ydl)
    except YoutubeDLError as exc:
        permanent = _permanent(exc, ydl, url)
        raise (permanent or _spent(exc, url, settings.fetch_retries + 1, "download")) from None
