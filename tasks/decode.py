"""The decode stage as a Prefect task: retried on transient errors, not result-cached (the decoded file in the
audio cache is its cache, see `vidscribe.stages.decode`)."""

from __future__ import annotations

from vidscribe_tasks.policy import retryable_task
from vidscribe.stages.decode import decode_recording

decode_task = retryable_task(decode_recording, "decode")
