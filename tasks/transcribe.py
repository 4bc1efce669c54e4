"""The transcribe stage as a cached, retryable Prefect task (see `tasks.policy` for its cache key)."""

from __future__ import annotations

from vidscribe_tasks.policy import stage_task
from vidscribe.stages.transcribe import SECTION, transcribe

transcribe_task = stage_task(transcribe, "transcribe", SECTION)
