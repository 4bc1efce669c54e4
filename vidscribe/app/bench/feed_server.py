"""A podcast host on 127.0.0.1: an RSS feed and its MP3 enclosures, optionally throttled.

Why a feed: yt-dlp's generic extractor reads a podcast RSS feed as a playlist, through the same
enumerate-then-download code path a YouTube channel takes (see ../shared/ENVIRONMENT.md), so a channel can be
backfilled without the internet. The benchmark throttles it so downloads take real time; the tests also stage
what real hosts do to a backfill: a removed episode (404), a flaky server (500 a few times, then the file), a
login wall (an HTML page where media was expected) and a corrupt upload that is later fixed. Every request is
counted per path, so a test can prove that a second backfill downloaded nothing.
"""

from __future__ import annotations

import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import numpy as np

from vidscribe.audio import SAMPLE_RATE, ffmpeg_binary

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
FEED_PATH = "/feed.xml"
#: pacing steps per second of a throttled body: fine enough that a download's speed is even
THROTTLE_STEPS_PER_SECOND = 20


@dataclass(frozen=True)
class Episode:
    """One feed item. `guid` defaults to a URN; tests may give a hostile one to check path safety.
    `enclosure` puts the file at an absolute URL on another host (an unreachable one, say) instead of here.
    The file is served with `Last-Modified: published`, as podcast hosts' static files are."""

    slug: str
    title: str
    published: datetime
    audio: bytes
    duration: float
    guid: str | None = None
    enclosure: str | None = None
    dated: bool = True  # False: the feed item has no pubDate (its file still answers with Last-Modified)

    @property
    def path(self) -> str:
        return f"/episodes/{self.slug}.mp3"

    @property
    def item_guid(self) -> str:
        return self.guid or f"urn:vidscribe-test:{self.slug}"


@dataclass
class Response:
    body: bytes
    content_type: str = "audio/mpeg"
    status: int = 200
    last_modified: datetime | None = None


def to_mp3(samples: np.ndarray) -> bytes:
    """Encode 16 kHz mono float32 samples as MP3 (what podcast hosts serve), in memory."""
    cmd = [ffmpeg_binary(), "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "f32le", "-ar", str(SAMPLE_RATE),
           "-ac", "1", "-i", "-", "-codec:a", "libmp3lame", "-b:a", "48k", "-f", "mp3", "-"]
    return subprocess.run(cmd, input=samples.astype(np.float32).tobytes(), capture_output=True, check=True).stdout


@dataclass
class _State:
    """What the handler threads share with the owner of the server; every access holds `lock`."""

    routes: dict[str, Response] = field(default_factory=dict)
    failures: dict[str, list[int | None]] = field(default_factory=dict)  # per request: a status, or None: serve
    requests: Counter[str] = field(default_factory=Counter)
    bytes_per_second: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str) -> Response:
        with self.lock:
            self.requests[path] += 1
            status = self.failures[path].pop(0) if self.failures.get(path) else None
            if status is not None:
                return Response(f"<h1>{status} staged failure</h1>".encode(), "text/html", status)
            return self.routes.get(path) or Response(b"<h1>404 Not Found</h1>", "text/html", 404)


