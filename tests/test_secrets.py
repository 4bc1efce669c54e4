"""End-to-end secrets audit: run real work with recognisable secrets set, then search everything for them.

The secrets: a Hugging Face token (HF_TOKEN), a cookie value in a Netscape cookies file
(VIDSCRIBE_COOKIES_FILE) and the password of DATABASE_URL (the embedded server's own URL with a password
added: it trusts local connections, so the password is carried everywhere but never checked).

The work: a backfill of a feed on 127.0.0.1 (one episode ingested, one answering 404), an ingest of a URL
that is not there, and an ingest against an unreachable DATABASE_URL. Each goes through the real Prefect
flows against the session's Prefect test server.

Where the secrets must not appear: logs at DEBUG (vidscribe, yt-dlp, Prefect), stdout/stderr, exception
texts, progress events, Prefect flow runs (names, parameters, states and their messages), task runs and their
states, artifacts, logs stored by the API, the Prefect server database file, the Prefect result storage
(pickles, searched as raw bytes and base64-decoded), every row of every table in PostgreSQL, every file under
the data folder (the embedded server's files and log included; model weights excepted) and `repr(settings)`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import logging
import os
import pickle
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from vidscribe_flows.backfill import backfill_channel
from vidscribe_flows.ingest import ingest_video
from vidscribe.errors import BadInputError
from vidscribe.db import DatabaseUnavailableError, get_engine
from vidscribe.db.engine import database_url
from vidscribe.runtime import get_runtime
from vidscribe.settings import Settings, get_settings, load_settings, section

HF_SECRET = "hf_SECRETtoken123audit"
COOKIE_SECRET = "COOKIE_SECRET_456audit"
DB_SECRET = "DBPASS_SECRET_789audit"
SECRETS = (HF_SECRET, COOKIE_SECRET, DB_SECRET)
_BASE64 = re.compile(rb"[A-Za-z0-9+/\r\n]{24,}={0,2}")  # line-wrapped too: Prefect wraps pickled exceptions


def _json_strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


def _decoded_blobs(data: bytes) -> Iterator[bytes]:
    """Base64 runs in `data` (and in its JSON strings), decoded: Prefect stores pickled results and exceptions
    base64-encoded, in a JSON record or line-wrapped in a file of their own."""
    chunks = [data]
    try:
        chunks += [text.encode() for text in _json_strings(json.loads(data))]
    except (ValueError, UnicodeDecodeError):
        pass
    for chunk in chunks:
        for match in _BASE64.finditer(chunk):
            blob = re.sub(rb"\s", b"", match.group())
            try:
                yield base64.b64decode(blob + b"=" * (-len(blob) % 4))
            except (binascii.Error, ValueError):
                continue


class Audit:
    """Collects where each secret was found; `check` fails the test with every finding at once."""

    def __init__(self) -> None:
        self.findings: list[str] = []
        self.searched: dict[str, int] = {}

    def text(self, where: str, data: str | bytes, decode_base64: bool = False) -> None:
        raw = data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data
        self.searched[where.split(":")[0]] = self.searched.get(where.split(":")[0], 0) + 1
        for secret in SECRETS:
            if secret.encode() in raw:
                self.findings.append(f"{secret} in {where}")
        if decode_base64:
            for blob in _decoded_blobs(raw):
                for secret in SECRETS:
                    if secret.encode() in blob:
                        self.findings.append(f"{secret} in {where} (base64-encoded, e.g. a pickled result)")

    def files(self, where: str, root: Path, skip: tuple[Path, ...] = (), decode_base64: bool = False) -> int:
        count = 0
        for path in sorted(root.rglob("*")) if root.exists() else []:
            if path.is_file() and not path.is_symlink() and not any(path.is_relative_to(s) for s in skip):
                try:
                    data = path.read_bytes()
                except OSError:  # a socket, or a file the server is rotating
                    continue
                self.text(f"{where}: {path.relative_to(root)}", data, decode_base64)
                count += 1
        return count

    def check(self) -> None:
        assert not self.findings, "secrets leaked:\n  " + "\n  ".join(dict.fromkeys(self.findings))


def write_cookies(path: Path) -> Path:
    """A Netscape cookies file for the feed's host, one plain and one HttpOnly entry."""
    path.write_text("# Netscape HTTP Cookie File\n"
                    f"127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\t{COOKIE_SECRET}\n"
                    f"#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tauth\t{COOKIE_SECRET}-httponly\n")
    return path


