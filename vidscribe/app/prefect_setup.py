"""Create what the deployments need on a Prefect server: the process work pool and the `gpu` limit.

Idempotent, so it is safe in a provisioning script: existing objects are updated, never duplicated.
"""

from __future__ import annotations

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import (
    GlobalConcurrencyLimitCreate,
    GlobalConcurrencyLimitUpdate,
    WorkPoolCreate,
)
from prefect.exceptions import ObjectNotFound

WORK_POOL = "vidscribe"
GPU_LIMIT = "gpu"


def ensure_prefect_objects(gpu_slots: int = 1) -> list[str]:
    """Create or update the work pool and the `gpu` global concurrency limit; say what was done."""
    done = []
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(WORK_POOL)
            done.append(f"work pool '{WORK_POOL}' exists")
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=WORK_POOL, type="process",
                                                   description="vidscribe GPU/CPU workers"))
            done.append(f"work pool '{WORK_POOL}' created (type process)")
        try:
            client.read_global_concurrency_limit_by_name(GPU_LIMIT)
            client.update_global_concurrency_limit(GPU_LIMIT, GlobalConcurrencyLimitUpdate(limit=gpu_slots))
            done.append(f"concurrency limit '{GPU_LIMIT}' set to {gpu_slots}")
        except ObjectNotFound:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=GPU_LIMIT, limit=gpu_slots))
            done.append(f"concurrency limit '{GPU_LIMIT}' created with {gpu_slots} slot(s)")
    return done
