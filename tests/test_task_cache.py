"""A stage task's cache key follows the code its results come from, not only the stage's own module."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidscribe.stages import word_speakers
from vidscribe.stages.attribute import attribute_words
from vidscribe.stages.segments import build_segments
from vidscribe_tasks.attribute import attribute_task
from vidscribe_tasks.policy import code_version, logic_modules
from vidscribe_tasks.segments import segments_task


def test_a_stage_key_hashes_the_stage_logic_it_imports():
    assert {"vidscribe.stages.attribute", "vidscribe.stages.word_speakers", "vidscribe.speakers.word_voices",
            "vidscribe.speakers.voices"} <= set(logic_modules("vidscribe.stages.attribute"))
    # a constant imported from another module counts: the segments are cut at word_speakers.SENTENCE_END
    assert set(logic_modules("vidscribe.stages.segments")) == {"vidscribe.stages.segments",
                                                                "vidscribe.stages.word_speakers"}


@pytest.mark.parametrize(("task", "fn"), [(attribute_task, attribute_words), (segments_task, build_segments)])
def test_editing_a_module_a_stage_follows_from_invalidates_its_cache(task, fn, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch):
    before = task.cache_policy.version
    assert before == code_version(fn)
    edited = tmp_path / "word_speakers.py"
    edited.write_text(Path(word_speakers.__file__).read_text().replace("TOLERANCE = 0.1", "TOLERANCE = 0.2"))
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes",
                        lambda path: edited.read_bytes() if path == Path(word_speakers.__file__) else real(path))
    assert code_version(fn) != before
    monkeypatch.undo()
    assert code_version(fn) == before
