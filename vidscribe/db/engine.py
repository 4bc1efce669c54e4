"""Engines for the transcript database, with the schema migrated to head before first use.

Why here and not at import: the database is either DATABASE_URL or an embedded PostgreSQL (pgserver, with
pgvector) that lives in `settings.pg_dir` and keeps running after this process exits, so that every
Prefect worker process shares one server; which one is decided from settings at run time.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import threading
import warnings
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from vidscribe.db.errors import DatabaseUnavailableError, SchemaMismatchError
from vidscribe.settings import Settings, SettingsError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: the newest migration's revision (`tests/test_db.py` checks it is Alembic's head)
HEAD_REVISION = "0005"
CONNECT_TIMEOUT_SECONDS = 5
#: Any constant: serialises concurrent first-time migrations of several worker processes.
_MIGRATION_LOCK_ID = 0x76696473

if TYPE_CHECKING:
    import pgserver

_engines: dict[str, Engine] = {}
_migrated: set[tuple[str, int]] = set()
_lock = threading.Lock()


def database_url(settings: Settings) -> URL:
    """DATABASE_URL when set, else the URI of the embedded server (started if needed), for psycopg 3."""
    if settings.database_url is not None:
        try:
            url = make_url(settings.database_url.get_secret_value())
            url.port  # noqa: B018 (SQLAlchemy parses the port lazily: a non-number fails here, not at connect)
        except (ArgumentError, ValueError):  # the message would show the URL, password included
            raise SettingsError("DATABASE_URL is not a valid PostgreSQL URL; give one like "
                                "postgresql://user:password@host:5432/database") from None
    else:
        url = make_url(embedded_server(settings.pg_dir).get_uri())
    return _with_psycopg(url)


def _pgserver() -> ModuleType:
    """pgserver, imported on first use (a DATABASE_URL user never needs it).

    pgserver asks platformdirs for a runtime folder at import; on a headless machine without
    XDG_RUNTIME_DIR, platformdirs warns and falls back to /tmp/runtime-<uid>, which serves pgserver's lock
    and sockets as well. The warning says nothing a user can act on, so it is silenced here.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import pgserver
    return pgserver


def embedded_server(pg_dir: Path) -> "pgserver.PostgresServer":
    """Start (or join) the embedded server; cleanup_mode=None keeps it running for the next process."""
    pgserver = _pgserver()
    try:
        pg_dir.parent.mkdir(parents=True, exist_ok=True)
        return pgserver.get_server(pg_dir, cleanup_mode=None)
    except (OSError, subprocess.SubprocessError) as exc:
        raise DatabaseUnavailableError(
            f"the embedded PostgreSQL in {pg_dir} did not start ({exc}); see {pg_dir / 'log'}, "
            f"or set DATABASE_URL to use another server"
        ) from exc


def _with_psycopg(url: URL) -> URL:
    """Accept plain `postgresql://` URLs; SQLAlchemy would otherwise pick psycopg2, which is not installed."""
    if url.drivername in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    return url


def _key(url: URL) -> str:
    """Cache key: the full URL, password included, so two logins to one server get separate engines."""
    return url.render_as_string(hide_password=False)


def describe(url: URL) -> str:
    """Where a URL points, for messages: host, port and database, never the user's password."""
    host = url.host or f"socket {url.query.get('host', 'default')}"
    port = f":{url.port}" if url.port else ""
    return f"{host}{port}/{url.database or ''}"


def get_engine(settings: Settings) -> Engine:
    """The process's engine for the configured database, its schema migrated for this embedding dimension."""
    url = database_url(settings)
    key = _key(url)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            # Each video in flight holds one connection for its claim (see queries.exclusive), so the pool
            # grows with the backfill's parallelism on top of the default.
            engine = create_engine(
                url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
                pool_size=5 + settings.backfill_parallel, max_overflow=10,
            )
            event.listen(engine, "handle_error", _outage)
            _engines[key] = engine
    assert settings.text_embedding_dim is not None  # filled by the settings profile
    ensure_schema(engine, settings.text_embedding_dim)
    return engine


