"""Enumerate: list a channel's, playlist's, feed's or folder's videos (metadata only, no download)."""

from __future__ import annotations

from vidscribe.sources import enumerate_source
from vidscribe.stage_task import retryable_task

enumerate_task = retryable_task(enumerate_source, "enumerate")
