"""A note on a stored video that the archive should show: e.g. the media ended early (a truncated file).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

Why a column of its own: such a video is done (what was there is transcribed and searchable), so the note is not
an error; `status` and the batch summary show it until a clean re-ingest clears it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("videos", sa.Column("warning", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("videos", "warning")
