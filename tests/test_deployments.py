"""Deployments: every one in prefect.yaml loads and validates; one runs to Completed on a real worker."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import suppress
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL

from vidscribe_deployments.spec import load_specs, register
from vidscribe.app.prefect_setup import GPU_LIMIT, WORK_POOL, ensure_prefect_objects

ROOT = Path(__file__).resolve().parent.parent
PREFECT = str(Path(sys.executable).parent / "prefect")


def test_every_deployment_loads_its_flow_and_validates():
    specs = {spec.name: spec for spec in load_specs()}
    assert set(specs) == {"ingest-video", "channel-backfill", "backfill-shard", "retry-failed"}
    assert {spec.work_pool for spec in specs.values()} == {WORK_POOL}
    backfill = specs["channel-backfill"]
    assert backfill.flow.name == "backfill-channel" and backfill.concurrency_limit == 1
    assert [s.cron for s in backfill.schedules] == ["0 3 * * *"]
    assert "source" in specs["ingest-video"].flow.parameters.required
    shard = specs["backfill-shard"]  # started by a sharded channel-backfill, which supplies every parameter
    assert set(shard.flow.parameters.required) == {"url", "videos", "shard", "shards", "started_at"}


def test_setup_is_idempotent_and_a_deployment_run_completes(settings, prefect_api, voices):
    with get_client(sync_client=True) as client:  # start from none, whichever test of the session set them up
        with suppress(ObjectNotFound):
            client.delete_work_pool(WORK_POOL)
        with suppress(ObjectNotFound):
            client.delete_global_concurrency_limit_by_name(GPU_LIMIT)
    first = ensure_prefect_objects(gpu_slots=1)
    second = ensure_prefect_objects(gpu_slots=2)
    assert "created" in " ".join(first) and "created" not in " ".join(second)
    with get_client(sync_client=True) as client:
        assert client.read_work_pool(WORK_POOL).type == "process"
        assert client.read_global_concurrency_limit_by_name(GPU_LIMIT).limit == 2

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    ids = register(load_specs())
    assert set(ids) == {"ingest-video", "channel-backfill", "backfill-shard", "retry-failed"}
    assert register(load_specs()) == ids  # registering again updates, never duplicates
    with get_client(sync_client=True) as client:
        backfill = client.read_deployment(ids["channel-backfill"])
        assert backfill.global_concurrency_limit.limit == 1 and backfill.schedules[0].schedule.cron == "0 3 * * *"
        assert backfill.concurrency_options.collision_strategy == "ENQUEUE"
    flow_run = run_deployment("ingest-video/ingest-video", parameters={"source": str(voices.monologue)},
                              timeout=0)
    worker = subprocess.run([PREFECT, "worker", "start", "--pool", WORK_POOL, "--run-once"], cwd=ROOT, env=env,
                            timeout=600, capture_output=True, text=True)
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(flow_run.id).state
    assert state.is_completed(), f"{state}\n{worker.stdout[-3000:]}\n{worker.stderr[-3000:]}"
