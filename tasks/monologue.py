"""The monologue stage as a cached, retryable Prefect task (see `tasks.policy` for its cache key)."""

from __future__ import annotations

from vidscribe_tasks.policy import stage_task
from vidscribe.stages.monologue import SECTION, check_monologue

monologue_task = stage_task(check_monologue, "monologue", SECTION)
