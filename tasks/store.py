"""The store stage as a Prefect task: retried when the database hiccups; never cached (it is the side effect)."""

from __future__ import annotations

from vidscribe_tasks.policy import retryable_task
from vidscribe.stages.store import store

store_task = retryable_task(store, "store")
