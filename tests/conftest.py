"""Shared fixtures: one data folder (embedded PostgreSQL, prepared offline models) and one Prefect test API.

Everything is real: packaged models, the embedded PostgreSQL server, pyannote's sample and speech made with
espeak-ng. The environment is set before any vidscribe or Prefect import reads it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="vidscribe-tests-"))
os.environ.update({
    "HF_HUB_OFFLINE": "1",
    "VIDSCRIBE_DATA_DIR": str(_SESSION_DIR / "data"),
    "VIDSCRIBE_PROFILE": "offline",
    "PREFECT_HOME": str(_SESSION_DIR / "prefect"),
    "PREFECT_LOCAL_STORAGE_PATH": str(_SESSION_DIR / "prefect" / "storage"),
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_TO_API_ENABLED": "false",
})
for name in ("DATABASE_URL", "HF_TOKEN", "ENABLE_DIARIZATION", "ASSUME_MONOLOGUE"):
    os.environ.pop(name, None)

from tests.feed import feed, make_feed, podcast_episodes  # noqa: E402,F401  (fixtures)
from vidscribe.environment import missing_programs  # noqa: E402
from vidscribe.settings import Settings, get_settings  # noqa: E402  (after the environment is set)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop at once, naming them, when programs the suite starts are missing (not 6 errors deep in a run)."""
    missing = missing_programs()
    if shutil.which("setpriv") is None:  # the fault matrix drops root's file-permission override with it
        missing.append("setpriv: runs a test without root's permission override (apt-get install util-linux)")
    if missing:
        pytest.exit("programs the tests need are missing (`make setup` installs them):\n  " + "\n  ".join(missing),
                    returncode=3)


@pytest.fixture(scope="session")
def settings() -> Iterator[Settings]:
    """The offline profile in the session's data folder, with its packaged models prepared; the session's
    embedded PostgreSQL is stopped at the end (it outlives a process by design, not a test session)."""
    from vidscribe.db import stop_embedded_server
    from vidscribe.offline_models import prepare_offline_models

    get_settings.cache_clear()
    current = get_settings()
    prepare_offline_models(current.models_dir)
    yield current
    stop_embedded_server(current)


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """A real Prefect API (the test harness: a temporary server and database) for flow runs."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def sample() -> dict:
    """pyannote's bundled 30 s two-speaker recording with its reference turns and transcript."""
    from pyannote.audio.sample import SAMPLE_FILE

    return SAMPLE_FILE


@pytest.fixture(scope="session")
def voices(tmp_path_factory: pytest.TempPathFactory):
    """Espeak-ng recordings: a dialogue of two voices, a monologue, and reference clips of one voice."""
    from tests.speech import build_voices

    return build_voices(tmp_path_factory.mktemp("voices"))
