"""The transcript database: PostgreSQL + pgvector through SQLAlchemy 2, schema by Alembic.

Callers get an engine from `get_engine(settings)` and pass it to the functions below; the functions own
their transactions, so a stage never leaves a half-written video behind.
"""

from vidscribe.db.engine import ensure_schema, get_engine, stop_embedded_server
from vidscribe.db.errors import DatabaseUnavailableError, SchemaMismatchError
from vidscribe.db.queries import (
    ChannelStatus,
    attempted_since,
    channel_status,
    claimed_source_ids,
    database_now,
    done_source_ids,
    exclusive,
    failed_videos,
    recent_videos,
    video_claim,
)
from vidscribe.db.profiles import VoiceProfile, list_profiles, upsert_profile
from vidscribe.db.search import SearchHit, search
from vidscribe.db.store import (
    VideoRecord,
    get_video,
    mark_failed,
    mark_interrupted,
    mark_running,
    segment_count,
    store_video,
    upsert_video,
    video_segments,
)

__all__ = [
    "ChannelStatus",
    "channel_status",
    "recent_videos",
    "DatabaseUnavailableError",
    "SchemaMismatchError",
    "SearchHit",
    "VideoRecord",
    "VoiceProfile",
    "attempted_since",
    "claimed_source_ids",
    "database_now",
    "done_source_ids",
    "ensure_schema",
    "exclusive",
    "failed_videos",
    "get_engine",
    "get_video",
    "list_profiles",
    "mark_failed",
    "mark_interrupted",
    "mark_running",
    "search",
    "segment_count",
    "stop_embedded_server",
    "store_video",
    "upsert_profile",
    "upsert_video",
    "video_claim",
    "video_segments",
]
