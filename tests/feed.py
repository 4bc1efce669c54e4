"""A podcast RSS feed on 127.0.0.1 with real spoken episodes: a channel without the internet.

Why a feed: yt-dlp's generic extractor reads a podcast RSS feed as a playlist, through the same
enumerate-then-download code path a YouTube channel takes (see ../shared/ENVIRONMENT.md). Serving it
ourselves also lets tests stage what real hosts do to a backfill: a removed episode (404), a flaky
server (500 a few times, then the file), a login wall (an HTML page where media was expected), a
corrupt upload that is later fixed, and a slow link. Every request is counted per path, so a test can
prove that a second backfill downloaded nothing.

Test modules import the fixtures: `from tests.feed import feed, make_feed, podcast_episodes`.
"""

from __future__ import annotations

import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import numpy as np
import pytest

from tests.speech import ALICE_VOICE, BOB_VOICE, speak
from vidscribe.audio import SAMPLE_RATE, ffmpeg_binary

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
FEED_PATH = "/feed.xml"
CHANNEL_TITLE = "Offline Test Podcast"
#: A title that must never become a path: unicode, emoji, slashes and `..`.
HOSTILE_TITLE = "Café ☕ / ../../etc/passwd: bees & “honey” 🐝"

#: (slug, title, publication date, voice, sentences): four topics, distinct dates, 5-15 s each.
EPISODE_SCRIPTS = [
    ("ep1-tomatoes", "Tomatoes on a balcony", datetime(2024, 1, 5, 9, 0, tzinfo=timezone.utc), ALICE_VOICE,
     ["Today we talk about growing tomatoes on a small balcony.",
      "They need at least six hours of direct sun every day."]),
    ("ep2-steam", "How a steam engine works", datetime(2024, 2, 10, 9, 0, tzinfo=timezone.utc), BOB_VOICE,
     ["Water is boiled in a closed vessel and the steam pushes a piston.",
      "James Watt added a separate condenser to save fuel."]),
    ("ep3-bees", HOSTILE_TITLE, datetime(2024, 3, 15, 9, 0, tzinfo=timezone.utc), ALICE_VOICE,
     ["Honey bees visit thousands of flowers to fill a single jar.",
      "A healthy hive keeps its brood at thirty five degrees."]),
    ("ep4-rivers", "Rivers and floods", datetime(2024, 4, 20, 9, 0, tzinfo=timezone.utc), BOB_VOICE,
     ["Rivers carry sand and clay from the mountains to the sea.",
      "Wide flood plains slow the water down after heavy rain."]),
]


@dataclass(frozen=True)
class Episode:
    """One feed item. `guid` defaults to a URN; tests may give a hostile one to check path safety.
    `enclosure` puts the file at an absolute URL on another host (an unreachable one, say) instead of here."""

    slug: str
    title: str
    published: datetime
    audio: bytes
    duration: float
    guid: str | None = None
    enclosure: str | None = None

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


def to_mp3(samples: np.ndarray) -> bytes:
    """Encode 16 kHz mono float32 samples as MP3 (what podcast hosts serve), in memory."""
    cmd = [ffmpeg_binary(), "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "f32le", "-ar", str(SAMPLE_RATE),
           "-ac", "1", "-i", "-", "-codec:a", "libmp3lame", "-b:a", "48k", "-f", "mp3", "-"]
    return subprocess.run(cmd, input=samples.astype(np.float32).tobytes(), capture_output=True, check=True).stdout


def spoken_episode(slug: str, title: str, published: datetime, voice: str, sentences: list[str]) -> Episode:
    samples = speak(" ".join(sentences), voice)
    return Episode(slug, title, published, to_mp3(samples), duration=len(samples) / SAMPLE_RATE)


def build_episodes() -> list[Episode]:
    return [spoken_episode(*script) for script in EPISODE_SCRIPTS]


@dataclass
class _State:
    """What the handler threads share with the test; every access holds `lock`."""

    routes: dict[str, Response] = field(default_factory=dict)
    failures: dict[str, list[int]] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    bytes_per_second: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str) -> Response:
        with self.lock:
            self.requests[path] += 1
            pending = self.failures.get(path)
            if pending:
                status = pending.pop(0)
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
        self.end_headers()
        if send_body:
            self._write(response.body)

    def _write(self, body: bytes) -> None:
        """Send the body, paced to `bytes_per_second` when throttled (benchmarks of slow links)."""
        rate = self.state.bytes_per_second
        if not rate:
            self.wfile.write(body)
            return
        chunk = max(1, rate // 20)
        for start in range(0, len(body), chunk):
            self.wfile.write(body[start:start + chunk])
            time.sleep(chunk / rate)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (signature of the base class)
        """Quiet: test output should show the test's own failures, not an access log."""


class FeedServer:
    """A podcast host on 127.0.0.1 (free port, daemon thread). Use as a context manager."""

    def __init__(self, episodes: list[Episode], title: str = CHANNEL_TITLE, bytes_per_second: int | None = None):
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
            self.serve(episode.path, episode.audio)
        self._publish_feed()
        return episode

    def serve(self, path: str, body: bytes, content_type: str = "audio/mpeg") -> None:
        """Serve (or replace: e.g. repair a corrupt upload) the body at `path`."""
        with self._state.lock:
            self._state.routes[path] = Response(body, content_type)

    def fail(self, path: str, times: int, status: int = 500) -> None:
        """Answer `status` to the next `times` requests of `path`, then serve it normally again."""
        with self._state.lock:
            self._state.failures[path] = [status] * times

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
    ET.SubElement(channel, "description").text = "Spoken test episodes served on 127.0.0.1."
    for episode in episodes:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = episode.title
        ET.SubElement(item, "guid", isPermaLink="false").text = episode.item_guid
        ET.SubElement(item, "pubDate").text = format_datetime(episode.published)
        ET.SubElement(item, "enclosure", url=episode.enclosure or url(episode.path), type="audio/mpeg",
                      length=str(len(episode.audio)))
        ET.SubElement(item, f"{{{ITUNES_NS}}}duration").text = str(round(episode.duration))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


@pytest.fixture(scope="session")
def podcast_episodes() -> list[Episode]:
    """The four spoken episodes (MP3 bytes), made once per session."""
    return build_episodes()


@pytest.fixture()
def make_feed(podcast_episodes: list[Episode]) -> Iterator[Callable[..., FeedServer]]:
    """Factory: `make_feed(episodes=None, **options)` starts a fresh server; all are stopped after the test."""
    started: list[FeedServer] = []

    def make(episodes: list[Episode] | None = None, **options: object) -> FeedServer:
        server = FeedServer(list(podcast_episodes if episodes is None else episodes), **options)
        started.append(server.__enter__())
        return server

    yield make
    for server in started:
        server.__exit__(None, None, None)


@pytest.fixture()
def feed(make_feed: Callable[..., FeedServer]) -> FeedServer:
    """A fresh feed with the four default episodes."""
    return make_feed()
