"""Writing videos and their segments.

Why one transaction per stored video: a video's segments are replaced as a whole (delete + bulk insert),
so a retry or a re-run with better models never duplicates rows, and a failure leaves the previous
transcript searchable instead of a half-written one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from vidscribe.db.models import ChannelRow, SegmentRow, VideoRow
from vidscribe.db.text_configs import FALLBACK, normalize_language, text_config
from vidscribe.transcript import Segment
from vidscribe.video import VideoInfo


@dataclass(frozen=True)
class VideoRecord:
    """A stored video row, detached from any session (safe to pickle into Prefect results)."""

    id: int
    source_id: str
    url: str
    title: str
    channel_id: int | None
    published_at: datetime | None
    duration: float | None
    status: str
    error: str | None
    attempts: int
    stage_seconds: dict[str, float]
    audio_sha256: str | None
    speakers: dict[str, Any]
    telemetry: dict[str, Any]
    worker: str | None
    warning: str | None
    created_at: datetime
    updated_at: datetime
    #: the video's main language (ISO 639-1: the most segment seconds); None when unknown
    language: str | None = None


def _upsert_channel(conn: Connection, url: str, name: str | None) -> int:
    stmt = pg_insert(ChannelRow).values(source_url=url, name=name)
    stmt = stmt.on_conflict_do_update(
        index_elements=[ChannelRow.source_url], set_={"name": func.coalesce(stmt.excluded.name, ChannelRow.name)}
    )
    return conn.execute(stmt.returning(ChannelRow.id)).scalar_one()


def _upsert_video(conn: Connection, info: VideoInfo) -> int:
    """Insert or refresh metadata; fields the source no longer reports (None) keep their stored value."""
    channel_id = _upsert_channel(conn, info.channel_url, info.channel_name) if info.channel_url else None
    stmt = pg_insert(VideoRow).values(
        source_id=info.source_id,
        url=info.url,
        title=info.title,
        channel_id=channel_id,
        published_at=info.published_at,
        duration=info.duration,
    )
    new = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=[VideoRow.source_id],
        set_={
            "url": new.url,
            "title": new.title,
            "channel_id": func.coalesce(new.channel_id, VideoRow.channel_id),
            "published_at": func.coalesce(new.published_at, VideoRow.published_at),
            "duration": func.coalesce(new.duration, VideoRow.duration),
            "updated_at": func.now(),
        },
    )
    return conn.execute(stmt.returning(VideoRow.id)).scalar_one()


def upsert_video(engine: Engine, info: VideoInfo) -> int:
    """Create the video (status pending) or update its metadata, keeping its status; returns its id."""
    with engine.begin() as conn:
        return _upsert_video(conn, info)


def mark_running(engine: Engine, video_id: int, worker: str | None = None) -> None:
    """Record that an attempt started, and where (attempts counts them, to spot videos that keep failing)."""
    with engine.begin() as conn:
        conn.execute(
            update(VideoRow)
            .where(VideoRow.id == video_id)
            .values(status="running", attempts=VideoRow.attempts + 1, worker=worker, updated_at=func.now())
        )


def mark_failed(engine: Engine, video_id: int, error: str) -> None:
    """Record a failed attempt; the earlier segments, if any, stay searchable."""
    with engine.begin() as conn:
        conn.execute(
            update(VideoRow).where(VideoRow.id == video_id).values(status="failed", error=error, updated_at=func.now())
        )


def mark_interrupted(engine: Engine, video_ids: list[int], reason: str) -> None:
    """Record videos whose run was interrupted as failed, waiting at most 2 s for a row another transaction holds
    (a store in progress: it is rolled back when the process ends, and `retry` finds the row `running`)."""
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL lock_timeout = '2s'"))
        conn.execute(update(VideoRow).where(VideoRow.id.in_(video_ids), VideoRow.status == "running")
                     .values(status="failed", error=reason, updated_at=func.now()))


def store_video(
    engine: Engine,
    info: VideoInfo,
    segments: list[Segment],
    embeddings: np.ndarray,
    speakers: dict[str, dict[str, Any]],
    stage_seconds: dict[str, float],
    audio_sha256: str,
    telemetry: dict[str, Any] | None = None,
    warning: str | None = None,
) -> int:
    """Replace the video's transcript in one transaction and mark it done; returns the video id.

    `warning`: what the archive should say about this transcript (e.g. the media ended early); "" clears it.
    `telemetry` or `warning` None keeps the stored value (a schema without the column still accepts the write).

    Each segment's `language` picks its full-text configuration (`text_configs.text_config`); `flag` is stored
    as given. The video's language is the one with the most segment seconds, flagged segments included (they
    are still speech in that language); none known keeps the stored value. Like `telemetry`, the language
    columns are written only when some segment carries a value, so a schema from before migration 0005 (the
    migration tests seed one) still accepts a store of plain segments.

    The embedding dimension is checked by the database column, so a wrong model fails the transaction.
    """
    if embeddings.ndim != 2 or embeddings.shape[0] != len(segments):
        raise ValueError(f"need one embedding row per segment: {len(segments)} segments, embeddings {embeddings.shape}")
    vectors = np.asarray(embeddings, dtype=np.float32)
    languages = [normalize_language(seg.language) for seg in segments]
    flags = [seg.flag or None for seg in segments]
    main_language = _main_language(segments, languages)
    with engine.begin() as conn:
        configs = [text_config(language, _text_configs(conn)) for language in languages] if any(languages) else []
        language_columns = [
            (name, values) for name, values, written in (
                ("language", languages, any(languages)),
                ("flag", flags, any(flags)),
                ("text_config", configs, any(config != FALLBACK for config in configs)),
            ) if written
        ]
        video_id = _upsert_video(conn, info)
        conn.execute(delete(SegmentRow).where(SegmentRow.video_id == video_id))
        if segments:
            conn.execute(
                insert(SegmentRow),
                [
                    {
                        "video_id": video_id,
                        "idx": idx,
                        "start": seg.start,
                        "end": seg.end,
                        "text": seg.text,
                        "speaker": seg.speaker,
                        "speaker_confidence": seg.speaker_confidence,
                        "avg_logprob": seg.avg_logprob,
                        "no_speech_prob": seg.no_speech_prob,
                        "embedding": vector,
                        **{name: values[idx] for name, values in language_columns},
                    }
                    for idx, (seg, vector) in enumerate(zip(segments, vectors, strict=True))
                ],
            )
        conn.execute(
            update(VideoRow)
            .where(VideoRow.id == video_id)
            .values(
                status="done",
                error=None,
                speakers=speakers,
                stage_seconds=stage_seconds,
                audio_sha256=audio_sha256,
                updated_at=func.now(),
                **({"telemetry": telemetry} if telemetry is not None else {}),
                **({"warning": warning or None} if warning is not None else {}),
                **({"language": main_language} if main_language is not None else {}),
            )
        )
    return video_id


def _main_language(segments: list[Segment], languages: list[str]) -> str | None:
    """The language with the most segment seconds (the first to reach it on a tie); None if none is known."""
    seconds: dict[str, float] = {}
    for seg, language in zip(segments, languages, strict=True):
        if language:
            seconds[language] = seconds.get(language, 0.0) + max(seg.end - seg.start, 0.0)
    return max(seconds, key=seconds.__getitem__) if seconds else None


#: The text-search configurations of each server (by URL, password hidden): a store needs them only to avoid
#: naming one an older PostgreSQL lacks, and a server's built-in set does not change while it runs.
_server_configs: dict[str, frozenset[str]] = {}


def _text_configs(conn: Connection) -> frozenset[str]:
    key = str(conn.engine.url)
    if key not in _server_configs:
        _server_configs[key] = frozenset(conn.execute(text("SELECT cfgname FROM pg_ts_config")).scalars())
    return _server_configs[key]


def segment_count(engine: Engine, video_id: int | None = None) -> int:
    """Number of stored segments, of one video or of all."""
    stmt = select(func.count()).select_from(SegmentRow)
    if video_id is not None:
        stmt = stmt.where(SegmentRow.video_id == video_id)
    with engine.connect() as conn:
        return conn.execute(stmt).scalar_one()


def video_segments(engine: Engine, video_id: int) -> list[Segment]:
    """A stored video's segments in spoken order, with their language and flag (without words, which are not
    stored)."""
    stmt = (
        select(SegmentRow.start, SegmentRow.end, SegmentRow.text, SegmentRow.speaker, SegmentRow.speaker_confidence,
               SegmentRow.avg_logprob, SegmentRow.no_speech_prob, SegmentRow.language, SegmentRow.flag)
        .where(SegmentRow.video_id == video_id)
        .order_by(SegmentRow.idx)
    )
    with engine.connect() as conn:
        return [Segment(**row) for row in conn.execute(stmt).mappings()]


def get_video(engine: Engine, source_id: str) -> VideoRecord | None:
    """The stored video with this source id, or None."""
    with engine.connect() as conn:
        row = conn.execute(select(VideoRow.__table__).where(VideoRow.source_id == source_id)).mappings().first()
    return VideoRecord(**row) if row is not None else None
