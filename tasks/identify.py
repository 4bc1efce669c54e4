"""The identify stage as a cached, retryable Prefect task (see `tasks.policy` for its cache key)."""

from __future__ import annotations

from vidscribe_tasks.policy import stage_task
from vidscribe.stages.identify import SECTION, identify_speakers

identify_task = stage_task(identify_speakers, "identify", SECTION)
