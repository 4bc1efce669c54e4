"""The bad-input and fault matrix, tried through the real CLI (`python -m vidscribe`) as a user would.

Each case asserts what the README promises: the exit status (0 done, 1 failed input, 2 usage, 130 interrupted),
one line on stderr naming the input and the fix (no traceback, no warning, no line wrapped in a pipe; a batch
says one line per failed video), the database after (a failed row with the reason, or the video stored exactly
once), and that nothing stored before was lost or duplicated and no secret was printed or stored.

`benchmarks/fault_matrix.py` runs this module and prints the tally the README quotes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import text

from tests.feed import CHANNEL_TITLE
from tests.speech import ALICE_VOICE, BOB_VOICE, DIALOGUE
from vidscribe.app.bench.feed_server import Episode, FeedServer, to_mp3
from vidscribe.app.bench.speech import speak
from vidscribe.audio import SAMPLE_RATE
from vidscribe.db import get_engine
from vidscribe.db.engine import embedded_server
from vidscribe.sources import local_info

#: in every run's environment: it must appear in no output and nowhere in the database
SECRET = "hf_matrixSecret0123456789"
DB_PASSWORD = "pw-matrix-5e2f"
#: where `benchmarks/fault_matrix.py` wants the tally
REPORT = os.environ.get("VIDSCRIBE_MATRIX_REPORT")
RECORDS: list[dict[str, object]] = []


@dataclass
class Run:
    """One CLI run's result."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    seconds: float


@dataclass
class World:
    """What the cases share: input files, a feed host, the archive, and how to run the CLI."""

    folder: Path
    feed: FeedServer
    engine: object
    api_url: str
    env: dict[str, str]
    files: dict[str, Path] = field(default_factory=dict)

    def cli(self, *args: str, env: dict[str, str] | None = None, timeout: float = 300,
            prefix: tuple[str, ...] = ()) -> Run:
        started = time.monotonic()
        done = subprocess.run([*prefix, sys.executable, "-m", "vidscribe", *args], capture_output=True, text=True,
                              env={**self.env, **(env or {})}, timeout=timeout)
        return Run(args, done.returncode, done.stdout, done.stderr, time.monotonic() - started)

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """A CLI run in a session of its own (a terminal's process group: Ctrl-C goes to all of it)."""
        return subprocess.Popen([sys.executable, "-m", "vidscribe", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env={**self.env, **(env or {})},
                                start_new_session=True)

    def video(self, source_id: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(text("SELECT id, status, error, warning, attempts FROM videos WHERE source_id = :s"),
                               {"s": source_id}).mappings().first()
            return dict(row) if row else None

    def videos_at(self, url: str) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(
                "SELECT source_id, status, error FROM videos WHERE url = :u"), {"u": url}).mappings()]

    def segments(self, source_id: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM segments s JOIN videos v ON v.id = s.video_id "
                                     "WHERE v.source_id = :s"), {"s": source_id}).scalar_one()


def clip(folder: Path, name: str, sentence: str, voice: str = ALICE_VOICE, gain: float = 1.0) -> Path:
    """A few seconds of speech; `gain` makes otherwise equal clips different files (the archive key is the
    content's hash)."""
    path = folder / name
    sf.write(path, speak(sentence, voice) * gain, SAMPLE_RATE)
    return path


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def episode(slug: str, title: str, sentence: str, day: int, guid: str | None = None) -> Episode:
    samples = speak(sentence, BOB_VOICE)
    return Episode(slug, title, datetime(2025, 3, day, 9, tzinfo=timezone.utc), to_mp3(samples),
                   len(samples) / SAMPLE_RATE, guid=guid)


