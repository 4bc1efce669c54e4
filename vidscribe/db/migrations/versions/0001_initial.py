"""Initial schema: channels, videos, segments with an HNSW cosine index, voice profiles.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

The segment embedding dimension comes from `config.attributes["embedding_dim"]` (settings.text_embedding_dim),
because pgvector's HNSW index needs a fixed dimension and each text-embedding model has its own.
"""

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

#: pgvector 0.6's HNSW index accepts at most this many dimensions.
HNSW_MAX_DIM = 2000


def _timestamp(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    dim = op.get_context().config.attributes["embedding_dim"]
    if not 1 <= dim <= HNSW_MAX_DIM:
        raise ValueError(f"text_embedding_dim {dim} is outside 1..{HNSW_MAX_DIM}, which pgvector's HNSW index supports")

    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "channels",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source_url", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text),
        _timestamp("created_at"),
    )
    op.create_table(
        "videos",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source_id", sa.Text, nullable=False, unique=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("channel_id", sa.Integer, sa.ForeignKey("channels.id", ondelete="SET NULL"), index=True),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("duration", sa.Float),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("error", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("stage_seconds", JSONB, nullable=False, server_default="{}"),
        sa.Column("audio_sha256", sa.Text),
        sa.Column("speakers", JSONB, nullable=False, server_default="{}"),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.CheckConstraint("status IN ('pending', 'running', 'done', 'failed')", name="ck_videos_status"),
    )
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("video_id", sa.Integer, sa.ForeignKey("videos.id", ondelete="CASCADE"), nullable=False),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("start", sa.Float, nullable=False),
        sa.Column("end", sa.Float, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("speaker", sa.Text, nullable=False),
        sa.Column("speaker_confidence", sa.Float, nullable=False),
        sa.Column("avg_logprob", sa.Float, nullable=False),
        sa.Column("no_speech_prob", sa.Float, nullable=False),
        sa.Column("embedding", Vector(dim), nullable=False),
        sa.UniqueConstraint("video_id", "idx", name="uq_segments_video_idx"),
    )
    op.create_index("ix_segments_speaker", "segments", ["speaker"])
    op.create_index(
        "ix_segments_embedding_hnsw",
        "segments",
        ["embedding"],
        postgresql_using="hnsw",
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.create_table(
        "voice_profiles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("speaker_model_key", sa.Text, nullable=False),
        sa.Column("centroid", Vector(), nullable=False),
        sa.Column("sample_count", sa.Integer, nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.UniqueConstraint("name", "speaker_model_key", name="uq_voice_profiles_name_key"),
    )


def downgrade() -> None:
    op.drop_table("voice_profiles")
    op.drop_table("segments")
    op.drop_table("videos")
    op.drop_table("channels")
