"""Read-side queries: the download archive, failed videos, per-channel status, and a cluster-wide lock."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from vidscribe.db.models import Channel, Video
from vidscribe.db.store import VideoRecord


def done_source_ids(engine: Engine, source_ids: Iterable[str]) -> set[str]:
    """Which of these videos are already stored: the database is the download archive."""
    wanted = list(source_ids)
    if not wanted:
        return set()
    stmt = select(Video.source_id).where(Video.source_id.in_(wanted), Video.status == "done")
    with engine.connect() as conn:
        return set(conn.execute(stmt).scalars())


def failed_videos(engine: Engine, channel_url: str | None = None, limit: int | None = None) -> list[VideoRecord]:
    """Failed videos, oldest failure first, optionally of one channel."""
    stmt = select(Video.__table__).where(Video.status == "failed").order_by(Video.updated_at).limit(limit)
    if channel_url is not None:
        stmt = stmt.join(Channel, Channel.id == Video.channel_id).where(Channel.source_url == channel_url)
    with engine.connect() as conn:
        return [VideoRecord(**row) for row in conn.execute(stmt).mappings()]


@contextlib.contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[bool]:
    """A cluster-wide try-lock (PostgreSQL advisory lock) held for the block; yields whether it was won.

    Why in the database: every worker, on any machine, shares it, so two backfills of one channel never run
    at once however they were started (schedule, UI, CLI).
    """
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    with engine.connect() as conn:
        won = bool(conn.execute(select(func.pg_try_advisory_lock(key))).scalar_one())
        try:
            yield won
        finally:
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
    counts = {s: func.count().filter(Video.status == s) for s in ("done", "failed")}
    stmt = (
        select(Channel.name, Channel.source_url, counts["done"], counts["failed"],
               func.count().filter(Video.status.in_(("pending", "running"))),
               func.coalesce(func.sum(Video.duration).filter(Video.status == "done"), 0.0) / 3600.0,
               func.max(Video.updated_at))
        .select_from(Video)
        .outerjoin(Channel, Channel.id == Video.channel_id)
        .group_by(Channel.name, Channel.source_url)
        .order_by(Channel.name.nulls_last())
    )
    with engine.connect() as conn:
        return [ChannelStatus(name or "(single files)", url or "", *rest) for name, url, *rest in conn.execute(stmt)]


def recent_videos(engine: Engine, status: str | None = None, limit: int = 20) -> list[VideoRecord]:
    """The most recently updated videos, optionally of one status."""
    stmt = select(Video.__table__).order_by(Video.updated_at.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(Video.status == status)
    with engine.connect() as conn:
        return [VideoRecord(**row) for row in conn.execute(stmt).mappings()]