@pytest.fixture(scope="module")
def world(settings, prefect_api, tmp_path_factory) -> Iterator[World]:
    from prefect.settings import PREFECT_API_URL

    folder = tmp_path_factory.mktemp("matrix")
    files = {
        "speech": clip(folder, "speech.wav", "Bees visit thousands of flowers to fill a single jar of honey."),
        "long": folder / "long.wav",
    }
    # distinct sentences: repeated text compresses like a hallucination loop, and is flagged
    long_speech = np.concatenate([speak(line, ALICE_VOICE) for _, line in DIALOGUE])
    sf.write(files["long"], long_speech, SAMPLE_RATE)
    ffmpeg("-i", str(files["speech"]), "-af", "volume=0.95", "-ac", "8", "-ar", "48000", str(folder / "8ch.wav"))
    ffmpeg("-i", str(files["speech"]), "-af", "volume=0.9", "-ar", "8000", "-acodec", "pcm_mulaw",
           str(folder / "phone.wav"))
    ffmpeg("-i", str(files["long"]), "-b:a", "64k", str(folder / "full.mp3"))
    whole = (folder / "full.mp3").read_bytes()
    (folder / "truncated.mp3").write_bytes(whole[: len(whole) // 2])
    ffmpeg("-f", "lavfi", "-i", "testsrc=d=2:s=64x64", "-an", str(folder / "screen.mp4"))
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono:d=3", str(folder / "silent.wav"))
    (folder / "empty.wav").write_bytes(b"")
    (folder / "random.mp3").write_bytes(np.random.default_rng(7).bytes(20_000))
    (folder / "notes.wav").write_text("these are my notes, not a recording\n" * 30)
    (folder / "episodes").mkdir()
    os.symlink(folder / "loop-b.wav", folder / "loop-a.wav")
    os.symlink(folder / "loop-a.wav", folder / "loop-b.wav")
    odd = folder / "odd names"
    odd.mkdir()
    for i, name in enumerate(["it's \"quoted\".wav", "$(touch pwned).wav", "Café ☕ 会议.wav",
                              "talk [bold] final [red].wav"]):
        shutil.copy(clip(folder, f"odd{i}.wav", "Honey bees keep their brood warm.", gain=1 - i / 50), odd / name)
    mixed = folder / "mixed"
    mixed.mkdir()
    shutil.copy(clip(folder, "good.wav", "Tomatoes need six hours of sun every day.", BOB_VOICE), mixed / "good.wav")
    shutil.copy(folder / "notes.wav", mixed / "broken.wav")
    files.update({p.stem if p.suffix else p.name: p for p in folder.iterdir()})
    with FeedServer([episode("ep-a", "Tomatoes on a balcony", "Tomatoes need sun and water.", 1)],
                    CHANNEL_TITLE) as feed:
        env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "HF_TOKEN": SECRET,
               "VIDSCRIBE_FETCH_RETRY_SECONDS": "0.2", "COLUMNS": "80"}
        yield World(folder, feed, get_engine(settings), PREFECT_API_URL.value(), env, files)
    if REPORT:
        Path(REPORT).write_text(json.dumps(RECORDS, indent=1))


@pytest.fixture(autouse=True)
def archive_kept(request, world: World) -> Iterator[None]:
    """Nothing stored before a case is lost, nothing is stored twice, no secret is stored."""
    before = _done(world)
    yield
    after = _done(world)
    with world.engine.connect() as conn:
        copies = conn.execute(text("SELECT count(*) - count(DISTINCT (video_id, start, text)) FROM segments")).scalar()
        leaks = conn.execute(text("SELECT count(*) FROM videos WHERE error LIKE :s OR url LIKE :s OR title LIKE :s"),
                             {"s": f"%{SECRET}%"}).scalar()
    record = RECORDS[-1] if RECORDS and RECORDS[-1].get("test") == request.node.nodeid else None
    if record is not None:
        record.update(lost=len(before - after), duplicated=copies, stored_secrets=leaks)
    assert before <= after, f"lost: {before - after}"
    assert copies == 0 and leaks == 0


def _done(world: World) -> set[tuple[str, int]]:
    with world.engine.connect() as conn:
        return {(r[0], r[1]) for r in conn.execute(text(
            "SELECT v.source_id, count(s.id) FROM videos v LEFT JOIN segments s ON s.video_id = v.id "
            "WHERE v.status = 'done' GROUP BY v.source_id"))}


# --- what each case checks after its run(s)

def failed_row(key: Callable[[World], str], reason: str) -> Callable[[World, Run], None]:
    def check(world: World, run: Run) -> None:
        row = world.video(key(world))
        assert row is not None and row["status"] == "failed" and reason in row["error"], row
    return check


def stored_once(key: Callable[[World], str]) -> Callable[[World, Run], None]:
    def check(world: World, run: Run) -> None:
        row = world.video(key(world))
        assert row is not None and row["status"] == "done" and world.segments(key(world)) >= 1, row
    return check


def nothing_recorded(world: World, run: Run) -> None:
    """A path that is not a file has no identity: nothing is recorded (and there is nothing to retry)."""
    assert world.video(f"file:{run.args[1]}") is None


def file_key(name: str) -> Callable[[World], str]:
    return lambda world: local_info(world.files[name]).source_id


def stored_url(path: str) -> Callable[[World, Run], None]:
    def check(world: World, run: Run) -> None:
        rows = world.videos_at(world.feed.url(path))
        assert [r["status"] for r in rows] == ["done"] and world.segments(rows[0]["source_id"]) >= 1, rows
    return check


def failed_url(path: str, reason: str) -> Callable[[World, Run], None]:
    def check(world: World, run: Run) -> None:
        rows = world.videos_at(world.feed.url(path))
        assert [r["status"] for r in rows] == ["failed"] and reason in rows[0]["error"], rows
    return check


@dataclass(frozen=True)
class Case:
    name: str
    args: Callable[[World], list[str]]
    code: int
    line: str = ""  # a part of stderr's one line ("": stderr stays empty)
    check: Callable[[World, Run], None] | None = None
    env: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[World], None] | None = None
    lines: int = 1  # stderr lines when `line` is given (a batch: one per failed video)
    prefix: tuple[str, ...] = ()  # a program the CLI runs under


