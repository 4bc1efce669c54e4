"""Languages: each segment's language, flag and text-search configuration; each video's main language.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

- `segments.language`: ISO 639-1 code ("" unknown); `videos.language`: the language with the most segment
  seconds (NULL when no segment's language is known).
- `segments.flag`: why a segment is suspect (a hallucinated loop, speech in a language the model does not
  know, ...); NULL is clean. Search leaves flagged segments out unless asked.
- `segments.text_config`: the PostgreSQL text-search configuration of the segment's language
  (`vidscribe/db/text_configs.py`), and `text_search` generated from it instead of the fixed 'english' of
  migration 0002, so German is stemmed as German. A generated column may use another column of its row: the
  expression `to_tsvector(regconfig, text)` is still immutable. The default 'simple' (no stemming) is right for
  an unknown language; rows already stored get 'english', the configuration they were indexed with until now
  (VIDSCRIBE_LANGUAGE defaults to en), so their search behaves as before.
- `ix_segments_text_config`: lets search list the configurations present with one index probe each, rather
  than a scan of every segment.

Re-adding `text_search` rewrites the segments table once (as 0002 did); the GIN index is rebuilt with it.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import REGCONFIG

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _generate_text_search(config: str) -> None:
    """Re-create the generated `text_search` column (and its GIN index) with the configuration `config`: a
    column name (per row) or a quoted configuration."""
    op.drop_index("ix_segments_text_search", table_name="segments")
    op.drop_column("segments", "text_search")
    op.execute("ALTER TABLE segments ADD COLUMN text_search tsvector "
               f"GENERATED ALWAYS AS (to_tsvector({config}, text)) STORED")
    op.create_index("ix_segments_text_search", "segments", ["text_search"], postgresql_using="gin")


def upgrade() -> None:
    op.add_column("videos", sa.Column("language", sa.Text, nullable=True))
    op.add_column("segments", sa.Column("language", sa.Text, nullable=False, server_default=""))
    op.add_column("segments", sa.Column("flag", sa.Text, nullable=True))
    # Existing rows take 'english' from the column's first default; new rows then default to 'simple'.
    op.add_column("segments", sa.Column("text_config", REGCONFIG, nullable=False,
                                        server_default=sa.text("'english'::regconfig")))
    op.alter_column("segments", "text_config", server_default=sa.text("'simple'::regconfig"))

    _generate_text_search("text_config")
    op.create_index("ix_segments_text_config", "segments", ["text_config"])


def downgrade() -> None:
    op.drop_index("ix_segments_text_config", table_name="segments")
    _generate_text_search("'english'")
    op.drop_column("segments", "text_config")
    op.drop_column("segments", "flag")
    op.drop_column("segments", "language")
    op.drop_column("videos", "language")
