"""The database layer against a real PostgreSQL + pgvector (embedded pgserver, one per test module)."""

from __future__ import annotations

import dataclasses
import traceback
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from tests.db_fixtures import embedded_database, make_settings
from vidscribe.db import (
    DatabaseUnavailableError,
    SchemaMismatchError,
    get_engine,
    get_video,
    list_profiles,
    mark_failed,
    mark_running,
    search,
    segment_count,
    store_video,
    upsert_profile,
    upsert_video,
    video_segments,
)
from vidscribe.db.engine import HEAD_REVISION, MIGRATIONS_DIR
from vidscribe.db.text_configs import FALLBACK, TEXT_CONFIGS, text_config
from vidscribe.video import VideoInfo
from vidscribe.settings import Settings
from vidscribe.transcript import Segment

DIM = 384


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with embedded_database(tmp_path_factory.mktemp("db")) as settings:
        assert settings.text_embedding_dim == DIM
        yield settings


@pytest.fixture(scope="module")
def engine(settings: Settings) -> Engine:
    return get_engine(settings)


def unit_vectors(n: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def segments(n: int, speakers: tuple[str, ...] = ("Alice", "Bob")) -> list[Segment]:
    return [
        Segment(
            start=i * 5.0, end=i * 5.0 + 4.5, text=f"sentence number {i}", speaker=speakers[i % len(speakers)],
            speaker_confidence=0.8, avg_logprob=-0.2, no_speech_prob=0.01,
        )
        for i in range(n)
    ]


def video(source_id: str, title: str = "A talk") -> VideoInfo:
    return VideoInfo(
        source_id=source_id, url=f"https://example.org/{source_id}", title=title,
        channel_url="https://example.org/channel", channel_name="Example", duration=60.0,
    )


def store(engine: Engine, info: VideoInfo, n: int, seed: int, embeddings: np.ndarray | None = None) -> int:
    return store_video(
        engine, info, segments(n), unit_vectors(n, seed) if embeddings is None else embeddings,
        speakers={"SPEAKER_00": {"name": "Alice", "confidence": 0.8}},
        stage_seconds={"asr": 1.5, "diarize": 2.0}, audio_sha256="ab" * 32,
    )


def test_schema_is_created(engine: Engine) -> None:
    with engine.connect() as conn:
        tables = set(conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
        index = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_segments_embedding_hnsw'"))
        extension = conn.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")).scalar()
        indexdef = index.scalar_one()
    assert {"channels", "videos", "segments", "voice_profiles", "alembic_version"} <= tables
    assert "hnsw" in indexdef and "vector_cosine_ops" in indexdef
    assert extension is not None


def test_head_revision_is_alembics_head_and_a_migrated_database_is_at_it(engine: Engine) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from vidscribe.db.engine import HEAD_REVISION, MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == HEAD_REVISION


def test_engine_is_cached_per_url(settings: Settings, engine: Engine) -> None:
    assert get_engine(settings) is engine


def test_store_twice_does_not_duplicate(engine: Engine) -> None:
    info = video("file:twice")
    video_id = store(engine, info, 6, seed=1)
    assert segment_count(engine, video_id) == 6
    total = segment_count(engine)
    assert store(engine, info, 6, seed=2) == video_id
    assert segment_count(engine, video_id) == 6
    assert segment_count(engine) == total

    assert video_segments(engine, video_id) == segments(6)  # in spoken order, every field kept
    record = get_video(engine, "file:twice")
    assert record is not None and record.status == "done" and record.error is None
    assert record.speakers == {"SPEAKER_00": {"name": "Alice", "confidence": 0.8}}
    assert record.stage_seconds == {"asr": 1.5, "diarize": 2.0}
    assert record.channel_id is not None


def test_failing_store_keeps_old_rows(engine: Engine) -> None:
    info = video("file:atomic", title="Old title")
    video_id = store(engine, info, 4, seed=3)
    wrong_dim = np.ones((5, DIM - 1), dtype=np.float32)
    with pytest.raises(DBAPIError, match="dimensions"):
        store(engine, video("file:atomic", title="New title"), 5, seed=0, embeddings=wrong_dim)
    assert segment_count(engine, video_id) == 4
    record = get_video(engine, "file:atomic")
    assert record is not None and record.title == "Old title" and record.status == "done"


def test_status_lifecycle(engine: Engine) -> None:
    video_id = upsert_video(engine, video("yt:lifecycle"))
    assert get_video(engine, "yt:lifecycle").status == "pending"  # type: ignore[union-attr]
    mark_running(engine, video_id)
    mark_failed(engine, video_id, "decode failed")
    mark_running(engine, video_id)
    record = get_video(engine, "yt:lifecycle")
    assert record is not None and (record.status, record.attempts, record.error) == ("running", 2, "decode failed")

    assert upsert_video(engine, VideoInfo("yt:lifecycle", "https://example.org/new", "Renamed")) == video_id
    record = get_video(engine, "yt:lifecycle")
    assert record is not None and record.status == "running" and record.title == "Renamed"
    assert record.duration == 60.0  # metadata the source no longer reports is kept

    store(engine, video("yt:lifecycle"), 2, seed=4)
    record = get_video(engine, "yt:lifecycle")
    assert record is not None and (record.status, record.error) == ("done", None)
    assert get_video(engine, "yt:missing") is None


def test_search_finds_nearest_and_filters_speaker(engine: Engine) -> None:
    vectors = unit_vectors(20, seed=5)
    store(engine, video("file:search", title="Searchable"), 20, seed=0, embeddings=vectors)
    noise = np.random.default_rng(6).standard_normal(DIM).astype(np.float32) * 0.002

    hits = search(engine, vectors[7] + noise, limit=3)
    assert len(hits) == 3
    assert (hits[0].source_id, hits[0].text, hits[0].speaker) == ("file:search", "sentence number 7", "Bob")
    assert hits[0].title == "Searchable" and hits[0].url == "https://example.org/file:search"
    assert (hits[0].start, hits[0].end) == (35.0, 39.5)
    assert hits[0].score > 0.95 and hits[1].score < 0.5
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    alice = search(engine, vectors[7] + noise, speaker="Alice", limit=5)
    assert len(alice) == 5 and {h.speaker for h in alice} == {"Alice"}
    assert search(engine, vectors[7], speaker="Nobody") == []


def test_search_order_can_use_hnsw_index(engine: Engine) -> None:
    query = "[" + ",".join(["0.1"] * DIM) + "]"
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(conn.execute(text(
            f"EXPLAIN SELECT id FROM segments ORDER BY embedding <=> '{query}' LIMIT 5"
        )).scalars())
    assert "ix_segments_embedding_hnsw" in plan


def test_profiles_round_trip(engine: Engine) -> None:
    alice = np.arange(192, dtype=np.float32) / 192
    upsert_profile(engine, "Alice", "campplus", alice, 3)
    upsert_profile(engine, "Bob", "campplus", -alice, 2)
    upsert_profile(engine, "Alice", "ecapa", np.ones(256, dtype=np.float32), 1)
    upsert_profile(engine, "Alice", "campplus", alice * 2, 5)  # replaces, not duplicates

    profiles = list_profiles(engine, "campplus")
    assert [(p.name, p.key, p.sample_count) for p in profiles] == [("Alice", "campplus", 5), ("Bob", "campplus", 2)]
    assert isinstance(profiles[0].centroid, np.ndarray)
    np.testing.assert_allclose(profiles[0].centroid, alice * 2, rtol=1e-6)
    assert {(p.name, p.key, p.centroid.shape[0]) for p in list_profiles(engine)} >= {("Alice", "ecapa", 256)}


def test_unreachable_database_url_hides_password(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, DATABASE_URL="postgresql://u:pw_SECRET@127.0.0.1:1/vidscribe")
    with pytest.raises(DatabaseUnavailableError) as info:
        get_engine(settings)
    message = str(info.value)
    assert "127.0.0.1:1/vidscribe" in message and "DATABASE_URL" in message
    shown = "".join(traceback.format_exception(info.value)) + repr(info.value)
    assert "pw_SECRET" not in shown


def test_dimension_mismatch_is_explained(settings: Settings, engine: Engine) -> None:
    other = make_settings(settings.data_dir, text_embedding_dim=768)
    with pytest.raises(SchemaMismatchError, match=r"384-dimensional.*768.*new database"):
        get_engine(other)


def test_every_language_maps_to_a_configuration_the_server_has(engine: Engine) -> None:
    with engine.connect() as conn:
        server = set(conn.execute(text("SELECT cfgname FROM pg_ts_config")).scalars())
    assert set(TEXT_CONFIGS.values()) | {FALLBACK} == server  # PostgreSQL 16: every built-in one is used
    assert (text_config("de"), text_config("en-US"), text_config("NB"), text_config("pl"), text_config("")) == (
        "german", "english", "norwegian", "simple", "simple")
    assert text_config("ca", available={"english", "simple"}) == "simple"  # an older server without 'catalan'


def test_language_and_flag_are_stored_and_read_back(engine: Engine) -> None:
    lines = [("de", 6.0, None), ("en", 4.0, None), ("de", 5.0, "loop: repeated 4 times"), ("pl", 9.0, None),
             ("", 2.0, None)]
    stored = [
        Segment(start=10.0 * i, end=10.0 * i + seconds, text=f"satz {i}", speaker="Ada", speaker_confidence=0.8,
                avg_logprob=-0.4, no_speech_prob=0.02, language=language, flag=flag)
        for i, (language, seconds, flag) in enumerate(lines)
    ]
    video_id = store_video(engine, video("file:languages"), stored, unit_vectors(len(stored), seed=7), speakers={},
                           stage_seconds={}, audio_sha256="ef" * 32)
    assert video_segments(engine, video_id) == stored
    record = get_video(engine, "file:languages")
    assert record is not None and record.language == "de"  # 11 s of German, flagged seconds included; 9 s of Polish
    with engine.connect() as conn:
        configs = conn.execute(text("SELECT text_config::text FROM segments WHERE video_id = :id ORDER BY idx"),
                               {"id": video_id}).scalars().all()
    assert configs == ["german", "english", "german", "simple", "simple"]

    # Re-stored without languages (an unknown language): the segments' go, the video's main language stays.
    store(engine, video("file:languages"), 2, seed=8)
    assert [seg.language for seg in video_segments(engine, video_id)] == ["", ""]
    assert get_video(engine, "file:languages").language == "de"  # type: ignore[union-attr]


def _migrate(engine: Engine, revision: str, downgrade: bool = False) -> None:
    """Alembic to `revision` on `engine`, the way `ensure_schema` runs it (which only goes up to head)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["embedding_dim"] = DIM
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if downgrade else command.upgrade)(config, revision)


def test_migration_0005_keeps_rows_and_indexes_them_as_english(engine: Engine, tmp_path: Path) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("CREATE DATABASE deployed_0004"))
    url = engine.url.set(database="deployed_0004")
    old = create_engine(url)
    try:
        _migrate(old, "0004")
        old_segments = [dataclasses.replace(seg, text=f"the cells kept swelling {i}")
                        for i, seg in enumerate(segments(4))]
        store_video(old, video("file:old"), old_segments, unit_vectors(4, seed=9), speakers={}, stage_seconds={},
                    audio_sha256="ab" * 32, warning="")
    finally:
        old.dispose()

    upgraded = get_engine(make_settings(tmp_path, DATABASE_URL=url.render_as_string(hide_password=False)))
    try:
        with upgraded.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == HEAD_REVISION == "0005"
            rows = conn.execute(text(
                "SELECT text, language, flag, text_config::text, text_search @@ to_tsquery('english', 'swell')"
                " FROM segments ORDER BY idx")).all()
            indexes = set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'segments'")).scalars())
            default = conn.execute(text("SELECT column_default FROM information_schema.columns "
                                        "WHERE table_name = 'segments' AND column_name = 'text_config'")).scalar_one()
        assert rows == [(seg.text, "", None, "english", True) for seg in old_segments]  # stemmed as before
        assert {"ix_segments_text_search", "ix_segments_text_config"} <= indexes
        assert default == "'simple'::regconfig"
        record = get_video(upgraded, "file:old")
        assert record is not None and record.language is None and record.status == "done"
        assert video_segments(upgraded, record.id) == old_segments

        _migrate(upgraded, "0004", downgrade=True)  # and back: the English column as 0002 made it
        with upgraded.connect() as conn:
            kept = conn.execute(text("SELECT count(*) FILTER (WHERE text_search @@ to_tsquery('english', 'swell')), "
                                     "count(*) FROM segments")).one()
        assert tuple(kept) == (4, 4)
    finally:
        upgraded.dispose()