def ingest(name: str) -> Callable[[World], list[str]]:
    return lambda world: ["ingest", str(world.files[name]), "--quiet"]


def url(path: str) -> Callable[[World], list[str]]:
    return lambda world: ["ingest", world.feed.url(path), "--quiet"]


def serve_episode(path: str, failures: int = 0, status: int = 500) -> Callable[[World], None]:
    def prepare(world: World) -> None:
        world.feed.serve(path, to_mp3(speak("Water deeply twice a week in summer.", BOB_VOICE)))
        if failures:
            world.feed.fail(path, failures, status)
    return prepare


def serve(path: str, body: bytes, content_type: str) -> Callable[[World], None]:
    return lambda world: world.feed.serve(path, body, content_type)


def serve_feed(path: str, episodes: list[Episode]) -> Callable[[World], None]:
    def prepare(world: World) -> None:
        from vidscribe.app.bench.feed_server import rss

        for item in episodes:
            world.feed.serve(item.path, item.audio)
        world.feed.serve(path, rss("Matrix feed", world.feed.home_url, episodes, world.feed.url),
                         "application/rss+xml")
    return prepare


def dup_guid_check(world: World, run: Run) -> None:
    with world.engine.connect() as conn:
        rows = list(conn.execute(text("SELECT source_id, status, title FROM videos WHERE source_id LIKE "
                                      "'generic:same-guid%' ORDER BY title")))
    assert [(r.title, r.status) for r in rows] == [("First", "done"), ("Second", "done")], rows
    assert "shared another's id" in run.stdout


def brackets_check(world: World, run: Run) -> None:
    status = world.cli("status")
    assert status.code == 0 and status.stderr == "" and "Ask us anything [/r/podcasts] episode" in status.stdout