@pytest.fixture()
def secret_settings(settings: Settings, prefect_api, monkeypatch: pytest.MonkeyPatch,
                    tmp_path: Path) -> Iterator[Settings]:
    """The process-wide settings (what the flows read) with all three secrets set through the environment."""
    cookies = write_cookies(tmp_path / "cookies.txt")  # outside the data folder: it is searched as a whole
    db_url = database_url(settings).set(password=DB_SECRET).render_as_string(hide_password=False)
    monkeypatch.setenv("HF_TOKEN", HF_SECRET)
    monkeypatch.setenv("VIDSCRIBE_COOKIES_FILE", str(cookies))
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("VIDSCRIBE_FETCH_RETRY_SECONDS", "0.05")
    get_settings.cache_clear()
    current = get_settings()
    assert current.hf_token and current.hf_token.get_secret_value() == HF_SECRET
    assert current.database_url and DB_SECRET in current.database_url.get_secret_value()
    assert current.cookies_file == cookies
    try:
        yield current
    finally:
        get_settings.cache_clear()  # the environment is restored next (monkeypatch); then the normal settings


@pytest.fixture()
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture every logger at DEBUG, including Prefect's loggers that do not propagate to the root."""
    for name in ("", "vidscribe", "prefect", "prefect.flow_runs", "prefect.task_runs", "prefect.client",
                 "yt_dlp", "httpx", "sqlalchemy", "alembic"):
        caplog.set_level(logging.DEBUG, logger=name)
    detached = [logging.getLogger(name) for name in ("prefect.extra", "prefect._internal")]
    for logger in detached:
        logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        for logger in detached:
            logger.removeHandler(caplog.handler)


def _paged(read, **options) -> list:
    """Every item of a Prefect API listing (the server answers at most 200 per request)."""
    items, offset = [], 0
    while True:
        page = read(limit=200, offset=offset, **options)
        items += page
        if len(page) < 200:
            return items
        offset += 200


