"""Enumerate a channel, playlist, feed or folder (metadata only) as a Prefect task, retried on transient errors."""

from __future__ import annotations

from vidscribe_tasks.policy import retryable_task
from vidscribe.sources import enumerate_source

enumerate_task = retryable_task(enumerate_source, "enumerate")
