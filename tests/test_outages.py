"""Outages during a backfill: a host that cannot be reached, and the database going away mid-video.

Both with real components: yt-dlp against a refused port and a name that does not resolve, and a real
PostgreSQL (a private embedded server) behind a TCP proxy that the test cuts and restores.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

import vidscribe.stages.store
from vidscribe_flows.backfill import backfill_channel, retry_failed
from vidscribe_tasks.store import store_task
from tests.db_fixtures import embedded_database
from tests.feed import Episode
from tests.test_reliability import task_states
from vidscribe.db import (
    exclusive,
    failed_videos,
    get_engine,
    get_video,
    mark_running,
    segment_count,
    upsert_video,
    video_claim,
)
from vidscribe.video import VideoInfo
from vidscribe.db.engine import database_url
from vidscribe.db.queries import claim_key
from vidscribe.progress import ProgressEvent
from vidscribe.runtime import get_runtime
from vidscribe.settings import get_settings
from vidscribe_tasks.policy import RETRY_DELAYS

FETCH_RETRIES = 2
UNRESOLVABLE_HOST = "episodes.vidscribe-test.invalid"  # .invalid never resolves (RFC 2606): NXDOMAIN at once
DB_PASSWORD = "pw-outage-7c1e"


def source_id(episode: Episode) -> str:
    return f"generic:{episode.item_guid}"


def renamed(episode: Episode, prefix: str) -> Episode:
    """The episode under a new guid: a video this session's database has not seen."""
    return dataclasses.replace(episode, slug=f"{prefix}-{episode.slug}", guid=f"urn:{prefix}:{episode.slug}")


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound once to pick it, then closed): connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture()
def env_settings() -> Iterator[pytest.MonkeyPatch]:
    """Set variables with the returned monkeypatch; the flows' settings are read again with them, and after."""
    with pytest.MonkeyPatch.context() as env:
        get_settings.cache_clear()
        yield env
    get_settings.cache_clear()


