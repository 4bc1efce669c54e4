"""A private world for one benchmark: data folder, embedded PostgreSQL, Prefect result storage and API.

Why: the benchmark must never touch the user's archive (their database, downloads, decoded-audio cache or
Prefect results) and must start cold every time: a cached stage result or decoded file from an earlier run
would make the pipeline look faster than it is. Everything lives in one temporary folder that is removed at
the end; the environment is restored on exit (`mock.patch.dict` puts `os.environ` back as it was).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, PREFECT_SERVER_ANALYTICS_ENABLED, temporary_settings
from prefect.testing.utilities import prefect_test_harness

from vidscribe.db import stop_embedded_server
from vidscribe.db.engine import embedded_server
from vidscribe.runtime import get_runtime
from vidscribe.app.prefect_setup import ensure_prefect_objects
from vidscribe.settings import Settings, get_settings


@contextlib.contextmanager
def private_data() -> Iterator[Path]:
    """A temporary VIDSCRIBE_DATA_DIR with its own embedded PostgreSQL, set before settings are read.

    The database URL is set explicitly to the private server, so neither DATABASE_URL in the environment
    nor one in a `.env` file can point the benchmark at the user's archive.
    """
    root = Path(tempfile.mkdtemp(prefix="vidscribe-bench-"))
    data = root / "data"
    data.mkdir()
    try:
        server = embedded_server(data / "pg")  # stopped below, like `vidscribe`'s own
        private = {"VIDSCRIBE_DATA_DIR": str(data), "VIDSCRIBE_DATABASE_URL": server.get_uri()}
        with mock.patch.dict(os.environ, private):
            get_settings.cache_clear()
            try:
                yield root
            finally:
                stop_embedded_server(get_settings())
    finally:
        get_settings.cache_clear()
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def prefect_api(root: Path) -> Iterator[None]:
    """A temporary Prefect API (server process and database) with result storage under `root`.

    Prefect's test harness is a real `prefect server` in a subprocess on a free port with its own SQLite
    database; its start-up (6-9 s) happens here, outside the timed run. The `gpu` concurrency limit is created
    as `vidscribe prefect-setup` creates it on a real server, so the GPU slot lease does its real work.
    """
    updates = {PREFECT_LOCAL_STORAGE_PATH: root / "prefect-results", PREFECT_SERVER_ANALYTICS_ENABLED: False}
    with temporary_settings(updates=updates), prefect_test_harness(server_startup_timeout=120):
        ensure_prefect_objects(gpu_slots=1)
        yield


def forget_work(settings: Settings) -> None:
    """Remove downloads and decoded audio between the runs, and unload every model: the next run starts cold."""
    shutil.rmtree(settings.data_dir / "downloads", ignore_errors=True)
    shutil.rmtree(settings.audio_cache_dir, ignore_errors=True)
    get_runtime().models.clear()
