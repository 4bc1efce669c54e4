"""The fetch stage as a Prefect task. Failed fetches are not retried by Prefect: yt-dlp and vidscribe retry each
request once already (`vidscribe.ytdlp`), and their errors are `BadInputError`s."""

from __future__ import annotations

from vidscribe_tasks.policy import retryable_task
from vidscribe.stages.fetch import fetch

fetch_task = retryable_task(fetch, "fetch")