def odd_names_check(world: World, run: Run) -> None:
    for path in (world.folder / "odd names").iterdir():
        assert world.video(local_info(path).source_id)["status"] == "done", path
    assert not (world.folder / "odd names" / "pwned").exists() and not Path("pwned").exists()


def mixed_check(world: World, run: Run) -> None:
    assert world.video(local_info(world.folder / "mixed" / "good.wav").source_id)["status"] == "done"
    assert "1 done, 1 failed" in run.stdout


def truncated_check(world: World, run: Run) -> None:
    row = world.video(file_key("truncated")(world))
    assert row["status"] == "done" and "ended early" in row["warning"], row


def quiet_search(world: World, run: Run) -> None:
    assert run.stdout.strip() and world.cli("status").code == 0  # tables intact after the query


def unreadable(world: World) -> list[str]:
    """A file with no read permission (the run drops root's power to override permissions: see `NO_OVERRIDE`)."""
    locked = world.folder / "locked.wav"
    shutil.copy(world.files["speech"], locked)
    os.chmod(locked, 0)
    return ["ingest", str(locked), "--quiet"]


#: run the CLI without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH: as root (the suite's user) it then meets file
#: permissions as any other user would (setpriv: util-linux, on every Debian system)
NO_OVERRIDE = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--")