@pytest.fixture()
def lookups(monkeypatch: pytest.MonkeyPatch) -> Counter[tuple[str, int]]:
    """Name lookups per (host, port): yt-dlp resolves the host before each connection attempt."""
    counts: Counter[tuple[str, int]] = Counter()
    real = socket.getaddrinfo

    def counting(host, port, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003 (socket.getaddrinfo's signature)
        counts[(host, port)] += 1
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counting)
    return counts


def test_unreachable_hosts_fail_after_the_fetch_retries_only(settings, prefect_api, make_feed, podcast_episodes,
                                                             env_settings, lookups):
    env_settings.setenv("VIDSCRIBE_FETCH_RETRIES", str(FETCH_RETRIES))
    env_settings.setenv("VIDSCRIBE_FETCH_RETRY_SECONDS", "0.05")
    port = closed_port()
    good = [renamed(e, "reach") for e in podcast_episodes[:2]]
    refused = dataclasses.replace(renamed(podcast_episodes[2], "refused"),
                                  enclosure=f"http://127.0.0.1:{port}/episode.mp3")
    unresolved = dataclasses.replace(renamed(podcast_episodes[3], "unresolved"),
                                     enclosure=f"http://{UNRESOLVABLE_HOST}/episode.mp3")
    server = make_feed(episodes=[*good, refused, unresolved])
    started: dict[str, float] = {}
    took: dict[str, float] = {}

    def clock(event: ProgressEvent) -> None:
        if event.kind == "start":
            started[event.video] = time.monotonic()
        elif event.kind == "failed":
            took[event.video] = time.monotonic() - started[event.video]

    unsubscribe = get_runtime().bus.subscribe(clock)
    try:
        summary = backfill_channel(server.feed_url)
    finally:
        unsubscribe()

    outcome = {o.source_id: o for o in summary.outcomes}
    assert (summary.count("done"), summary.count("failed")) == (2, 2), [o.error for o in summary.outcomes]
    engine = get_engine(get_settings())
    for episode in good:
        video = get_video(engine, source_id(episode))
        assert video.status == "done" and segment_count(engine, video.id) >= 1
    for episode, address, lookup, reason in (
        (refused, f"127.0.0.1:{port}", ("127.0.0.1", port), "it refused the connection"),
        (unresolved, UNRESOLVABLE_HOST, (UNRESOLVABLE_HOST, 80), "its host name does not resolve"),
    ):
        video = get_video(engine, source_id(episode))
        print(f"{video.error}  ({took[video.source_id]:.2f} s)")
        for error in (video.error, outcome[video.source_id].error):  # the database's record, the batch's summary
            assert error.startswith(f"UnreachableError: http://{address}/episode.mp3: cannot reach {address}: "
                                    f"{reason}")
            assert f"({FETCH_RETRIES + 1} attempts); check the address and the network connection" in error
        assert video.status == "failed" and video.attempts == 1 and segment_count(engine, video.id) == 0
        # the in-process retries only: Prefect's task retries would add 2 x (FETCH_RETRIES + 1) and 35 s
        assert lookups[lookup] == FETCH_RETRIES + 1
        assert took[video.source_id] < sum(RETRY_DELAYS)


class DatabaseProxy:
    """127.0.0.1:`port` -> a PostgreSQL unix socket, copying bytes both ways on threads: a network path to cut.

    `cut()` is the database going away: every connection through it is closed at both ends and new ones are
    refused (nothing listens); `restore()` listens on the same port again.
    """

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path
        self.port = 0
        self.accepted = 0  # connections in all
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()

    def url(self, password: str) -> str:
        return f"postgresql://postgres:{password}@127.0.0.1:{self.port}/postgres"

    def restore(self) -> None:
        with self._lock:
            self._listener = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR: the same port
            self.port = self._listener.getsockname()[1]
            threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            if self._listener is not None:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
                self._listener.close()
                self._listener = None
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    @property
    def is_cut(self) -> bool:
        return self._listener is None

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            server = socket.socket(socket.AF_UNIX)
            server.connect(str(self.socket_path))
            with self._lock:
                if listener is not self._listener:  # cut meanwhile
                    client.close()
                    server.close()
                    return
                self._open += [client, server]
                self.accepted += 1
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(1 << 16):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


@pytest.fixture()
def proxied_database(settings, tmp_path: Path) -> Iterator[DatabaseProxy]:
    """The flows' DATABASE_URL (with a password, to check it is never shown) is a private embedded PostgreSQL
    reached only through a DatabaseProxy; one video at a time, so the batch runs in feed order."""
    with embedded_database(tmp_path / "db") as private, pytest.MonkeyPatch.context() as env:
        server = database_url(private)  # starts the server; it listens on a unix socket only
        proxy = DatabaseProxy(Path(server.query["host"]) / f".s.PGSQL.{server.port or 5432}")
        proxy.restore()
        env.setenv("DATABASE_URL", proxy.url(DB_PASSWORD))
        env.setenv("VIDSCRIBE_BACKFILL_PARALLEL", "1")
        get_settings.cache_clear()
        try:
            yield proxy
        finally:
            if proxy.is_cut:
                proxy.restore()
            get_engine(get_settings()).dispose()
            get_settings.cache_clear()
            proxy.cut()


def test_database_lost_mid_video_then_a_retry_stores_it_once(settings, prefect_api, make_feed, podcast_episodes,
                                                             proxied_database, monkeypatch):
    proxy = proxied_database
    episodes = [renamed(e, "dbgone") for e in podcast_episodes[:3]]
    server = make_feed(episodes=episodes)
    victim, *others = [source_id(e) for e in episodes]  # the oldest: processed first
    engine = get_engine(get_settings())
    monkeypatch.setattr(store_task, "retry_delay_seconds", [0.2] * len(RETRY_DELAYS))  # the same attempts, sooner
    store_calls: Counter[str] = Counter()
    real_store = vidscribe.stages.store.store_video

    def counting_store(engine_, info, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        store_calls[info.source_id] += 1
        return real_store(engine_, info, *args, **kwargs)

    monkeypatch.setattr(vidscribe.stages.store, "store_video", counting_store)
    accepted_at_restore: list[int] = []

    def outage(event: ProgressEvent) -> None:
        """The database goes away when the victim starts embedding (a model stage: its claim, the backfill's
        lock and the pooled connections all die), and comes back once the victim has failed."""
        if event.video != victim:
            return
        if event.kind == "stage" and event.stage == "embed":
            proxy.cut()
        elif event.kind == "failed":
            proxy.restore()
            accepted_at_restore.append(proxy.accepted)

    unsubscribe = get_runtime().bus.subscribe(outage)
    try:
        summary = backfill_channel(server.feed_url, order="oldest")
    finally:
        unsubscribe()

    outcome = {o.source_id: o for o in summary.outcomes}
    print("victim:", outcome[victim].error)
    assert outcome[victim].status == "failed"
    assert outcome[victim].error.startswith(
        f"DatabaseUnavailableError: cannot reach PostgreSQL at 127.0.0.1:{proxy.port}/postgres: ")
    assert "check that the server is up and DATABASE_URL" in outcome[victim].error
    assert DB_PASSWORD not in repr(summary)
    assert store_calls[victim] == 1 + len(RETRY_DELAYS)  # Prefect's retries, all during the outage
    # the rest of the batch went on, through the same engine: its pool replaced the dead connections
    assert [outcome[o].status for o in others] == ["done", "done"]
    assert get_engine(get_settings()) is engine and proxy.accepted > accepted_at_restore[0]
    lost = get_video(engine, victim)
    assert (lost.status, lost.attempts, segment_count(engine, lost.id)) == ("running", 1, 0)  # no partial rows

    # a running video whose claim is held is some worker's; once no one holds it, it is abandoned: retried
    with exclusive(engine, video_claim(victim)) as won:
        assert won and victim not in {r.source_id for r in failed_videos(engine)}
    assert [r.source_id for r in failed_videos(engine)] == [victim]

    retried = retry_failed()
    assert [(o.source_id, o.status) for o in retried.outcomes] == [(victim, "done")]
    stored = get_video(engine, victim)
    with engine.connect() as conn:
        rows, distinct = conn.execute(text(
            "SELECT count(*), count(DISTINCT (start, text)) FROM segments WHERE video_id = :v"), {"v": stored.id}).one()
    assert (stored.status, stored.attempts) == ("done", 2)
    assert rows == distinct >= 1  # exactly one copy of its segments
    assert store_calls[victim] == 2 + len(RETRY_DELAYS)
    states = task_states(victim)
    print("retry task states:", states)
    assert {states[stage] for stage in ("transcribe", "monologue", "identify", "embed")} == {"Cached"}  # models
    assert states["store"] == "Completed"


def test_abandoned_running_videos_are_told_from_claimed_ones(settings):
    """Claims are found in pg_locks by key; keys are signed 64-bit, so both signs must decode."""
    engine = get_engine(settings)
    names = {}
    for n in range(64):
        name = f"file:claim-test-{time.time_ns()}-{n}"
        names.setdefault(claim_key(video_claim(name)) < 0, name)
    assert len(names) == 2
    for name in names.values():
        mark_running(engine, upsert_video(engine, VideoInfo(source_id=name, url=f"https://example.org/{name}",
                                                            title=name)))
    ours = set(names.values())

    def to_retry() -> set[str]:
        return {r.source_id for r in failed_videos(engine)} & ours

    with contextlib.ExitStack() as held:
        assert all(held.enter_context(exclusive(engine, video_claim(name))) for name in ours)
        assert to_retry() == set()
    assert to_retry() == ours
