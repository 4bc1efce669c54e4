"""`vidscribe demo` as a new user runs it: a fresh data folder, no Prefect server of their own, a headless
machine (no XDG_RUNTIME_DIR), output to a pipe. Everything it prints must be the transcript and the hits."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.db_fixtures import make_settings
from vidscribe.db import stop_embedded_server


@pytest.fixture
def demo_home(tmp_path: Path) -> Iterator[Path]:
    """The new user's home; the embedded server the demo leaves running (by design: the next command reuses
    it) is stopped afterwards, so the suite leaves no PostgreSQL behind."""
    yield tmp_path
    stop_embedded_server(make_settings(tmp_path / "data"))


def test_demo_prints_the_transcript_and_hits_and_nothing_else(demo_home):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PREFECT_", "XDG_")) and key != "DO_NOT_TRACK"}
    env.update({"HOME": str(demo_home), "VIDSCRIBE_DATA_DIR": str(demo_home / "data"), "COLUMNS": "80"})
    result = subprocess.run([sys.executable, "-m", "vidscribe", "demo"], capture_output=True, text=True, env=env,
                            cwd=demo_home, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr == ""  # no traceback, no warning, no log line
    lines = result.stdout.splitlines()
    transcript = [line for line in lines if re.match(r"\d\d:\d\d SPEAKER_0\d: ", line)]
    hits = [line for line in lines if re.match(r"\d\.\d{3} SPEAKER_0\d in sample at \d\d:\d\d$", line)]
    assert len(transcript) >= 5 and "Sheila" in " ".join(transcript)
    assert len(hits) == 3 and "Sheila" in lines[lines.index(hits[0]) + 1]  # the best hit says where she is from
    assert not [line for line in lines if re.search(r"Traceback|Warning|WARNING|ERROR", line)]
    # every line is whole: nothing wrapped at the pipe's 80 columns
    assert all(line.startswith(("──", "  ")) or line in transcript or line in hits for line in lines), lines