def _prefect_records(audit: Audit, started: datetime) -> dict[str, list[str]]:
    """Search what the Prefect API holds about the runs since `started`; returns run names by kind."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterStartTime,
        TaskRunFilter,
        TaskRunFilterStartTime,
    )
    from prefect.client.schemas.objects import Artifact
    from prefect.client.schemas.sorting import FlowRunSort, LogSort, TaskRunSort

    names: dict[str, list[str]] = {"flow_runs": [], "task_runs": [], "artifacts": []}
    with get_client(sync_client=True) as client:
        flow_runs = _paged(client.read_flow_runs, sort=FlowRunSort.START_TIME_ASC,
                           flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(after_=started)))
        for run in flow_runs:
            names["flow_runs"].append(run.name)
            audit.text(f"prefect flow run {run.name}", run.model_dump_json())  # parameters, state, message
            audit.text(f"prefect flow run {run.name} parameters", json.dumps(run.parameters, default=str))
            for state in client.read_flow_run_states(run.id):
                audit.text(f"prefect flow run {run.name} state {state.type.value}", state.model_dump_json())
        task_runs = _paged(client.read_task_runs, sort=TaskRunSort.EXPECTED_START_TIME_ASC,
                           task_run_filter=TaskRunFilter(start_time=TaskRunFilterStartTime(after_=started)))
        for run in task_runs:
            names["task_runs"].append(run.name)
            audit.text(f"prefect task run {run.name}", run.model_dump_json())  # inputs, cache key, state
            for state in client.read_task_run_states(run.id):
                audit.text(f"prefect task run {run.name} state {state.type.value}", state.model_dump_json())
        # The sync client's read_artifacts sends `null` filters, which this server refuses: ask the endpoint.
        def read_artifacts(limit: int, offset: int) -> list[Artifact]:
            response = client.request("POST", "/artifacts/filter",
                                      json={"limit": limit, "offset": offset, "sort": "CREATED_DESC"})
            return [Artifact.model_validate(item) for item in response.json()]

        for artifact in _paged(read_artifacts):
            names["artifacts"].append(artifact.key or artifact.type or "")
            audit.text(f"prefect artifact {artifact.key or artifact.id}", artifact.model_dump_json())
        for log in _paged(client.read_logs, sort=LogSort.TIMESTAMP_ASC):
            audit.text("prefect API log", log.model_dump_json())
    return names


def _database_rows(audit: Audit, settings: Settings) -> dict[str, int]:
    """Every row of every table in the public schema, as JSON text (videos, channels, segments, profiles...)."""
    counts = {}
    with get_engine(settings).connect() as conn:
        tables = conn.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).scalars().all()
        for table in tables:
            rows = conn.execute(text(f'SELECT row_to_json(t)::text FROM public."{table}" t')).scalars().all()
            counts[table] = len(rows)
            for row in rows:
                audit.text(f"database table {table}", row)
    return counts


def _prefect_server_database() -> Path | None:
    """The SQLite file of the Prefect test server (its flow runs, states, artifacts, logs)."""
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

    url = PREFECT_SERVER_DATABASE_CONNECTION_URL.value() or ""
    path = Path(url.split(":///", 1)[-1]) if url.startswith("sqlite") else None
    return path if path and path.exists() else None


def test_secrets_appear_nowhere_after_real_work(secret_settings, make_feed, podcast_episodes, debug_logs, capfd):
    started = datetime.now(timezone.utc)
    audit = Audit()
    events = []
    unsubscribe = get_runtime().bus.subscribe(events.append)
    exceptions: list[BaseException] = []
    try:
        # 1. a backfill: one episode ingested through every stage, one removed from the host (404)
        good, gone = (dataclasses.replace(e, slug=f"secrets-{e.slug}", guid=f"urn:secrets:{e.slug}")
                      for e in podcast_episodes[:2])
        server = make_feed(episodes=[good])
        server.add(gone, served=False)
        summary = backfill_channel(server.feed_url)
        outcome = {o.source_id: o for o in summary.outcomes}
        assert outcome[f"generic:{good.item_guid}"].status == "done", outcome
        assert outcome[f"generic:{gone.item_guid}"].status == "failed"
        assert "404" in outcome[f"generic:{gone.item_guid}"].error

        # 2. a failing ingest of one URL (the flow fails; Prefect records the exception)
        with pytest.raises(BadInputError) as missing:
            ingest_video(server.url("/episodes/never-there.mp3"))
        exceptions.append(missing.value)

        # 3. a failing ingest against an unreachable database whose URL carries the password
        unreachable = database_url(secret_settings).set(host="127.0.0.1", port=1, query={})
        os.environ["DATABASE_URL"] = unreachable.render_as_string(hide_password=False)  # restored by monkeypatch
        get_settings.cache_clear()
        with pytest.raises(DatabaseUnavailableError) as unavailable:
            ingest_video(server.url(good.path))
        exceptions.append(unavailable.value)
        os.environ["DATABASE_URL"] = database_url(secret_settings).render_as_string(hide_password=False)
        get_settings.cache_clear()
        assert get_settings().database_url.get_secret_value() == secret_settings.database_url.get_secret_value()
    finally:
        unsubscribe()
    out, err = capfd.readouterr()

    # --- what this process said
    audit.text("captured log text", debug_logs.text)
    for record in debug_logs.records:
        audit.text(f"log record {record.name}", f"{record.getMessage()} {record.args!r} {record.exc_text or ''}")
    audit.text("stdout", out)
    audit.text("stderr", err)
    for exc in exceptions:
        audit.text(f"exception {type(exc).__name__}", f"{exc} {exc!r} {exc.__cause__!r} {exc.__context__!r}")
    audit.text("backfill summary", repr(summary))
    audit.text("progress events", repr(events))
    audit.text("settings", f"{secret_settings!r} {secret_settings} {secret_settings.model_dump_json()}")
    everything = section("EverySetting", *Settings.model_fields).of(secret_settings)  # what cache keys are made of
    audit.text("settings sections", f"{everything.model_dump_json()} {everything.cache_key()}")

    # --- what Prefect holds
    runs = _prefect_records(audit, started)
    assert any(name.startswith("backfill ") for name in runs["flow_runs"]), runs["flow_runs"]
    assert len(runs["flow_runs"]) >= 5 and len(runs["task_runs"]) >= 8, runs  # really searched
    assert any(key.startswith("backfill-") for key in runs["artifacts"]), runs["artifacts"]
    storage = Path(os.environ["PREFECT_LOCAL_STORAGE_PATH"])
    assert audit.files("prefect result storage", storage, decode_base64=True) >= 1
    prefect_home = Path(os.environ["PREFECT_HOME"])
    audit.files("prefect home", prefect_home, skip=(storage,), decode_base64=True)
    server_db = _prefect_server_database()
    assert server_db is not None, "the Prefect test server's database file was not found"
    audit.files("prefect server database", server_db.parent, decode_base64=True)

    # --- what vidscribe stored
    counts = _database_rows(audit, secret_settings)
    assert counts["videos"] >= 2 and counts["segments"] >= 1 and "channels" in counts, counts
    data_files = audit.files("data folder", secret_settings.data_dir, skip=(secret_settings.models_dir,))
    assert data_files >= 3

    audit.check()


def test_settings_pickle_their_secrets_so_they_must_never_be_persisted(secret_settings):
    """SecretStr hides a value from repr and JSON, not from pickle: a persisted Settings object would store
    the token and the password in plain text. The audit above proves no result holds one; this test keeps
    the hazard visible (if it ever fails, Settings stopped pickling secrets and the note can go)."""
    pickled = pickle.dumps(secret_settings)
    assert HF_SECRET.encode() in pickled and DB_SECRET.encode() in pickled
    assert HF_SECRET not in repr(secret_settings) and DB_SECRET not in secret_settings.model_dump_json()


def test_the_audit_finds_secrets_in_every_encoding_it_searches(tmp_path):
    """The audit is only as good as its search: a pickled Settings in a Prefect result record, a line-wrapped
    base64 pickle and a plain log line must all be found (guards against a vacuous pass)."""
    leaky = load_settings(hf_token=HF_SECRET, database_url=DB_SECRET)
    pickled = pickle.dumps(leaky)
    record = {"metadata": {"serializer": {"type": "pickle"}}, "result": base64.b64encode(pickled).decode()}
    (tmp_path / "record").write_text(json.dumps(record))
    (tmp_path / "wrapped").write_bytes(base64.encodebytes(pickle.dumps(RuntimeError(f"x {COOKIE_SECRET}"))))
    audit = Audit()
    audit.files("storage", tmp_path, decode_base64=True)
    audit.text("log", f"token={HF_SECRET}")
    found = "\n".join(audit.findings)
    assert f"{HF_SECRET} in storage: record (base64-encoded" in found
    assert f"{DB_SECRET} in storage: record (base64-encoded" in found
    assert f"{COOKIE_SECRET} in storage: wrapped (base64-encoded" in found
    assert f"{HF_SECRET} in log" in found
    with pytest.raises(AssertionError, match="secrets leaked"):
        audit.check()
