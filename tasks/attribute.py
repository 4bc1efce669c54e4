"""The attribute stage as a cached, retryable Prefect task (see `tasks.policy` for its cache key)."""

from __future__ import annotations

from vidscribe_tasks.policy import stage_task

from vidscribe.stages.attribute import SECTION, attribute_words

attribute_task = stage_task(attribute_words, "attribute", SECTION)
