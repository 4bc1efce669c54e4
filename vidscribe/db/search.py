"""Semantic search over segment embeddings.

Why `<=>` in ORDER BY with LIMIT: that is the shape pgvector's HNSW index (vector_cosine_ops) serves;
any other ordering expression would fall back to scanning every segment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, func, select

from vidscribe.db.models import Segment, Video

#: pgvector's upper bound for hnsw.ef_search.
_MAX_EF_SEARCH = 1000


@dataclass(frozen=True)
class SearchHit:
    title: str
    url: str
    source_id: str
    start: float
    end: float
    text: str
    speaker: str
    score: float  # cosine similarity, 1 - cosine distance


def _ef_search(limit: int, filtered: bool) -> int:
    """HNSW candidates to visit: pgvector 0.6 filters after the index scan, so a speaker filter needs more
    candidates or a rare speaker would get fewer than `limit` hits."""
    return min(_MAX_EF_SEARCH, max(40, limit * (20 if filtered else 2)))


def search(engine: Engine, query_embedding: np.ndarray, speaker: str | None = None, limit: int = 10) -> list[SearchHit]:
    """The `limit` segments nearest to the query embedding, optionally only those of one speaker."""
    query = np.asarray(query_embedding, dtype=np.float32).ravel()
    distance = Segment.embedding.cosine_distance(query)
    stmt = (
        select(Video.title, Video.url, Video.source_id, Segment.start, Segment.end, Segment.text, Segment.speaker,
               distance.label("distance"))
        .join(Video, Video.id == Segment.video_id)
        .order_by(distance)
        .limit(limit)
    )
    if speaker is not None:
        stmt = stmt.where(Segment.speaker == speaker)
    with engine.begin() as conn:
        conn.execute(select(func.set_config("hnsw.ef_search", str(_ef_search(limit, speaker is not None)), True)))
        rows = conn.execute(stmt).all()
    return [
        SearchHit(
            title=row.title, url=row.url, source_id=row.source_id, start=row.start, end=row.end,
            text=row.text, speaker=row.speaker, score=1.0 - float(row.distance),
        )
        for row in rows
    ]
