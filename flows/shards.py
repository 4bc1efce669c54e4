"""Sharded backfills: one channel's backfill spread over the work pool's workers (one per GPU).

Why shards and not one deployment run per video: a process worker starts a fresh process for every flow run,
and each process loads every model; a shard is one process that loads them once and ingests many videos.

How the work is shared: every shard gets the whole list of videos to do and walks it from its own offset
(shard i of n starts at i/n of the list) and round to the start, so shards rarely meet, and one that finishes
its part early goes on into the others' (a slow worker never holds the backfill up). Before each video a
shard skips it when some worker holds its claim or when it was attempted since the backfill began (done, or
failed: a backfill tries a video once, so a second shard must not retry it). The claim that `ingest_video`
takes, and its stored-check under the claim, is what makes each video processed exactly once; the check here
also spares the empty flow runs. With `force` the stored-check is off, and only the check here keeps a second
shard off a video another one has just finished: safe unless a whole ingest fits between one shard's check
and its claim (a fraction of a second).

The run that starts the backfill is shard 0 itself (so it does not sit on a worker slot, and so a GPU, while
waiting), submits shards 1..n-1 as runs of the `backfill-shard` deployment, waits for them and merges their
summaries. Shard runs that no worker has started by the time shard 0 has walked the list have nothing left
to do (everything is done or in flight elsewhere) and are cancelled, so a backfill never waits for absent
workers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.objects import FlowRun, State
from prefect.client.schemas.responses import SetStateStatus
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.states import Cancelled
from sqlalchemy import Engine

from vidscribe_flows.batch import BatchSummary, SkipCheck, VideoOutcome, ingest_many
from vidscribe.db import attempted_since, claimed_source_ids, database_now, get_engine
from vidscribe.video import VideoInfo
from vidscribe.settings import get_settings

#: the deployment (flow name/deployment name in prefect.yaml) that runs shards 1..n-1
SHARD_DEPLOYMENT = "backfill-shard/backfill-shard"
#: a shard run's name, given when it is submitted (so the queue in the UI shows it) and kept when it runs
SHARD_RUN_NAME = "backfill {url} shard {shard} of {shards}"
#: seconds between looks at the shard runs' states
POLL_SECONDS = 2.0
#: once no video of the backfill is in flight, how long shard runs still get to finish and report: enough for
#: a run whose process is still starting (a minute or two on a busy machine) to walk the list and say so
REPORT_GRACE_SECONDS = 300.0


def shard_order(videos: Sequence[VideoInfo], shard: int, shards: int) -> list[VideoInfo]:
    """The whole list, starting at this shard's offset and wrapping round (see the module docstring)."""
    start = shard * len(videos) // shards
    return [*videos[start:], *videos[:start]]


def taken_elsewhere(engine: Engine, started_at: datetime) -> SkipCheck:
    """The check a shard makes before each video: held by a worker now, or attempted since `started_at`."""

    def reason(video: VideoInfo) -> str | None:
        if claimed_source_ids(engine, [video.source_id]):
            return "being processed by another worker"
        if attempted_since(engine, [video.source_id], started_at):
            return "attempted by another shard of this backfill"
        return None

    return reason


@flow(name="backfill-shard", flow_run_name=SHARD_RUN_NAME, persist_result=True)
def backfill_shard(url: str, videos: list[VideoInfo], shard: int, shards: int, started_at: datetime,
                   force: bool = False) -> BatchSummary:
    """One process's share of a sharded backfill of `url` (started by `backfill-channel`, not by hand).

    `started_at` is the database time the backfill began. The result is persisted (shared result storage)
    because the starting run, in another process or on another machine, reads it to merge the summaries.
    """
    settings = get_settings()
    engine = get_engine(settings)
    outcomes = ingest_many(shard_order(videos, shard, shards), settings.backfill_parallel,
                           SHARD_RUN_NAME.format(url=url, shard=shard, shards=shards), force,
                           taken_elsewhere(engine, started_at))
    return BatchSummary(url, outcomes)


