"""Channel-level flows: `backfill_channel` (nightly, per channel) and `retry_failed`.

Read as a table of contents: enumerate the source, skip what the database already holds, ingest the rest
as `ingest-video` subflows (bounded parallelism), and publish a summary table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from prefect import flow, get_run_logger

from flows.batch import VideoOutcome, ingest_many, publish_summary
from tasks.enumerate import enumerate_task
from vidscribe.db import VideoInfo, done_source_ids, exclusive, failed_videos, get_engine
from vidscribe.progress import ProgressEvent, bus
from vidscribe.reports import report_slug
from vidscribe.settings import get_settings


@dataclass(frozen=True)
class BatchSummary:
    source: str
    outcomes: list[VideoOutcome]
    note: str = ""

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)


def artifact_key(prefix: str, source: str) -> str:
    """The summary's artifact key: the same safe, collision-free slug as the per-video reports."""
    return f"{prefix}-{report_slug(source)}"


def _report(summary: BatchSummary, prefix: str) -> BatchSummary:
    logger = get_run_logger()
    publish_summary(summary.outcomes, artifact_key(prefix, summary.source),
                    f"{prefix} of {summary.source}: {summary.count('done')} done, {summary.count('failed')} failed,"
                    f" {summary.count('skipped')} already stored")
    for outcome in summary.outcomes:
        if outcome.status == "failed":
            logger.warning("failed: %s (%s): %s", outcome.source_id, outcome.title, outcome.error)
    return summary


@flow(name="backfill-channel", flow_run_name="backfill {url}")
def backfill_channel(
    url: str,
    since: date | None = None,
    until: date | None = None,
    limit: int | None = None,
    order: Literal["newest", "oldest"] = "newest",
    force: bool = False,
) -> BatchSummary:
    """Ingest every video of a channel, playlist, feed or folder that is not stored yet."""
    settings = get_settings()
    engine = get_engine(settings)
    with exclusive(engine, f"backfill:{url}") as won:
        if not won:
            get_run_logger().warning("another backfill of %s is running; this run does nothing", url)
            return BatchSummary(url, [], note="another backfill of this source was running")
        videos = enumerate_task(url, settings, since, until, limit, order)
        stored = set() if force else done_source_ids(engine, [v.source_id for v in videos])
        todo = [v for v in videos if v.source_id not in stored]
        outcomes = ingest_many(todo, settings.backfill_parallel, f"backfill {url}", force)
        skipped = [VideoOutcome(v.source_id, v.title, "skipped") for v in videos if v.source_id in stored]
        for outcome in skipped:
            bus.emit(ProgressEvent("skipped", video=outcome.source_id, title=outcome.title))
    return _report(BatchSummary(url, outcomes + skipped), "backfill")


@flow(name="retry-failed")
def retry_failed(channel_url: str | None = None, limit: int | None = None) -> BatchSummary:
    """Re-run failed videos (all, or one channel's); each resumes at its failed stage from the cache."""
    settings = get_settings()
    records = failed_videos(get_engine(settings), channel_url, limit)
    videos = [VideoInfo(source_id=r.source_id, url=r.url, title=r.title, published_at=r.published_at,
                        duration=r.duration) for r in records]
    outcomes = ingest_many(videos, settings.backfill_parallel, "retry failed videos")
    return _report(BatchSummary(channel_url or "all channels", outcomes), "retry")
