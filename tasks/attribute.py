"""The attribute stage as a cached, retryable Prefect task (see `tasks.policy` for its cache key).

Its cache key hashes the modules that decide the words' speakers too: the stage itself is a thin wrapper.
"""

from __future__ import annotations

from vidscribe_tasks.policy import stage_task
from vidscribe.speakers import voices, word_voices
from vidscribe.stages import word_speakers
from vidscribe.stages.attribute import SECTION, attribute_words

attribute_task = stage_task(attribute_words, "attribute", SECTION, word_voices, word_speakers, voices)