def ensure_schema(engine: Engine, embedding_dim: int) -> None:
    """Migrate to head once per process, URL and dimension; check the stored dimension matches."""
    key = (_key(engine.url), embedding_dim)
    if key in _migrated:
        return
    try:
        with engine.begin() as conn:
            if _revision(conn) != HEAD_REVISION:  # Alembic (a second of imports) only when there is work for it
                _upgrade(conn, embedding_dim)
            stored = conn.execute(text(
                "SELECT atttypmod FROM pg_attribute WHERE attrelid = 'segments'::regclass AND attname = 'embedding'"
            )).scalar_one()
    except OperationalError as exc:
        raise _unavailable(engine.url, exc) from None
    if stored != embedding_dim:
        raise SchemaMismatchError(
            f"the database at {describe(engine.url)} stores {stored}-dimensional text embeddings, but "
            f"text_embedding_dim is {embedding_dim}; use a new database (another DATABASE_URL or data_dir) "
            f"or the text embedding model the database was built with"
        )
    _migrated.add(key)


def _revision(conn: Connection) -> str | None:
    """The schema revision the database is at (None before the first migration)."""
    if conn.execute(text("SELECT to_regclass('alembic_version')")).scalar_one() is None:
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def _upgrade(conn: Connection, embedding_dim: int) -> None:
    """Migrate to head under a lock, so several worker processes starting at once migrate one after another."""
    from alembic import command
    from alembic.config import Config

    conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["embedding_dim"] = embedding_dim
    config.attributes["connection"] = conn
    command.upgrade(config, "head")


def _outage(context: ExceptionContext) -> DatabaseUnavailableError | None:
    """The engine's `handle_error` hook: a refused or lost connection becomes a DatabaseUnavailableError.

    Why: a database that goes away mid-run would otherwise surface as a driver traceback from whichever
    query hit it first (or from the cleanup after it); this way a flow fails with one line naming the server,
    and the CLI prints it like a failure at start-up. Errors of a statement (constraints, data) stay
    SQLAlchemy's; a failed pre-ping is left to the pool, which reconnects (and so recovers after an outage).
    """
    lost = context.is_disconnect or context.connection is None  # no connection: it failed while connecting
    if context.is_pre_ping or not lost or context.engine is None or context.sqlalchemy_exception is None:
        return None
    return _unavailable(context.engine.url, context.sqlalchemy_exception)


def _unavailable(url: URL, exc: DBAPIError) -> DatabaseUnavailableError:
    """A one-line reason from the driver, scrubbed of the password in case the driver echoes it."""
    lines = str(exc.orig or exc).strip().splitlines()
    reason = lines[0] if lines else "unknown error"
    if url.password:
        reason = reason.replace(str(url.password), "***")
    hint = ("check that the server is up and DATABASE_URL points at it; `vidscribe retry` re-runs the videos an "
            "outage interrupted" if url.host else "the embedded server may have stopped; run the command again")
    return DatabaseUnavailableError(f"cannot reach PostgreSQL at {describe(url)}: {reason}; {hint}")


def stop_embedded_server(settings: Settings) -> None:
    """Stop the embedded server of `settings.pg_dir` (tests, `vidscribe db stop`); engines on it are dropped."""
    pg_dir = settings.pg_dir.expanduser().resolve()
    if not (pg_dir / "postmaster.pid").exists():
        return
    server = embedded_server(pg_dir)
    key = _key(_with_psycopg(make_url(server.get_uri())))
    with _lock:
        engine = _engines.pop(key, None)
        if engine is not None:
            engine.dispose()
        _migrated.difference_update({done for done in _migrated if done[0] == key})
    pgserver = _pgserver()
    pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pg_dir, user=server.system_user)
    # pgserver keeps one handle per data dir per process, plus an atexit hook that expects it: forget both,
    # so that a later get_server in this process starts the server afresh instead of returning a dead handle.
    atexit.unregister(server._cleanup)
    pgserver.PostgresServer._instances.pop(pg_dir, None)


def _dispose_inherited() -> None:
    """In a forked child, forget the parent's pooled connections without closing the parent's sockets."""
    for engine in _engines.values():
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_dispose_inherited)