class _Handler(BaseHTTPRequestHandler):
    state: _State  # set on the per-server subclass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._respond(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(send_body=False)

    def _respond(self, send_body: bool) -> None:
        response = self.state.answer(urlsplit(self.path).path)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        if response.last_modified is not None:
            self.send_header("Last-Modified", format_datetime(response.last_modified, usegmt=True))
        self.end_headers()
        if send_body:
            self._write(response.body)

    def _write(self, body: bytes) -> None:
        """Send the body, paced to `bytes_per_second` when throttled (a slow link or a throttling host).

        A client may hang up early: yt-dlp's generic extractor opens a media URL to read its headers and
        closes it before downloading. That is normal for a host, so it ends the response quietly.
        """
        rate = self.state.bytes_per_second
        chunk = max(1, rate // THROTTLE_STEPS_PER_SECOND if rate else len(body))
        try:
            for start in range(0, len(body), chunk):
                self.wfile.write(body[start:start + chunk])
                if rate:
                    time.sleep(chunk / rate)
        except (BrokenPipeError, ConnectionResetError):
            return

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (signature of the base class)
        """Quiet: the owner's output should show its own results, not an access log."""


class FeedServer:
    """A podcast host on 127.0.0.1 (free port, daemon thread). Use as a context manager."""

    def __init__(self, episodes: list[Episode], title: str, bytes_per_second: int | None = None):
        self.title = title
        self.episodes: list[Episode] = []
        self._state = _State(bytes_per_second=bytes_per_second)
        handler = type("FeedHandler", (_Handler,), {"state": self._state})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="feed-server", daemon=True)
        for episode in episodes:
            self.add(episode)

    # --- addresses
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def feed_url(self) -> str:
        return self.url(FEED_PATH)

    @property
    def home_url(self) -> str:
        return self.url("/")

    def url(self, path: str) -> str:
        return self.base_url + path

    # --- what is served
    def add(self, episode: Episode, served: bool = True) -> Episode:
        """List the episode in the feed; `served=False` leaves its enclosure answering 404 (a removed file)."""
        self.episodes.append(episode)
        if served:
            self.serve(episode.path, episode.audio, last_modified=episode.published)
        self._publish_feed()
        return episode

    def serve(self, path: str, body: bytes, content_type: str = "audio/mpeg",
              last_modified: datetime | None = None) -> None:
        """Serve (or replace: e.g. repair a corrupt upload) the body at `path`."""
        with self._state.lock:
            self._state.routes[path] = Response(body, content_type, last_modified=last_modified)

    def fail(self, path: str, times: int, status: int = 500, after: int = 0) -> None:
        """Serve the next `after` requests of `path`, answer `status` to the `times` after them, then serve it
        normally again (`after=1` lets yt-dlp's extraction through and fails the download itself)."""
        with self._state.lock:
            self._state.failures[path] = [None] * after + [status] * times

    def throttle(self, bytes_per_second: int | None) -> None:
        self._state.bytes_per_second = bytes_per_second

    def requests(self, path: str) -> int:
        """How many requests `path` has received (the feed and each file are counted separately)."""
        with self._state.lock:
            return self._state.requests[path]

    def downloads(self) -> int:
        """Requests of episode files in all (a backfill that skips done episodes adds none)."""
        with self._state.lock:
            return sum(n for path, n in self._state.requests.items() if path.startswith("/episodes/"))

    def _publish_feed(self) -> None:
        self.serve(FEED_PATH, rss(self.title, self.home_url, self.episodes, self.url), "application/rss+xml")

    # --- lifecycle
    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def rss(title: str, link: str, episodes: list[Episode], url: Callable[[str], str]) -> bytes:
    """A podcast RSS 2.0 document, as podcast hosts write it (enclosure, guid, pubDate, itunes:duration)."""
    ET.register_namespace("itunes", ITUNES_NS)
    root = ET.Element("rss", version="2.0")
    channel = ET.SubElement(root, "channel")
    ET.SubElement(channel, "title").text = title
    ET.SubElement(channel, "link").text = link
    ET.SubElement(channel, "description").text = "Spoken episodes served on 127.0.0.1."
    for episode in episodes:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = episode.title
        ET.SubElement(item, "guid", isPermaLink="false").text = episode.item_guid
        if episode.dated:
            ET.SubElement(item, "pubDate").text = format_datetime(episode.published)
        ET.SubElement(item, "enclosure", url=episode.enclosure or url(episode.path), type="audio/mpeg",
                      length=str(len(episode.audio)))
        ET.SubElement(item, f"{{{ITUNES_NS}}}duration").text = str(round(episode.duration))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
