"""One way to run yt-dlp: quiet, paced, retried, and with errors sorted into transient and permanent.

Why here and not in each caller: enumerating a channel and downloading one video hit the same hosts with the
same cookies, so they share pacing, the retry policy and the rule for which errors deserve a retry.

Why our own retry loop on top of yt-dlp's `retries`: yt-dlp retries only the media download itself; a 5xx,
429 or timeout while it reads a page or a feed (the extraction step) fails at once.

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
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlparse

from yt_dlp import YoutubeDL
from yt_dlp.cookies import CookieLoadError
from yt_dlp.utils import YoutubeDLError, unsmuggle_url

from vidscribe.audio import BadInputError
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


class UnreachableError(BadInputError):
    """The host could not be reached at all (name not resolved, connection refused, no route), after the
    in-process retries with backoff.

    Why a BadInputError: those retries were the whole retry budget for a network error; Prefect's task
    retries on top would multiply the attempts and add minutes per video, and like bad input the video is
    recorded as failed with a message that names the URL and what to check.
    """


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


class _QuietLogger:
    """yt-dlp's logger: debug/info (progress, configuration) dropped; warnings kept; errors are raised anyway."""

    def debug(self, message: str) -> None:
        pass

    info = debug
    error = debug

    def warning(self, message: str) -> None:
        if "Falling back on generic information extractor" not in message:  # every feed and file says it
            log.warning("yt-dlp: %s", message)


def options(settings: Settings, **extra: Any) -> dict[str, Any]:
    """yt-dlp options from settings: quiet, paced, with yt-dlp's own download retries and backoff."""
    backoff = _backoff(settings.fetch_retry_seconds)
    base: dict[str, Any] = {
        "quiet": True,
        "noprogress": True,
        "logger": _QuietLogger(),
        "retries": settings.fetch_retries,
        "fragment_retries": settings.fetch_retries,
        "extractor_retries": settings.fetch_retries,
        "retry_sleep_functions": {"http": backoff, "fragment": backoff, "extractor": backoff},
        "sleep_interval_requests": settings.request_sleep_seconds or None,
        "sleep_interval": settings.download_sleep_seconds or None,
        "ratelimit": settings.download_rate_limit,
        "cookiefile": str(settings.cookies_file) if settings.cookies_file else None,
    }
    return {key: value for key, value in {**base, **extra}.items() if value is not None}


def _backoff(first: float) -> Callable[[int], float]:
    """Exponential backoff: `first`, 2x, 4x, ... seconds (yt-dlp passes the 0-based attempt number)."""
    return lambda attempt: first * 2 ** attempt


def run(action: Callable[[YoutubeDL], T], url: str, settings: Settings, **extra: Any) -> T:
    """Run `action` on a configured YoutubeDL, retrying transient errors; permanent ones raise BadInputError."""
    wait = _backoff(settings.fetch_retry_seconds)
    shown = unsmuggle_url(url)[0]  # a feed entry's URL carries yt-dlp's smuggled id: not for people's eyes
    attempt = 0
    while True:
        try:
            with YoutubeDL(options(settings, **extra)) as ydl:
                return action(ydl)
        except CookieLoadError:
            raise BadInputError("VIDSCRIBE_COOKIES_FILE: yt-dlp could not load the cookies file; export it again "
                                "in Netscape format") from None
        except YoutubeDLError as exc:  # DownloadError and the networking errors raised before extraction
            message = str(exc).removeprefix("ERROR: ")
            fix = permanent_fix(message)
            if fix is not None:
                raise BadInputError(f"{shown}: {fix} (yt-dlp: {message})") from None
            if attempt >= settings.fetch_retries:
                reason = unreachable_reason(exc)
                if reason is None:
                    raise
                raise UnreachableError(
                    f"{shown}: cannot reach {urlparse(shown).netloc}: {reason} ({attempt + 1} attempts); check the "
                    f"address and the network connection, or try again later "
                    f"(yt-dlp: {message.split(' (caused by ')[0]})"
                ) from None
            log.info("%s: transient error, retry %d/%d: %s", url, attempt + 1, settings.fetch_retries, message)
            time.sleep(wait(attempt))
            attempt += 1
