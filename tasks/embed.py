"""The embed stage as a cached, retryable Prefect task (see `tasks.policy` for its cache key)."""

from __future__ import annotations

from vidscribe_tasks.policy import stage_task
from vidscribe.stages.embed import SECTION, embed_segments

embed_task = stage_task(embed_segments, "embed", SECTION)
