"""Channels end to end: a podcast feed on 127.0.0.1 backfilled through the real flows, yt-dlp and PostgreSQL."""

from __future__ import annotations

import dataclasses
import os

import pytest

from vidscribe_flows.backfill import backfill_channel, retry_failed
from tests.feed import CHANNEL_TITLE
from vidscribe.db import get_engine, get_video, segment_count
from vidscribe.db.models import ChannelRow
from sqlalchemy import select


def source_id(episode) -> str:
    return f"generic:{episode.item_guid}"


def test_backfill_stores_every_episode_then_skips_them(settings, prefect_api, feed, podcast_episodes):
    engine = get_engine(settings)
    summary = backfill_channel(feed.feed_url, order="oldest")
    assert summary.count("done") == len(podcast_episodes), [o.error for o in summary.outcomes]
    assert [o.source_id for o in summary.outcomes] == [source_id(e) for e in podcast_episodes]  # oldest first
    for episode in podcast_episodes:
        video = get_video(engine, source_id(episode))
        assert video.status == "done" and video.title == episode.title
        assert video.published_at == episode.published
        assert abs(video.duration - episode.duration) < 0.5
        assert segment_count(engine, video.id) >= 1
        assert set(video.stage_seconds) >= {"fetch", "decode", "transcribe", "diarize", "embed"}
    with engine.connect() as conn:
        name = conn.execute(select(ChannelRow.name).where(ChannelRow.id == video.channel_id)).scalar_one()
        assert name == CHANNEL_TITLE

    downloads = feed.downloads()
    again = backfill_channel(feed.feed_url)
    assert again.count("skipped") == len(podcast_episodes) and again.count("done") == 0
    assert feed.downloads() == downloads  # nothing downloaded, so nothing computed


def test_failed_episodes_are_recorded_and_retry_repairs_only_them(settings, prefect_api, make_feed, podcast_episodes):
    episodes = [dataclasses.replace(e, slug=f"retry-{e.slug}", guid=f"urn:retry:{e.slug}") for e in podcast_episodes]
    server = make_feed(episodes=episodes[:2])
    removed = server.add(episodes[2], served=False)
    corrupt = server.add(episodes[3], served=False)
    server.serve(corrupt.path, os.urandom(30_000))

    summary = backfill_channel(server.feed_url)
    outcome = {o.source_id: o for o in summary.outcomes}
    assert summary.count("done") == 2 and summary.count("failed") == 2
    assert "404" in outcome[source_id(removed)].error and server.url(removed.path).split("#")[0] in \
        outcome[source_id(removed)].error
    assert "not a readable audio" in outcome[source_id(corrupt)].error
    engine = get_engine(settings)
    assert "404" in get_video(engine, source_id(removed)).error

    server.serve(corrupt.path, corrupt.audio)  # the host fixes the upload
    requests_before = {e.path: server.requests(e.path) for e in episodes[:2]}
    retried = retry_failed(server.feed_url)
    outcome = {o.source_id: o for o in retried.outcomes}
    assert set(outcome) == {source_id(removed), source_id(corrupt)}  # done episodes are not redone
    assert outcome[source_id(corrupt)].status == "done"
    assert outcome[source_id(removed)].status == "failed"
    assert {e.path: server.requests(e.path) for e in episodes[:2]} == requests_before
    assert get_video(engine, source_id(corrupt)).status == "done"
    assert segment_count(engine, get_video(engine, source_id(corrupt)).id) >= 1


def test_rerun_of_a_failed_video_resumes_at_the_failed_stage(settings, prefect_api, voices, monkeypatch, tmp_path):
    """Stages before the failure come from Prefect's cache: the models are not run again."""
    import subprocess

    import vidscribe.stages.diarize
    import vidscribe.stages.embed
    import vidscribe.stages.transcribe
    from vidscribe_flows.ingest import ingest_video
    from vidscribe.errors import BadInputError

    recording = tmp_path / "resume.wav"
    # 0.37 s of silence first: a new content hash, and segment times no other test's recording has, so not even
    # the embed stage (keyed by its segments, not the audio) finds a cached result (it did after test_pipeline)
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(voices.dialogue), "-af", "adelay=370",
                    str(recording)], check=True)

    calls = {"transcribe": 0, "diarize": 0, "embed": 0}

    def counting(module, name, stage):
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            calls[stage] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    counting(vidscribe.stages.transcribe, "transcribe_waveform", "transcribe")
    counting(vidscribe.stages.diarize, "load_diarization_pipeline", "diarize")

    def broken_embedder(_settings):
        calls["embed"] += 1
        raise BadInputError("embedding model unavailable (simulated outage)")

    with monkeypatch.context() as outage:
        outage.setattr(vidscribe.stages.embed, "load_text_model", broken_embedder)
        try:
            ingest_video(str(recording))
        except BadInputError:
            pass
    assert calls == {"transcribe": 1, "diarize": 1, "embed": 1}
    engine = get_engine(settings)
    from vidscribe.sources import local_info

    video = get_video(engine, local_info(recording).source_id)
    assert video.status == "failed" and "simulated outage" in video.error

    result = ingest_video(str(recording))  # the retry
    assert calls == {"transcribe": 1, "diarize": 1, "embed": 1}  # embed ran for real (not counted: unpatched)
    assert get_video(engine, result.source_id).status == "done" and result.segment_count >= 2


def test_retry_leaves_out_local_files_that_failed_as_bad_input_unless_asked(settings, prefect_api, tmp_path,
                                                                              monkeypatch):
    import vidscribe_flows.backfill
    from vidscribe.errors import BadInputError
    from vidscribe.sources import local_info
    from vidscribe_flows.ingest import ingest_video

    notes = tmp_path / "notes.mp3"
    notes.write_text("not audio, and it never will be\n" * 20)
    with pytest.raises(BadInputError):
        ingest_video(str(notes))
    engine = get_engine(settings)
    record = get_video(engine, local_info(notes).source_id)
    assert vidscribe_flows.backfill.cannot_succeed(record)
    monkeypatch.setattr(vidscribe_flows.backfill, "failed_videos", lambda *_: [record])  # only this one

    skipped = retry_failed()
    assert skipped.outcomes == [] and "1 local files that failed as bad input left out" in skipped.note
    assert get_video(engine, record.source_id).attempts == 1  # not tried again
    forced = retry_failed(include_hopeless=True)
    assert [(o.source_id, o.status) for o in forced.outcomes] == [(record.source_id, "failed")]
    assert get_video(engine, record.source_id).attempts == 2 and forced.note == ""
