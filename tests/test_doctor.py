"""`vidscribe doctor` against the real embedded PostgreSQL, with the inconsistencies planted by SQL.

The session database is shared with other modules, so every planted row has a unique source id, assertions
look only at those rows, and the rows are deleted afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, Row, select, text

from vidscribe.stages.embed import embed_texts
from tests.db_fixtures import embedded_database
from vidscribe.db import (
    get_engine,
    get_video,
    list_profiles,
    mark_failed,
    mark_running,
    store_video,
    upsert_profile,
    upsert_video,
)
from vidscribe.video import VideoInfo
from vidscribe.db.models import SegmentRow
from vidscribe.app.doctor import DoctorReport, run_doctor
from vidscribe.settings import Settings
from vidscribe.transcript import Segment

OLD_KEY = "speechbrain:old-model"


@dataclass(frozen=True)
class Planted:
    stuck: str
    fresh: str  # running, but only just started: must be left alone
    done_empty: str
    failed_with_segments: str
    profile: str


def _info(source_id: str) -> VideoInfo:
    return VideoInfo(source_id=source_id, url=f"https://example.org/{source_id}", title="doctor test")


def _segments(n: int) -> list[Segment]:
    return [
        Segment(start=i * 4.0, end=i * 4.0 + 3.5, text=f"the doctor planted sentence {i}", speaker="SPEAKER_00",
                speaker_confidence=0.9, avg_logprob=-0.3, no_speech_prob=0.02)
        for i in range(n)
    ]


def _store(engine: Engine, settings: Settings, source_id: str, n: int) -> int:
    vectors = np.random.default_rng(7).standard_normal((n, settings.text_embedding_dim)).astype(np.float32)
    return store_video(engine, _info(source_id), _segments(n), vectors, speakers={}, stage_seconds={},
                       audio_sha256="cd" * 32)


def _rows(engine: Engine, source_ids: list[str]) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT source_id, status, error, updated_at FROM videos WHERE source_id = ANY(:ids) "
                 "ORDER BY source_id"), {"ids": source_ids}
        ).all()


@pytest.fixture
def planted(settings: Settings) -> Iterator[Planted]:
    engine = get_engine(settings)
    tag = uuid.uuid4().hex[:8]
    rows = Planted(stuck=f"doctor:stuck-{tag}", fresh=f"doctor:fresh-{tag}", done_empty=f"doctor:empty-{tag}",
                   failed_with_segments=f"doctor:failed-{tag}", profile=f"Doctor {tag}")
    for source_id in (rows.stuck, rows.fresh):
        mark_running(engine, upsert_video(engine, _info(source_id)))
    with engine.begin() as conn:
        conn.execute(text("UPDATE videos SET updated_at = now() - interval '3 hours' WHERE source_id = :id"),
                     {"id": rows.stuck})
    _store(engine, settings, rows.done_empty, 0)
    mark_failed(engine, _store(engine, settings, rows.failed_with_segments, 3), "decode failed")
    upsert_profile(engine, rows.profile, OLD_KEY, np.ones(192, dtype=np.float32), 4)
    try:
        yield rows
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM videos WHERE source_id LIKE :p"), {"p": f"doctor:%-{tag}"})
            conn.execute(text("DELETE FROM voice_profiles WHERE name = :n"), {"n": rows.profile})


def _names(report: DoctorReport, kind: str) -> tuple[str, ...]:
    finding = report.finding(kind)
    return finding.names if finding is not None else ()


def test_without_repair_reports_everything_and_changes_nothing(settings: Settings, planted: Planted) -> None:
    engine = get_engine(settings)
    videos = [planted.stuck, planted.fresh, planted.done_empty, planted.failed_with_segments]
    before = _rows(engine, videos)

    report = run_doctor(settings, repair=False)

    assert planted.stuck in _names(report, "stuck-running")
    assert planted.fresh not in _names(report, "stuck-running")
    assert f"{planted.profile} ({OLD_KEY})" in _names(report, "foreign-voice-profiles")
    assert planted.done_empty in _names(report, "done-without-segments")
    assert planted.failed_with_segments in _names(report, "failed-with-segments")
    assert report.finding("done-without-segments").severity == "info"  # type: ignore[union-attr]
    assert not any(f.repaired for f in report.findings)
    assert not report.ok
    assert _rows(engine, videos) == before
    assert any(p.name == planted.profile for p in list_profiles(engine, OLD_KEY))


def test_schema_keeps_embeddings_present(settings: Settings, planted: Planted) -> None:
    """vidscribe's column is NOT NULL, so check 1 can only find rows in databases other tools wrote."""
    engine = get_engine(settings)
    with engine.connect() as conn:
        nullable = conn.execute(text(
            "SELECT is_nullable FROM information_schema.columns "
            "WHERE table_name = 'segments' AND column_name = 'embedding'"
        )).scalar_one()
    assert nullable == "NO"
    assert run_doctor(settings, repair=False).finding("segments-without-embedding") is None


