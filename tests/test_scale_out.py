"""Scale-out: two real workers on one work pool share one sharded backfill; every video is processed once."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterName
from prefect.client.schemas.objects import FlowRun, State
from prefect.client.schemas.sorting import FlowRunSort, TaskRunSort
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL
from sqlalchemy import text

from vidscribe_deployments.spec import load_specs, register
from vidscribe_flows.backfill import backfill_channel
from vidscribe_flows.batch import BatchSummary, VideoOutcome
from vidscribe_flows.shards import merge_outcomes, shard_order
from vidscribe.db import exclusive, get_engine, video_claim
from vidscribe.video import VideoInfo
from vidscribe.app.prefect_setup import WORK_POOL, ensure_prefect_objects

ROOT = Path(__file__).resolve().parent.parent
PREFECT = str(Path(sys.executable).parent / "prefect")
WORKERS = ("scale-out-a", "scale-out-b")


@contextmanager
def workers(log_dir: Path) -> Iterator[list[tuple[subprocess.Popen[bytes], Path]]]:
    """One `prefect worker start --limit 1` per name (as one per GPU would be), stopped on the way out."""
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(),
           "PREFECT_WORKER_QUERY_SECONDS": "1",  # pick a run up within a second (default 10)
           "VIDSCRIBE_BACKFILL_PARALLEL": "4"}  # a shard takes up (or passes by) the whole feed at once
    processes, logs = [], []
    try:
        for name in WORKERS:
            logs.append(log_dir / f"{name}.log")
            with logs[-1].open("w") as log:
                processes.append(subprocess.Popen(
                    [PREFECT, "worker", "start", "--pool", WORK_POOL, "--limit", "1", "--name", name], cwd=ROOT,
                    env={**env, "VIDSCRIBE_WORKER_NAME": name}, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True))  # its own process group: its flow-run processes stop with it
        yield list(zip(processes, logs, strict=True))
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


def runs_that_did_work(source_ids: list[str]) -> Counter[str]:
    """Per video: its `ingest-video` flow runs (named by source id) that ran any task (a skip runs none)."""
    with get_client(sync_client=True) as client:
        # limit and sort are explicit: Prefect 3.8.8's client sends nulls that its server rejects (HTTP 422)
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=source_ids)),
                                     limit=200, sort=FlowRunSort.EXPECTED_START_TIME_ASC)
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[r.id for r in runs])),
                                      limit=200, sort=TaskRunSort.EXPECTED_START_TIME_ASC)
    working = {task.flow_run_id for task in tasks}
    return Counter(run.name for run in runs if run.id in working)


def wait_for(flow_run_name: str, done: Callable[[State], bool], timeout: float = 600) -> FlowRun:
    """Poll the (latest) flow run of this name until its state satisfies `done`."""
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[flow_run_name])),
                                         limit=1, sort=FlowRunSort.EXPECTED_START_TIME_DESC)
            if runs and runs[0].state is not None and done(runs[0].state):
                return runs[0]
            time.sleep(1)
    raise TimeoutError(f"flow run {flow_run_name!r} did not get there in {timeout} s")


def test_two_workers_share_a_sharded_backfill_and_do_each_video_once(settings, prefect_api, make_feed,
                                                                       podcast_episodes, tmp_path):
    """The backfill runs as a deployment on one worker, where it is shard 0, and sends shard 1 to the other.

    Why the test holds the claims of shard 1's part of the list at first: on this 2-core machine a flow-run
    process takes about 45 s to import its libraries, while a 7-second episode is ingested in seconds, so
    shard 0 would do the whole feed before shard 1 had started (with hour-long videos on GPUs, start-up is
    noise). The test plays a third worker with those videos in flight while shard 0 takes up all four videos
    at once (four in flight): it ingests its two and passes the held two by. Released as soon as shard 0 has
    started its first, they are free when shard 1 comes up, and the backfill waits for them.
    """
    ensure_prefect_objects(gpu_slots=len(WORKERS))  # one `gpu` slot per worker, as one per GPU
    register(load_specs())
    episodes = [dataclasses.replace(e, slug=f"scale-{e.slug}", guid=f"urn:scale:{e.slug}") for e in podcast_episodes]
    feed = make_feed(episodes=episodes)
    source_ids = [f"generic:{e.item_guid}" for e in episodes]
    engine = get_engine(settings)
    shards = len(WORKERS)
    backfill = f"backfill {feed.feed_url}"

    with workers(tmp_path) as started:
        with ExitStack() as in_flight:
            assert all(in_flight.enter_context(exclusive(engine, video_claim(source_id)))
                       for source_id in source_ids[len(source_ids) // shards:])
            run_deployment("backfill-channel/channel-backfill", timeout=0,
                           parameters={"url": feed.feed_url, "order": "oldest", "shards": shards})
            # shard 0's first ingest run exists: it has taken up the whole list at once, so it has passed the held
            # videos by (the release must not wait longer: shard 1 may come up while shard 0 is still starting)
            wait_for(source_ids[0], lambda state: True)
        parent = wait_for(backfill, lambda state: state.is_final())
    assert all(process.poll() is not None for process, _ in started)  # both workers stopped
    worker_logs = "\n".join(log.read_text()[-3000:] for _, log in started)
    assert parent.state.is_completed(), f"{parent.state}\n{worker_logs}"

    summary = parent.state.result()  # persisted by the run on a worker, read here: one result storage
    assert isinstance(summary, BatchSummary)
    assert [o.source_id for o in summary.outcomes] == source_ids and summary.count("done") == len(episodes), \
        f"{summary}\n{worker_logs}"
    assert summary.note == ""  # every shard run finished and reported

    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT v.source_id, v.status, v.attempts, v.worker, count(s.id), count(DISTINCT (s.start, s.text)) "
            "FROM videos v LEFT JOIN segments s ON s.video_id = v.id WHERE v.source_id = ANY(:ids) "
            "GROUP BY v.id"), {"ids": source_ids}).all()
    print("video, worker:", [(row[0], row[3]) for row in rows])
    assert sorted(row[0] for row in rows) == sorted(source_ids)  # one row per video
    for source_id, status, attempts, _worker, segments, distinct in rows:
        assert (status, attempts) == ("done", 1) and segments >= 1 and segments == distinct, source_id
    assert {row[3] for row in rows} == set(WORKERS)  # the work really was spread over both workers
    assert runs_that_did_work(source_ids) == Counter(dict.fromkeys(source_ids, 1))


def test_without_a_free_worker_the_backfill_does_every_video_itself(settings, prefect_api, make_feed,
                                                                    podcast_episodes):
    """No worker takes shard 1: shard 0 (here, in this process) walks the whole list, and the waiting shard
    run is cancelled, so a backfill never hangs on absent workers."""
    ensure_prefect_objects(gpu_slots=len(WORKERS))
    register(load_specs())
    episodes = [dataclasses.replace(e, slug=f"alone-{e.slug}", guid=f"urn:alone:{e.slug}") for e in podcast_episodes]
    feed = make_feed(episodes=episodes)

    summary = backfill_channel(feed.feed_url, order="oldest", shards=2)
    assert [o.status for o in summary.outcomes] == ["done"] * len(episodes) and summary.note == "", summary
    shard = wait_for(f"backfill {feed.feed_url} shard 1 of 2", lambda state: True, timeout=10)
    assert shard.state.is_cancelled()


def test_shards_start_at_their_offsets_and_the_shard_that_did_a_video_reports_it():
    videos = [VideoInfo(f"v{i}", f"https://example.org/{i}", f"video {i}") for i in range(5)]
    assert [[v.source_id for v in shard_order(videos, shard, 2)] for shard in range(2)] == \
        [["v0", "v1", "v2", "v3", "v4"], ["v2", "v3", "v4", "v0", "v1"]]
    skipped = [VideoOutcome(v.source_id, v.title, "skipped", error="being processed by another worker") for v in videos]
    done = VideoOutcome("v3", "video 3", "done", segment_count=7)
    failed = VideoOutcome("v1", "video 1", "failed", error="HTTP 404")
    merged = merge_outcomes(videos[::-1], [BatchSummary("x", skipped), BatchSummary("x", [done, failed])])
    assert [(o.source_id, o.status) for o in merged] == \
        [("v4", "skipped"), ("v3", "done"), ("v2", "skipped"), ("v1", "failed"), ("v0", "skipped")]
