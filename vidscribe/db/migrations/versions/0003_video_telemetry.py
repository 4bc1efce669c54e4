"""Per-video telemetry (model seconds, peak VRAM, GPU-busy fraction per stage) and the worker that ran it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

Why in the videos table: the backfill summary, `vidscribe status` and a tuning session all ask "how did this
video use the GPU, and on which worker", long after the Prefect run's logs have been pruned.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("videos", sa.Column("telemetry", JSONB, nullable=False, server_default="{}"))
    op.add_column("videos", sa.Column("worker", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("videos", "worker")
    op.drop_column("videos", "telemetry")