SPEECH = file_key("speech")
CASES = [
    # local paths
    Case("missing path", lambda w: ["ingest", str(w.folder / "nope.wav"), "--quiet"], 1, "nope.wav: no such file",
         nothing_recorded),
    Case("symlink loop", ingest("loop-a"), 1, "symbolic link that leads nowhere", nothing_recorded),
    Case("folder", ingest("episodes"), 1, "is a folder; give a media file, or `vidscribe backfill", nothing_recorded),
    Case("0-byte file", ingest("empty"), 1, "the file is empty (0 bytes)", failed_row(file_key("empty"), "empty")),
    Case("random bytes", ingest("random"), 1, "not a readable audio or video file",
         failed_row(file_key("random"), "not a readable")),
    Case("text file", ingest("notes"), 1, "not a readable audio or video file",
         failed_row(file_key("notes"), "not a readable")),
    Case("no audio stream", ingest("screen"), 1, "contains no audio stream",
         failed_row(file_key("screen"), "no audio stream")),
    Case("silent", ingest("silent"), 1, "the recording is silent", failed_row(file_key("silent"), "silent")),
    Case("truncated mp3", ingest("truncated"), 0, "the media ended early", truncated_check),
    Case("8-channel 48 kHz", ingest("8ch"), 0, check=stored_once(file_key("8ch"))),
    Case("8 kHz phone audio", ingest("phone"), 0, check=stored_once(file_key("phone"))),
    Case("odd file names", lambda w: ["backfill", str(w.folder / "odd names"), "--quiet"], 0, check=odd_names_check),
    Case("folder with a broken file", lambda w: ["backfill", str(w.folder / "mixed"), "--quiet"], 1,
         "broken.wav: not a readable audio or video file", mixed_check),
    Case("unreadable file", unreadable, 1, "cannot be read (permission denied)", nothing_recorded,
         prefix=NO_OVERRIDE),
    # URLs
    Case("malformed URL", lambda w: ["ingest", "http://", "--quiet"], 1, "not a valid URL"),
    Case("closed port", lambda w: ["ingest", "http://127.0.0.1:9/episode.mp3", "--quiet"], 1,
         "refused the connection"),
    Case("404", url("/episodes/removed.mp3"), 1, "not found on the server",
         failed_url("/episodes/removed.mp3", "not found")),
    Case("HTML page", url("/login.html"), 1, "serves a web page", failed_url("/login.html", "web page"),
         prepare=serve("/login.html", b"<html><body><form>Sign in</form></body></html>", "text/html")),
    Case("500 then 200", url("/episodes/flaky.mp3"), 0, check=stored_url("/episodes/flaky.mp3"),
         prepare=serve_episode("/episodes/flaky.mp3", failures=1)),
    Case("always 500", url("/episodes/down.mp3"), 1, "kept failing", failed_url("/episodes/down.mp3", "kept failing"),
         prepare=serve_episode("/episodes/down.mp3", failures=50)),
    # feeds
    Case("malformed feed", lambda w: ["backfill", w.feed.url("/broken.xml"), "--quiet"], 1,
         "the feed is not well-formed XML",
         prepare=serve("/broken.xml", b"<?xml version='1.0'?><rss><channel><item></channel></rss>",
                       "application/rss+xml")),
    Case("empty feed", lambda w: ["backfill", w.feed.url("/empty.xml"), "--quiet"], 0,
         prepare=serve_feed("/empty.xml", [])),
    Case("duplicate guids", lambda w: ["backfill", w.feed.url("/dup.xml"), "--quiet"], 0, check=dup_guid_check,
         prepare=serve_feed("/dup.xml", [episode("dup-1", "First", "Bees make honey.", 2, guid="same-guid"),
                                         episode("dup-2", "Second", "Rivers reach the sea.", 3, guid="same-guid")])),
    Case("brackets in a title", lambda w: ["backfill", w.feed.url("/brackets.xml"), "--quiet"], 0,
         check=brackets_check, prepare=serve_feed("/brackets.xml", [episode(
             "ama", "Ask us anything [/r/podcasts] episode", "Ask us anything about honey.", 4)])),
    Case("unreachable feed", lambda w: ["backfill", "http://127.0.0.1:9/feed.xml", "--quiet"], 1,
         "refused the connection"),
    # search and export
    Case("empty query", lambda w: ["search", ""], 2, "search needs words to look for"),
    Case("SQL in the query", lambda w: ["search", "'; DROP TABLE videos; --"], 0, check=quiet_search),
    Case("10,000-character query", lambda w: ["search", "honey bees " * 910], 0, check=quiet_search),
    Case("LIKE wildcards as a speaker", lambda w: ["search", "honey", "--speaker", "%_\\"], 0,
         check=lambda w, r: r.stdout.strip() == "no matching segments" or pytest.fail(r.stdout)),
    Case("unknown video", lambda w: ["export", "file:0000000000ffff"], 1, "file:0000000000ffff"),
    Case("brackets in an export name", lambda w: ["export", "talk [/] final"], 1, "talk [/] final"),
    Case("unknown format", lambda w: ["export", "x", "--format", "mp3"], 2, "'mp3' is not one of", lines=0),
    # settings and usage
    Case("bad setting", lambda w: ["voices", "list"], 2, "VIDSCRIBE_DEVICE", env={"VIDSCRIBE_DEVICE": "tpu"}),
    Case("non-numeric setting", lambda w: ["status"], 2, "VIDSCRIBE_EMBEDDING_BATCH_SIZE",
         env={"VIDSCRIBE_EMBEDDING_BATCH_SIZE": "lots"}),
    Case("malformed DATABASE_URL", lambda w: ["status"], 2, "DATABASE_URL is not a valid PostgreSQL URL",
         env={"DATABASE_URL": f"postgresql://me:{DB_PASSWORD}@db:notaport/archive"}),
    Case("unreachable DATABASE_URL", lambda w: ["status"], 1, "cannot reach PostgreSQL at 127.0.0.1:1",
         env={"DATABASE_URL": f"postgresql://me:{DB_PASSWORD}@127.0.0.1:1/archive"}),
    Case("unknown option", lambda w: ["ingest", "x.wav", "--fast"], 2, "No such option: --fast", lines=0),
    Case("bad date", lambda w: ["backfill", "x", "--since", "yesterday"], 2, "Invalid value for '--since'",
         lines=0),
    Case("enroll a missing file", lambda w: ["voices", "enroll", "Ada", str(w.folder / "ada.wav")], 1,
         "ada.wav: no such file"),
    Case("enroll a text file", lambda w: ["voices", "enroll", "Ada", str(w.files["notes"])], 1,
         "not a readable audio or video file"),
    Case("retry with nothing to do", lambda w: ["retry", "--channel", "http://127.0.0.1:9/none.xml", "--quiet"], 0),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cli_case(world: World, case: Case) -> None:
    if case.prepare:
        case.prepare(world)
    args = case.args(world)
    run = world.cli(*args, env=case.env, prefix=case.prefix)
    outcome = assess(case.name, run, case.code, case.line, case.lines)
    print(case.name, f"{run.seconds:.1f} s", run.code, run.stderr.strip())
    assert not outcome["problems"], (outcome["problems"], run.stdout[-2000:], run.stderr[-3000:])
    if case.check:
        case.check(world, run)


def assess(name: str, run: Run, code: int, line: str, lines: int = 1) -> dict:
    """The README's promise for one run, recorded for the tally: status, one clean line, no leak."""
    output = run.stdout + run.stderr
    stderr = run.stderr.splitlines()
    problems = []
    if run.code != code:
        problems.append(f"exit status {run.code}, expected {code}")
    if "Traceback" in output:
        problems.append("traceback")
    if SECRET in output or DB_PASSWORD in output:
        problems.append("secret printed")
    if line and lines and (len(stderr) != lines or not any(line in s for s in stderr)
                           or not all(s.startswith(("error: ", "warning: ")) for s in stderr)):
        problems.append(f"stderr is not {lines} line(s) with {line!r}")
    if line and not lines and line not in run.stderr:  # click's usage message: Usage, a hint, the error
        problems.append(f"usage message without {line!r}")
    if not line and run.stderr:
        problems.append("unexpected stderr")
    RECORDS.append({"case": name, "test": os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0],
                    "seconds": round(run.seconds, 1), "code": run.code, "problems": problems,
                    "clear_line": bool(line) and lines == 1 and not problems,  # click's usage panel: not one
                    "traceback": "Traceback" in output,
                    "secret_printed": SECRET in output or DB_PASSWORD in output})
    return {"problems": problems}


