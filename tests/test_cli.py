"""The command line as a script sees it: JSON-lines progress, status, and the live view's arithmetic."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from prefect.settings import PREFECT_API_URL

from vidscribe.progress import ProgressEvent
from vidscribe.app.progress_view import Tracker


def vidscribe(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    return subprocess.run([sys.executable, "-m", "vidscribe", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def fresh_copy(source, folder, name: str) -> None:
    """A copy with trailing padding after the audio data: a content hash of its own, same sound."""
    shutil.copy(source, folder / name)
    with (folder / name).open("ab") as handle:
        handle.write(b"\0" + name.encode())


def test_backfill_json_lines_report_every_stage_then_status(settings, prefect_api, voices, tmp_path):
    fresh_copy(voices.monologue, tmp_path, "lecture.wav")
    fresh_copy(voices.dialogue, tmp_path, "interview.wav")
    result = vidscribe("backfill", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    kinds = [line["kind"] for line in lines]
    assert kinds[0] == "batch" and lines[0]["total"] == 2
    assert kinds.count("start") == 2 and kinds.count("done") == 2
    for video in {line["video"] for line in lines if line["kind"] == "start"}:
        stages = [line["stage"] for line in lines if line["kind"] == "stage" and line["video"] == video]
        assert stages == ["fetch", "decode", "transcribe", "diarize", "identify", "segments", "embed", "store"]
    summary = [line for line in lines if line["kind"] == "video"]
    assert sorted(s["status"] for s in summary) == ["done", "done"]
    assert all(s["segment_count"] >= 1 for s in summary)

    status = vidscribe("status")
    assert status.returncode == 0 and "interview" in status.stdout and "lecture" in status.stdout


def test_tracker_counts_and_eta():
    tracker = Tracker(parallel=2)
    tracker.update(ProgressEvent("batch", total=5, at=0))
    for video, started in (("a", 0.0), ("b", 0.0)):
        tracker.update(ProgressEvent("start", video=video, title=video, at=started))
    tracker.update(ProgressEvent("stage", video="a", stage="transcribe", at=1.0))
    tracker.update(ProgressEvent("done", video="a", at=60.0))
    tracker.update(ProgressEvent("failed", video="b", at=120.0))
    assert (tracker.done, tracker.failed, tracker.remaining) == (1, 1, 3)
    assert tracker.eta_seconds() == 90.0 * 3 / 2  # mean 90 s a video, 3 left, 2 at a time


def test_cli_export_formats_are_the_exporters():
    from vidscribe.app.cli import ExportFormat
    from vidscribe.app.exports import FORMATS

    assert tuple(f.value for f in ExportFormat) == FORMATS


def test_status_prints_full_ids_and_titles_verbatim_brackets_included(settings):
    from vidscribe.db import get_engine, upsert_video
    from vidscribe.video import VideoInfo

    source_id = "generic:urn:vidscribe-test:" + "0123456789abcdef" * 3  # longer than any column would show
    title = "Ask us anything [/r/podcasts] episode [bold]"
    upsert_video(get_engine(settings), VideoInfo(source_id, "https://example.com/ep.mp3", title))
    result = vidscribe("status", "--limit", "100")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    line = next(line for line in result.stdout.splitlines() if source_id in line)
    assert line.endswith(f"{source_id}  {title}") and " pending " in line