def run_sharded(url: str, videos: list[VideoInfo], shards: int, force: bool,
                engine: Engine) -> tuple[list[VideoOutcome], str]:
    """Run the backfill of `videos` as `shards` shards; returns one outcome per video and a note for the summary."""
    started_at = database_now(engine)
    parameters = {"url": url, "videos": videos, "shards": shards, "started_at": started_at, "force": force}
    try:
        runs = [run_deployment(SHARD_DEPLOYMENT, parameters={**parameters, "shard": shard}, timeout=0,
                               flow_run_name=SHARD_RUN_NAME.format(url=url, shard=shard, shards=shards))
                for shard in range(1, shards)]
    except ObjectNotFound:
        raise RuntimeError(f"a backfill with shards > 1 needs the '{SHARD_DEPLOYMENT}' deployment on this Prefect "
                           f"server: run `vidscribe deploy`") from None
    own = backfill_shard(url, videos, 0, shards, started_at, force)
    summaries, problems = wait_for_shards(runs, engine, [v.source_id for v in videos])
    for problem in problems:
        get_run_logger().warning(problem)
    return merge_outcomes(videos, [own, *summaries]), "; ".join(problems)


def wait_for_shards(runs: Sequence[FlowRun], engine: Engine,
                    source_ids: Sequence[str]) -> tuple[list[BatchSummary], list[str]]:
    """Wait for the shard runs (after shard 0 is done); returns their summaries and what went wrong with any.

    Runs still waiting for a worker are cancelled: nothing is left for them. The wait also ends when no video
    is in flight any more and the remaining runs have had `REPORT_GRACE_SECONDS` to finish: a run whose
    worker died stays `Running` in Prefect forever, and must not hold the channel's next backfill up.
    """
    pending = {run.id: run.name for run in runs}
    summaries: list[BatchSummary] = []
    problems: list[str] = []
    quiet_since: float | None = None
    with get_client(sync_client=True) as client:
        while pending:
            for run_id, name in list(pending.items()):
                state = client.read_flow_run(run_id).state
                if state is not None and state.is_scheduled() and _cancel(client, run_id):
                    del pending[run_id]
                elif state is not None and state.is_final():
                    del pending[run_id]
                    _collect(name, state, summaries, problems)
            if not pending:
                break
            if claimed_source_ids(engine, source_ids):
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > REPORT_GRACE_SECONDS:
                problems += [f"shard run '{name}' did not finish though no video is in flight (its worker may "
                             f"have died; the next backfill resumes what it left)" for name in pending.values()]
                break
            time.sleep(POLL_SECONDS)
    return summaries, problems


def _cancel(client: SyncPrefectClient, run_id: UUID) -> bool:
    """Cancel a shard run no worker has started; False when a worker took it meanwhile (then it is waited for)."""
    result = client.set_flow_run_state(run_id, Cancelled(message="the other shards did every video"))
    return result.status == SetStateStatus.ACCEPT


def _collect(name: str, state: State, summaries: list[BatchSummary], problems: list[str]) -> None:
    """Add a finished shard run's summary, or say why there is none."""
    if not state.is_completed():
        problems.append(f"shard run '{name}' ended {state.name}: {state.message or ''}".rstrip(": "))
        return
    try:
        summaries.append(state.result())
    except Exception as exc:  # the videos are stored all the same; only this shard's rows are missing
        problems.append(f"shard run '{name}': its summary could not be read ({type(exc).__name__}: {exc}); every "
                        f"worker needs the same result storage (see README, Scale-out)")


def merge_outcomes(videos: Sequence[VideoInfo], summaries: Sequence[BatchSummary]) -> list[VideoOutcome]:
    """One outcome per video, in the backfill's order: the shard that did it (done or failed) beats the skips."""
    best: dict[str, VideoOutcome] = {}
    for summary in summaries:
        for outcome in summary.outcomes:
            current = best.get(outcome.source_id)
            if current is None or (current.status == "skipped" and outcome.status != "skipped"):
                best[outcome.source_id] = outcome
    return [best[v.source_id] for v in videos if v.source_id in best]