# --- faults: signals, the database going away, two runs at once

@pytest.fixture()
def private_world(world: World, settings, tmp_path) -> Iterator[World]:
    """The world with a database of its own (an embedded server), so `retry` sees only this test's videos."""
    import dataclasses

    from vidscribe.db import stop_embedded_server
    from vidscribe.settings import load_settings

    server = embedded_server(tmp_path / "pg")
    private = load_settings(data_dir=settings.data_dir, database_url=server.get_uri(), _env_file=None)
    yield dataclasses.replace(world, engine=get_engine(private),
                              env={**world.env, "VIDSCRIBE_DATABASE_URL": server.get_uri()})
    stop_embedded_server(load_settings(data_dir=tmp_path, _env_file=None))


def finished(process: subprocess.Popen[str], name: str, timeout: float = 300, since: float | None = None) -> Run:
    """A started CLI run, once it ends; `seconds` counts from `since` (default: now)."""
    started = time.monotonic() if since is None else since
    out, err = process.communicate(timeout=timeout)
    return Run((name,), process.returncode, out, err, time.monotonic() - started)


def wait_until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def running(world: World, key: str) -> Callable[[], bool]:
    return lambda: (world.video(key) or {}).get("status") == "running"


def scaled_copy(source: Path, copy: Path, gain: float) -> str:
    """`source` at another volume (new content, so a new archive key, as it would be another recording); its key."""
    data, rate = sf.read(source, dtype="float32")
    sf.write(copy, data * gain, rate)
    return local_info(copy).source_id


