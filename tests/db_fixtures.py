"""A private embedded PostgreSQL + pgvector for a test module (the database tests need known contents).

Why not the session's data folder from conftest: other modules ingest into that database, and search results
or row counts checked here must not depend on which tests ran before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from vidscribe.db import stop_embedded_server
from vidscribe.settings import Settings, load_settings

#: Variables that would point the settings at another database or embedding size than the offline default.
_DATABASE_VARIABLES = ("DATABASE_URL", "VIDSCRIBE_DATABASE_URL", "VIDSCRIBE_TEXT_EMBEDDING_DIM")


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings isolated from the developer's environment and `.env` (no DATABASE_URL leaking in)."""
    return load_settings(data_dir=data_dir, _env_file=None, **overrides)


@contextmanager
def embedded_database(data_dir: Path) -> Iterator[Settings]:
    """Settings whose database is a fresh embedded server in `data_dir`, stopped again on exit."""
    with pytest.MonkeyPatch.context() as mp:
        for name in _DATABASE_VARIABLES:
            mp.delenv(name, raising=False)
        settings = make_settings(data_dir)
        try:
            yield settings
        finally:
            stop_embedded_server(settings)
