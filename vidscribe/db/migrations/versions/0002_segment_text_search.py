"""Full-text search on segments: a generated `text_search` tsvector with a GIN index.

Revision ID: 0002
Revises: 0001
Create Date: 2025-06-01

Why a STORED generated column: PostgreSQL computes it for rows already in the table when the column is
added (the ALTER rewrites the table once) and for every later insert or update, so neither old databases nor
`store_video` need a backfill step or a trigger, and the text ranking never recomputes `to_tsvector` per
query.

Why the 'english' configuration rather than 'simple': transcripts are English by default (VIDSCRIBE_LANGUAGE
en), and search queries are phrased as speech ("what did they say about swelling cells"). 'english' drops the
stop words and stems ("swelling" matches "swell", "cells" matches "cell"); with 'simple', every "what",
"did" and "about" of a query would have to appear in a segment, since `websearch_to_tsquery` ANDs the words.
Rare names and product codes are not in the stemmer's dictionary and stay as they are, which is what the
hybrid search needs them for. The configuration is spelled out (not `default_text_search_config`) because a
generated column must be immutable, and `search.py` must build its tsquery with the same one.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE segments ADD COLUMN text_search tsvector "
        "GENERATED ALWAYS AS (to_tsvector('english', text)) STORED"
    )
    op.create_index("ix_segments_text_search", "segments", ["text_search"], postgresql_using="gin")


def downgrade() -> None:
    op.drop_index("ix_segments_text_search", table_name="segments")
    op.drop_column("segments", "text_search")