def resumed_by_retry(world: World, key: str, name: str) -> None:
    retry = world.cli("retry", "--quiet")
    assert not assess(name, retry, 0, "")["problems"], retry.stderr
    row = world.video(key)
    assert row["status"] == "done" and row["attempts"] == 2 and world.segments(key) >= 1, row


def test_ctrl_c_mid_ingest_stops_in_seconds_and_retry_resumes(private_world: World):
    world = private_world
    key = file_key("long")(world)
    process = world.start("ingest", str(world.files["long"]), "--quiet")
    wait_until(running(world, key), 120)
    time.sleep(2)  # inside a stage (transcription)
    sent = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
    run = finished(process, "SIGINT", 60, since=sent)
    print(f"stopped {run.seconds:.2f} s after SIGINT: {run.stderr.strip()}")
    assert not assess("SIGINT mid-ingest", run, 130, "interrupted: ")["problems"], run.stderr
    assert run.seconds < 5
    assert f"{key} was stopped and recorded as failed" in run.stderr
    assert "`vidscribe retry` resumes it" in run.stderr
    row = world.video(key)
    assert row["status"] == "failed" and row["error"].startswith("Interrupted"), row
    assert world.segments(key) == 0
    resumed_by_retry(world, key, "retry after SIGINT")


def _children(pid: int) -> list[int]:
    children = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # gone meanwhile
            continue
        if int(fields[1]) == pid:  # the field after the state is the parent's pid
            children.append(int(stat_file.parent.name))
    return children


def test_sigkill_leaves_no_prefect_server_and_retry_resumes(private_world: World, tmp_path):
    """Without PREFECT_API_URL the CLI starts its own Prefect API: it must die with the CLI (the OOM killer)."""
    world = private_world
    long_copy = tmp_path / "long copy.wav"
    key = scaled_copy(world.files["long"], long_copy, 0.97)
    process = world.start("ingest", str(long_copy), "--quiet", env={"PREFECT_API_URL": ""})
    wait_until(running(world, key), 120)
    servers = [pid for pid in _children(process.pid)
               if "uvicorn" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")]
    assert len(servers) == 1, "the local Prefect API is the CLI's child"
    process.kill()
    process.communicate(timeout=30)
    wait_until(lambda: not Path(f"/proc/{servers[0]}").exists()
               or "Z" in Path(f"/proc/{servers[0]}/stat").read_text().split()[2], 10)
    resumed_by_retry(world, key, "retry after SIGKILL")


def test_database_stopped_mid_ingest_is_one_line_and_retry_resumes(private_world: World, tmp_path):
    from vidscribe.db import stop_embedded_server
    from vidscribe.settings import load_settings

    world = private_world
    long_copy = tmp_path / "long again.wav"
    key = scaled_copy(world.files["long"], long_copy, 0.94)
    process = world.start("ingest", str(long_copy), "--quiet")
    wait_until(running(world, key), 120)
    stop_embedded_server(load_settings(data_dir=tmp_path, _env_file=None))
    run = finished(process, "PostgreSQL stopped", 240)
    print("database stopped:", run.stderr.strip())
    assert not assess("PostgreSQL stopped mid-ingest", run, 1, "cannot reach PostgreSQL")["problems"], run.stderr
    embedded_server(tmp_path / "pg")  # back up: the next run finds the video abandoned (`running`, no claim)
    resumed_by_retry(world, key, "retry after the database came back")


def test_two_ingests_of_one_file_at_once_store_it_once(world: World):
    twin = world.folder / "twin.wav"
    key = scaled_copy(world.files["speech"], twin, 0.8)
    first, second = (world.start("ingest", str(twin), "--quiet") for _ in range(2))
    runs = [finished(process, "twin") for process in (first, second)]
    print([r.stderr for r in runs])
    for run in runs:
        line = "being processed by another worker" if run.stderr else ""
        assert not assess("two ingests of one file at once", run, 0, line)["problems"], run.stderr
    assert world.video(key)["status"] == "done"
