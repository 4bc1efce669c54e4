"""Crash and resume, and concurrent backfills: exactly one copy of everything, nothing computed twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterName
from prefect.client.schemas.sorting import TaskRunSort
from prefect.settings import PREFECT_API_URL
from sqlalchemy import text

from tests.test_cli import fresh_copy
from vidscribe.db import get_engine


def start_backfill(folder: str, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "VIDSCRIBE_BACKFILL_PARALLEL": "1"}
    return subprocess.Popen([sys.executable, "-m", "vidscribe", "backfill", folder, "--json", "--order", "oldest",
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                            start_new_session=True)


def events(process: subprocess.Popen[str]) -> list[dict]:
    out, _ = process.communicate(timeout=600)
    assert process.returncode == 0
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def stored_copies(settings, titles: list[str]) -> dict[str, tuple[int, int, int]]:
    """Per title: (video rows, segment rows, distinct segment contents) - duplicates show as a mismatch."""
    with get_engine(settings).connect() as conn:
        return {title: tuple(conn.execute(text(
            "SELECT count(DISTINCT v.id), count(s.id), count(DISTINCT (s.start, s.text)) FROM videos v "
            "LEFT JOIN segments s ON s.video_id = v.id WHERE v.title = :t"), {"t": title}).one())
            for title in titles}


def task_states(flow_run_name: str) -> dict[str, str]:
    """The state name (Completed, Cached, ...) of each task of the latest flow run with this name."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[flow_run_name])),
                                     sort="EXPECTED_START_TIME_DESC", limit=1)
        # limit and sort are explicit: Prefect 3.8.8's client sends nulls that its server rejects (HTTP 422)
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[runs[0].id])),
                                      limit=200, sort=TaskRunSort.EXPECTED_START_TIME_ASC)
        return {run.name.rsplit("-", 1)[0]: run.state.name for run in tasks}  # run names are "<task>-<suffix>"


def test_kill_9_mid_backfill_then_resume(settings, prefect_api, voices, tmp_path):
    names = ["crash-a", "crash-b", "crash-c"]
    for name, source in zip(names, (voices.monologue, voices.dialogue, voices.monologue)):
        fresh_copy(source, tmp_path, f"{name}.wav")
        os.utime(tmp_path / f"{name}.wav", (1, 1_000_000 + names.index(name)))  # oldest first: a, b, c

    first = start_backfill(str(tmp_path))
    seen, victim = [], None
    for line in first.stdout:
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        seen.append(event)
        if event["kind"] == "stage" and event["stage"] == "identify" and any(e["kind"] == "done" for e in seen):
            victim = event["video"]  # the second video: transcribed and diarized, not yet stored
            os.killpg(first.pid, signal.SIGKILL)
            break
    first.wait(timeout=60)
    assert victim is not None and first.returncode == -signal.SIGKILL

    second = events(start_backfill(str(tmp_path)))
    outcome = {e["title"]: e["status"] for e in second if e["kind"] == "video"}
    assert outcome == {"crash-a": "skipped", "crash-b": "done", "crash-c": "done"}
    copies = stored_copies(settings, names)
    assert all(videos == 1 and segments >= 1 and segments == distinct for videos, segments, distinct
               in copies.values()), copies
    resumed = task_states(victim)
    print("resumed run task states:", resumed)
    assert {resumed[stage] for stage in ("transcribe", "monologue", "diarize")} == {"Cached"}  # not computed again
    assert task_states(next(e["video"] for e in second if e["title"] == "crash-c"))["transcribe"] == "Completed"


def test_concurrent_backfills_process_each_video_once(settings, prefect_api, voices, tmp_path):
    names = ["twin-a", "twin-b", "twin-c"]
    for name, source in zip(names, (voices.monologue, voices.dialogue, voices.monologue)):
        fresh_copy(source, tmp_path, f"{name}.wav")
    # The same folder spelled two ways: two backfills of one source that the per-source lock cannot pair.
    runs = [start_backfill(str(tmp_path)), start_backfill(str(tmp_path) + "/")]
    results = [events(run) for run in runs]
    done = [e["title"] for result in results for e in result if e["kind"] == "video" and e["status"] == "done"]
    assert sorted(done) == names  # each video processed by exactly one of the two
    skipped = [e for result in results for e in result if e["kind"] == "video" and e["status"] == "skipped"]
    assert len(skipped) == len(names)
    copies = stored_copies(settings, names)
    assert all(videos == 1 and segments == distinct for videos, segments, distinct in copies.values()), copies
    with get_engine(settings).connect() as conn:
        attempts = conn.execute(text("SELECT title, attempts FROM videos WHERE title LIKE 'twin-%'")).all()
    assert {title: n for title, n in attempts} == dict.fromkeys(names, 1)
