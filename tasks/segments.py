"""The segments stage as a cached, retryable Prefect task (see `tasks.policy` for its cache key)."""

from __future__ import annotations

from vidscribe_tasks.policy import stage_task
from vidscribe.stages.segments import SECTION, build_segments

segments_task = stage_task(build_segments, "segments", SECTION)
