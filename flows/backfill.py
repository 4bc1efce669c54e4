"""Channel-level flows: `backfill_channel` (nightly, per channel) and `retry_failed`.

Read as a table of contents: enumerate the source, skip what the database already holds, ingest the rest
as `ingest-video` subflows (bounded parallelism), here or spread over the work pool's workers
(`flows/shards.py`), and publish a summary table.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from prefect import flow, get_run_logger
from pydantic import Field

from vidscribe_flows.ingest import tracked_flow_run
from vidscribe_flows.batch import BatchSummary, VideoOutcome, ingest_many, publish_summary
from vidscribe_flows.shards import run_sharded
from vidscribe_tasks.enumerate import enumerate_task
from vidscribe.db import VideoRecord, done_source_ids, exclusive, failed_videos, get_engine
from vidscribe.video import VideoInfo
from vidscribe.progress import ProgressEvent
from vidscribe.reports import report_slug
from vidscribe.runtime import get_runtime
from vidscribe.settings import get_settings


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


@flow(name="backfill-channel", flow_run_name="backfill {url}", persist_result=True)
def backfill_channel(
    url: str,
    since: date | None = None,
    until: date | None = None,
    limit: int | None = None,
    order: Literal["newest", "oldest"] = "newest",
    force: bool = False,
    shards: Annotated[int, Field(ge=1, le=256)] = 1,
) -> BatchSummary:
    """Ingest every video of a channel, playlist, feed or folder that is not stored yet.

    With `shards` > 1 the work is spread over that many processes: this run is one, the others are
    `backfill-shard` runs on the work pool (set it to the number of workers, one per GPU). Only this run holds
    the channel's lock; the videos are shared out by their per-video claims (see `flows/shards.py`). The
    result is persisted, so whoever started the run (`run_deployment`) can read the summary.
    """
    settings = get_settings()
    engine = get_engine(settings)
    with tracked_flow_run(), exclusive(engine, f"backfill:{url}") as won:
        if not won:
            get_run_logger().warning("another backfill of %s is running; this run does nothing", url)
            return BatchSummary(url, [], note="another backfill of this source was running")
        selection = enumerate_task(url, settings, since, until, limit, order)
        videos = selection.videos
        if selection.note():
            get_run_logger().warning("%s: %s", url, selection.note())
        stored = set() if force else done_source_ids(engine, [v.source_id for v in videos])
        todo = [v for v in videos if v.source_id not in stored]
        if min(shards, len(todo)) > 1:  # a shard per video at most
            outcomes, note = run_sharded(url, todo, min(shards, len(todo)), force, engine)
        else:
            outcomes, note = ingest_many(todo, settings.backfill_parallel, f"backfill {url}", force), ""
        note = "; ".join(part for part in (selection.note(), note) if part)
        skipped = [VideoOutcome(v.source_id, v.title, "skipped") for v in videos if v.source_id in stored]
        for outcome in skipped:
            get_runtime().bus.emit(ProgressEvent("skipped", video=outcome.source_id, title=outcome.title))
    return _report(BatchSummary(url, outcomes + skipped, note), "backfill")


def cannot_succeed(record: VideoRecord) -> bool:
    """A local file that failed as bad input: its content is its identity, so a retry would fail the same way.

    (A URL that failed as bad input can: its host may fix the upload, or the video may come back.)
    """
    return (record.status == "failed" and record.url.startswith("file:")
            and (record.error or "").startswith("BadInputError:"))


@flow(name="retry-failed")
def retry_failed(channel_url: str | None = None, limit: int | None = None,
                 include_hopeless: bool = False) -> BatchSummary:
    """Re-run failed videos (all, or one channel's); each resumes at its failed stage from the cache.

    Local files that failed as bad input are left out unless `include_hopeless`, and the summary says so.
    """
    settings = get_settings()
    records = failed_videos(get_engine(settings), channel_url, limit)
    hopeless = [] if include_hopeless else [r for r in records if cannot_succeed(r)]
    videos = [VideoInfo(source_id=r.source_id, url=r.url, title=r.title, published_at=r.published_at,
                        duration=r.duration) for r in records if r not in hopeless]
    with tracked_flow_run():
        outcomes = ingest_many(videos, settings.backfill_parallel, "retry failed videos")
    note = (f"{len(hopeless)} local files that failed as bad input left out (the same bytes fail the same way; "
            "`vidscribe retry --all` takes them too)") if hopeless else ""
    return _report(BatchSummary(channel_url or "all channels", outcomes, note), "retry")
