"""Read-side queries: the download archive, videos to retry, per-channel status, and cluster-wide claims."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, or_, select, text

from vidscribe.db.errors import DatabaseUnavailableError
from vidscribe.db.models import ChannelRow, VideoRow
from vidscribe.db.store import VideoRecord


def done_source_ids(engine: Engine, source_ids: Iterable[str]) -> set[str]:
    """Which of these videos are already stored: the database is the download archive."""
    wanted = list(source_ids)
    if not wanted:
        return set()
    stmt = select(VideoRow.source_id).where(VideoRow.source_id.in_(wanted), VideoRow.status == "done")
    with engine.connect() as conn:
        return set(conn.execute(stmt).scalars())


#: The advisory locks held in this database, as the signed 64-bit keys `pg_try_advisory_lock` took: pg_locks
#: shows a bigint key as its high half (classid) and low half (objid), with objsubid 1.
_HELD_CLAIMS = text(
    "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 "
    "AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def failed_videos(engine: Engine, channel_url: str | None = None, limit: int | None = None) -> list[VideoRecord]:
    """Videos to retry, oldest first, optionally of one channel: failed ones, and abandoned `running` ones.

    Abandoned: `running` with no worker holding its claim. A run that lost the database mid-way could not
    record its failure (nor could a killed worker); its claim died with its connection, so nobody works on it.
    The running rows are read before the claims: a video claimed in between is seen as claimed, and a retry
    that still races a new claim is skipped by `ingest_video`, which takes the claim itself.
    """
    with engine.connect() as conn:
        running = list(conn.execute(select(VideoRow.source_id).where(VideoRow.status == "running")).scalars())
        held = set(conn.execute(_HELD_CLAIMS).scalars())
        abandoned = [source_id for source_id in running if claim_key(video_claim(source_id)) not in held]
        stmt = (select(VideoRow.__table__).where(or_(VideoRow.status == "failed", VideoRow.source_id.in_(abandoned)))
                .order_by(VideoRow.updated_at).limit(limit))
        if channel_url is not None:
            stmt = (stmt.join(ChannelRow, ChannelRow.id == VideoRow.channel_id)
                    .where(ChannelRow.source_url == channel_url))
        return [VideoRecord(**row) for row in conn.execute(stmt).mappings()]


def claimed_source_ids(engine: Engine, source_ids: Iterable[str]) -> set[str]:
    """Which of these videos some worker, anywhere, is processing now (holds its claim)."""
    wanted = list(source_ids)
    with engine.connect() as conn:
        held = set(conn.execute(_HELD_CLAIMS).scalars())
    return {source_id for source_id in wanted if claim_key(video_claim(source_id)) in held}


def attempted_since(engine: Engine, source_ids: Iterable[str], since: datetime) -> set[str]:
    """Which of these videos an attempt started, stored or failed at or after `since` (the database's clock).

    Why: the shards of one backfill must not redo a video another shard already did, nor retry one it failed.
    """
    wanted = list(source_ids)
    if not wanted:
        return set()
    stmt = select(VideoRow.source_id).where(VideoRow.source_id.in_(wanted), VideoRow.updated_at >= since)
    with engine.connect() as conn:
        return set(conn.execute(stmt).scalars())


def database_now(engine: Engine) -> datetime:
    """The database server's clock: compared with `updated_at`, it needs no clock agreement between machines."""
    with engine.connect() as conn:
        return conn.execute(select(func.now())).scalar_one()


def video_claim(source_id: str) -> str:
    """The claim name under which one video is processed (see `exclusive`)."""
    return f"video:{source_id}"


def claim_key(name: str) -> int:
    """The advisory-lock key of a claim: the first 64 bits of its name's SHA-256, as a signed bigint."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[bool]:
    """A cluster-wide try-lock (PostgreSQL advisory lock) held for the block; yields whether it was won.

    Why in the database: every worker, on any machine, shares it, so two backfills of one channel never run
    at once however they were started (schedule, UI, CLI). The lock lives in the connection's session: if the
    database goes away during the block, the lock is gone with it, and releasing it is skipped so that the
    block's own error (or result) is what the caller sees.
    """
    key = claim_key(name)
    with engine.connect() as conn:
        won = bool(conn.execute(select(func.pg_try_advisory_lock(key))).scalar_one())
        try:
            yield won
        finally:
            with contextlib.suppress(DatabaseUnavailableError):  # the session, and its lock, ended with it
                if won:
                    conn.execute(select(func.pg_advisory_unlock(key)))
                conn.commit()


@dataclass(frozen=True)
class ChannelStatus:
    name: str
    url: str
    done: int
    failed: int
    pending: int  # pending or running
    audio_hours: float
    last_run: datetime | None


def channel_status(engine: Engine) -> list[ChannelStatus]:
    """Per channel (and one row for videos without a channel): counts by status, hours stored, last run."""
    counts = {s: func.count().filter(VideoRow.status == s) for s in ("done", "failed")}
    stmt = (
        select(ChannelRow.name, ChannelRow.source_url, counts["done"], counts["failed"],
               func.count().filter(VideoRow.status.in_(("pending", "running"))),
               func.coalesce(func.sum(VideoRow.duration).filter(VideoRow.status == "done"), 0.0) / 3600.0,
               func.max(VideoRow.updated_at))
        .select_from(VideoRow)
        .outerjoin(ChannelRow, ChannelRow.id == VideoRow.channel_id)
        .group_by(ChannelRow.name, ChannelRow.source_url)
        .order_by(ChannelRow.name.nulls_last())
    )
    with engine.connect() as conn:
        return [ChannelStatus(name or "(single files)", url or "", *rest) for name, url, *rest in conn.execute(stmt)]


def recent_videos(engine: Engine, status: str | None = None, limit: int = 20) -> list[VideoRecord]:
    """The most recently updated videos, optionally of one status."""
    stmt = select(VideoRow.__table__).order_by(VideoRow.updated_at.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(VideoRow.status == status)
    with engine.connect() as conn:
        return [VideoRecord(**row) for row in conn.execute(stmt).mappings()]