def test_repair_resets_stuck_videos_and_only_reports_profiles(settings: Settings, planted: Planted) -> None:
    engine = get_engine(settings)
    stuck_since = _rows(engine, [planted.stuck])[0].updated_at.astimezone(timezone.utc)

    report = run_doctor(settings, repair=True)

    stuck = report.finding("stuck-running")
    assert stuck is not None and stuck.repaired and planted.stuck in stuck.names
    record = get_video(engine, planted.stuck)
    assert record is not None and record.status == "pending"
    assert record.error == f"reset by doctor: was running since {stuck_since:%Y-%m-%d %H:%M:%S} UTC"
    assert get_video(engine, planted.fresh).status == "running"  # type: ignore[union-attr]
    profiles = report.finding("foreign-voice-profiles")
    assert profiles is not None and not profiles.repaired and "voices enroll" in profiles.fix
    assert any(p.name == planted.profile for p in list_profiles(engine, OLD_KEY))  # nothing deleted
    assert not report.ok  # the profile still needs a person

    again = run_doctor(settings, repair=False)
    assert again.finding("stuck-running") is None
    assert again.finding("segments-without-embedding") is None
    assert planted.failed_with_segments in _names(again, "failed-with-segments")  # info stays info


def test_render_names_rows_and_fixes(settings: Settings, planted: Planted) -> None:
    report = run_doctor(settings, repair=False)
    shown = report.render()
    assert shown.startswith("doctor: ") and "run with repair" in shown
    assert "[problem] videos 'running' for more than 2 h" in shown and planted.stuck in shown
    assert f"{planted.profile} ({OLD_KEY})" in shown and "fix: re-enroll" in shown
    assert "[info] videos done with no segments" in shown
    assert DoctorReport(repair=False).render() == "doctor: no inconsistencies found"
    assert DoctorReport(repair=False).ok


def _embeddings(engine: Engine, video_id: int) -> list[Row]:
    """(idx, text, embedding as a numpy array) of a video's segments, in order."""
    stmt = select(SegmentRow.idx, SegmentRow.text, SegmentRow.embedding).where(SegmentRow.video_id == video_id)
    with engine.connect() as conn:
        return conn.execute(stmt.order_by(SegmentRow.idx)).all()


@pytest.fixture
def relaxed_database(tmp_path: Path) -> Iterator[Settings]:
    """A private database whose embedding column accepts NULL, as one written by another tool might.

    Private, because relaxing the constraint on the shared session database would change it for every
    other module.
    """
    with embedded_database(tmp_path) as settings:
        with get_engine(settings).begin() as conn:
            conn.execute(text("ALTER TABLE segments ALTER COLUMN embedding DROP NOT NULL"))
        yield settings.model_copy(update={"text_embedding_batch_size": 2})  # several batches for 3 rows


def test_repair_embeds_segments_without_embedding(relaxed_database: Settings) -> None:
    settings = relaxed_database
    engine = get_engine(settings)
    video_id = _store(engine, settings, "doctor:no-vectors", 5)
    with engine.begin() as conn:
        conn.execute(text("UPDATE segments SET embedding = NULL WHERE video_id = :v AND idx <> 1"),
                     {"v": video_id})
    kept = _embeddings(engine, video_id)[1][2]

    found = run_doctor(settings, repair=False).finding("segments-without-embedding")
    assert found is not None and not found.repaired
    assert (found.count, found.names) == (1, ("doctor:no-vectors",)) and "4 segments" in found.what
    assert sum(row.embedding is None for row in _embeddings(engine, video_id)) == 4  # reported, not changed

    repaired = run_doctor(settings, repair=True).finding("segments-without-embedding")
    assert repaired is not None and repaired.repaired
    rows = _embeddings(engine, video_id)
    filled = [row for row in rows if row.idx != 1]
    expected = embed_texts([row.text for row in filled], settings)
    np.testing.assert_allclose(np.stack([row.embedding for row in filled]), expected, atol=1e-5)
    np.testing.assert_array_equal(rows[1].embedding, kept)  # untouched
    assert run_doctor(settings, repair=True).finding("segments-without-embedding") is None
