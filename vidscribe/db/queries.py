"""Read-side queries the flows need: the download archive and the list of failed videos."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator

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
