"""A podcast RSS feed on 127.0.0.1 with real spoken episodes: a channel without the internet.

Why a feed: yt-dlp's generic extractor reads a podcast RSS feed as a playlist, through the same
enumerate-then-download code path a YouTube channel takes (see ../shared/ENVIRONMENT.md). Serving it
ourselves also lets tests stage what real hosts do to a backfill: a removed episode (404), a flaky
server (500 a few times, then the file), a login wall (an HTML page where media was expected), a
corrupt upload that is later fixed, and a slow link. Every request is counted per path, so a test can
prove that a second backfill downloaded nothing.

The server itself (`FeedServer`, `Episode`, `rss`, `to_mp3`) lives in `vidscribe.app.bench.feed_server`, shared with
the benchmark; this module adds the tests' episodes and fixtures. Test modules import the fixtures:
`from tests.feed import feed, make_feed, podcast_episodes`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone

import pytest

from tests.speech import ALICE_VOICE, BOB_VOICE, speak
from vidscribe.audio import SAMPLE_RATE
from vidscribe.app.bench.feed_server import Episode, FeedServer, to_mp3

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


def spoken_episode(slug: str, title: str, published: datetime, voice: str, sentences: list[str]) -> Episode:
    samples = speak(" ".join(sentences), voice)
    return Episode(slug, title, published, to_mp3(samples), duration=len(samples) / SAMPLE_RATE)


def build_episodes() -> list[Episode]:
    return [spoken_episode(*script) for script in EPISODE_SCRIPTS]


@pytest.fixture(scope="session")
def podcast_episodes() -> list[Episode]:
    """The four spoken episodes (MP3 bytes), made once per session."""
    return build_episodes()


@pytest.fixture()
def make_feed(podcast_episodes: list[Episode]) -> Iterator[Callable[..., FeedServer]]:
    """Factory: `make_feed(episodes=None, **options)` starts a fresh server; all are stopped after the test."""
    started: list[FeedServer] = []

    def make(episodes: list[Episode] | None = None, **options: object) -> FeedServer:
        options.setdefault("title", CHANNEL_TITLE)
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
