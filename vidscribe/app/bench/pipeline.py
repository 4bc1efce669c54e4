"""The pipeline run: the real `backfill-channel` flow on the feed, against a real Prefect API and database.

Settings are the defaults (hardware profile auto), as a user's first backfill would run. Each video's wall
time is its `ingest-video` flow run's span as the Prefect API recorded it, from the run's creation to its
end: everything the video cost in the flow, orchestration included.
"""

from __future__ import annotations

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName
from prefect.client.schemas.sorting import FlowRunSort

from vidscribe_flows.backfill import backfill_channel
from vidscribe.app.bench.record import RunRecord, VideoRun, window
from vidscribe.db import get_engine, get_video, video_segments
from vidscribe.settings import Settings

INGEST_FLOW = "ingest-video"


def flow_run_seconds(limit: int) -> dict[str, float]:
    """Seconds from creation to end of the finished `ingest-video` flow runs, by run name (the source id).

    Sort and limit are given explicitly: Prefect 3.8.8's client sends them as null otherwise, which its
    server refuses (HTTP 422).
    """
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[INGEST_FLOW])),
                                     sort=FlowRunSort.START_TIME_ASC, limit=limit)
    return {run.name: (run.end_time - run.created).total_seconds() for run in runs if run.end_time and run.created}


def stored_text(settings: Settings, source_id: str) -> str:
    """The transcript the database holds for a video (what a search would see)."""
    engine = get_engine(settings)
    video = get_video(engine, source_id)
    return " ".join(s.text for s in video_segments(engine, video.id)) if video else ""


def run_pipeline(feed_url: str, settings: Settings, force: bool) -> RunRecord:
    """Backfill the feed through Prefect (`force`: the baseline stored these videos already) and collect each
    video's outcome, flow-run span and stored transcript. Needs a Prefect API (see `sandbox.prefect_api`)."""
    with window() as span:
        summary = backfill_channel(feed_url, force=force)
    seconds = flow_run_seconds(limit=max(1, len(summary.outcomes)))
    videos = [VideoRun(o, stored_text(settings, o.source_id), seconds.get(o.source_id)) for o in summary.outcomes]
    return RunRecord("pipeline", span, videos)
