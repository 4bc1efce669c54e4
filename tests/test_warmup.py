"""The CLI imports the model libraries while its local Prefect API boots (issue #14): only those the run's
settings will use, so a run that never diarizes never pays for pyannote's import."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from vidscribe.app.warmup import import_model_libraries
from vidscribe.settings import Settings
import_model_libraries(Settings(enable_diarization={diarize}))
print(sorted(m for m in ("faster_whisper", "sentence_transformers", "pyannote.audio") if m in sys.modules))
"""


def _imported(diarize: bool) -> str:
    return subprocess.run([sys.executable, "-c", PROBE.format(diarize=diarize)], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_the_warm_up_imports_what_the_settings_use():
    assert _imported(True) == "['faster_whisper', 'pyannote.audio', 'sentence_transformers']"
    assert _imported(False) == "['faster_whisper', 'sentence_transformers']"
