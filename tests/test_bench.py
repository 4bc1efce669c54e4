"""`vidscribe bench` end to end on a CI-sized corpus, so the benchmark cannot rot.

One monologue and one dialogue of about a minute each, on the throttled feed, through the sequential
baseline and the backfill flow. The report must be complete and consistent; speed is not asserted here (the
timing targets are read off the full benchmark's figures, README "Benchmark").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: faster than the default throttle, so the test is short; still paced, so downloads take real time
RATE = 256 * 1024
WORK_STAGES = {"fetch", "decode", "transcribe", "diarize", "identify", "segments", "embed", "store"}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("bench")
    out = folder / "bench.json"
    env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache")}  # the corpus cache stays in the test's folder
    done = subprocess.run([sys.executable, "-m", "vidscribe", "bench", "--videos", "2", "--minutes", "1",
                           "--rate", str(RATE), "--json", str(out)],
                          env=env, capture_output=True, text=True, timeout=900, cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "speedup (audio hours per wall hour, pipeline / baseline)" in done.stdout
    return json.loads(out.read_text())


def test_both_runs_process_every_video_and_store_the_same_transcripts(report):
    base, pipe = report["baseline"], report["pipeline"]
    assert report["corpus"]["kinds"] == {"monologue": 1, "dialogue": 1}
    for run in (base, pipe):
        assert (run["videos_done"], run["videos_failed"]) == (2, 0)
        assert all(v["status"] == "done" and v["segments"] > 0 and v["words"] > 0 for v in run["videos"])
    # The same models on the same audio: the same segments, or (a diarized monologue may be cut differently)
    # transcripts within a few words of each other.
    segments = {v["source_id"]: v["segments"] for v in base["videos"]}
    assert set(report["transcript_wer"]) == set(segments)
    for video in pipe["videos"]:
        wer = report["transcript_wer"][video["source_id"]]
        assert video["segments"] == segments[video["source_id"]] or wer <= 0.1, (video, segments, wer)
    # every stored segment was embedded exactly once, in the batches the report lists
    for run in (base, pipe):
        assert sum(run["embedding_batch_texts"]) == sum(v["segments"] for v in run["videos"])


def test_figures_are_present_positive_and_add_up(report):
    base, pipe = report["baseline"], report["pipeline"]
    assert report["speedup"] == pytest.approx(pipe["audio_hours_per_hour"] / base["audio_hours_per_hour"], rel=0.01)
    assert report["speedup"] > 0
    assert set(report["targets"]) == {"speedup >= 2.0x", "overhead <= 10% of model time"}
    for run in (base, pipe):
        assert run["audio_hours_per_hour"] > 0 and run["wall_seconds"] > 0
        assert WORK_STAGES <= set(run["stage_seconds"])
        assert min(run["stage_seconds"][s] for s in ("fetch", "transcribe", "diarize", "embed")) > 0
        assert {"asr", "diarize", "embed"} <= set(run["model_seconds"])
        assert run["model_total_seconds"] == pytest.approx(sum(run["model_seconds"].values()), abs=0.05)
        assert 0 < run["slot_busy_fraction"] <= 1
        cost = run["overhead"]
        assert cost["total"] == pytest.approx(cost["video_seconds"] - cost["work_seconds"], abs=0.05)
        assert cost["total"] == pytest.approx(cost["outside_stages"] + cost["inside_stages"] + cost["store"], abs=0.05)
        assert cost["percent_of_model_time"] > 0
        assert all(v["wall_seconds"] > 0 for v in run["videos"])
    # the designs differ where they should: only the pipeline checks for monologues (and skips diarizing one)
    assert "monologue" in pipe["stage_seconds"] and "monologue" not in base["stage_seconds"]
    assert (base["model_calls"]["diarize"], pipe["model_calls"]["diarize"]) == (2, 1)
    if pipe["gpu_busy_fraction"] is None:  # no GPU lent: said so, with NVML's reason, and no invented figures
        assert pipe["gpu"].startswith("n/a: ") and pipe["peak_vram_mib"] is None
    else:
        assert 0 <= pipe["gpu_busy_fraction"] <= 1 and pipe["peak_vram_mib"] > 0
