"""A stage task's cache key follows the code its results come from, not only the stage's own module."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from vidscribe.speakers import voices, word_voices
from vidscribe.stages import word_speakers
from vidscribe.stages.attribute import attribute_words
from vidscribe_tasks.attribute import attribute_task
from vidscribe_tasks.policy import code_version


def test_editing_a_module_the_attribution_follows_from_invalidates_its_cache(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch):
    before = attribute_task.cache_policy.version
    assert before != code_version(attribute_words)  # the thin stage module alone would not see the edit below
    edited = tmp_path / "word_voices.py"
    edited.write_text(Path(word_voices.__file__).read_text().replace("WORD_CLIP_SECONDS = 0.4",
                                                                     "WORD_CLIP_SECONDS = 0.5"))
    real = inspect.getsourcefile
    monkeypatch.setattr(inspect, "getsourcefile", lambda obj: str(edited) if obj is word_voices else real(obj))
    assert code_version(attribute_words, word_voices, word_speakers, voices) != before
    monkeypatch.undo()
    assert code_version(attribute_words, word_voices, word_speakers, voices) == before
