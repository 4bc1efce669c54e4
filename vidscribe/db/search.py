"""Search over segments: semantic (pgvector) or hybrid (semantic + full text), with a link to each moment.

Why `<=>` in ORDER BY with LIMIT: that is the shape pgvector's HNSW index (vector_cosine_ops) serves;
any other ordering expression would fall back to scanning every segment.

Why a hybrid mode: a sentence embedding knows what a segment is about, not which rare words it contains. A
query naming a person, a product code or a place ("Kowalczyk", "Zyxtrom-7") embeds close to every segment on
the same topic, so the one segment that says the name can rank below them. PostgreSQL's full-text search
finds exactly that segment; reciprocal rank fusion combines the two rankings without having to calibrate a
cosine similarity against a `ts_rank_cd` value, which live on unrelated scales.

Why the query is parsed once per text-search configuration present, and not in one language: each segment is
indexed with its own language's configuration (`text_configs.py`), and the query's language is unknown (a user
searching a German channel types German, and should not have to say so). The words ranking matches a segment
against the query as parsed by that segment's own configuration: "Katze Garten" parsed as German ('katz' &
'gart') finds "Die Katzen schlafen im Garten", parsed as English it finds the English segments, and a stemmer
never applies to another language's text. The GIN index serves it as one scan for the union of the parses;
the configurations present are listed by a few probes of the `text_config` index, per search, so a language
ingested a moment ago is searched at once. Why not a `--language` option instead: it would make the user
know and type the language of what they look for, and a query in one language would miss the segments of
the others; parsing once per configuration present costs one tiny query and a parse per language.

Why flagged segments are left out by default: a flag says the text is probably not what was said (a Whisper
loop, a language the ASR model does not know); such text is confident nonsense, and it ranks well for the
very words it repeats. `include_flagged` brings them back, e.g. to review them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Literal, get_args
from urllib.parse import urlsplit, urlunsplit

import numpy as np
from sqlalchemy import ColumnElement, Connection, Engine, Select, and_, case, cast, func, literal, or_, select, text
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.orm import QueryableAttribute

from vidscribe.db.models import ChannelRow, SegmentRow, VideoRow
from vidscribe.db.text_configs import FALLBACK

SearchMode = Literal["vector", "hybrid"]
_Column = ColumnElement[Any] | QueryableAttribute[Any]

#: pgvector's upper bound for hnsw.ef_search.
_MAX_EF_SEARCH = 1000
#: Reciprocal rank fusion constant of Cormack, Clarke and Buettcher (SIGIR 2009), the value everyone uses: it
#: damps the head of each ranking, so being first in one list does not outweigh being high in both.
RRF_K = 60
#: Candidates each ranking contributes to the fusion: deep enough that a segment ranked moderately by both
#: (say 30th semantically, 5th by words) is seen by both, shallow enough to stay an index scan.
HYBRID_CANDIDATES = 50
#: The text-search configurations present in `segments`, as a loose index scan of `ix_segments_text_config`:
#: one index probe per configuration (at most 29), however many segments the archive holds.
_CONFIGS_PRESENT = text("""
    WITH RECURSIVE present(config) AS (
        (SELECT text_config FROM segments ORDER BY text_config LIMIT 1)
        UNION ALL
        SELECT (SELECT s.text_config FROM segments s WHERE s.text_config > present.config
                ORDER BY s.text_config LIMIT 1)
        FROM present WHERE present.config IS NOT NULL
    )
    SELECT config::text FROM present WHERE config IS NOT NULL
""")


@dataclass(frozen=True)
class SearchHit:
    title: str
    url: str  # the video as stored
    source_id: str
    start: float
    end: float
    text: str
    speaker: str
    score: float  # cosine similarity, 1 - cosine distance, in both modes
    link: str  # `url` opened at `start` (see `moment_link`)
    published_at: datetime | None
    channel: str | None  # the channel's name, else its source URL
    fused_score: float | None  # hybrid mode: the reciprocal rank fusion score hits are ordered by
    language: str = ""  # the segment's ISO 639-1 code, "" unknown
    flag: str | None = None  # why the segment is suspect (only with include_flagged); None: clean


def moment_link(url: str, seconds: float) -> str:
    """`url` opened at `seconds` (floored to whole seconds, so playback starts just before the first word).

    YouTube (youtube.com, its subdomains, youtu.be) reads a `t=<seconds>s` query parameter: any earlier `t` is
    replaced, the other parameters are kept byte for byte. Other http(s) and file URLs get a W3C Media
    Fragment `#t=<seconds>`, which browsers' media players honor; it replaces any fragment, because the only
    fragment vidscribe stores is yt-dlp's smuggled feed data, which means nothing to a browser. Other schemes
    are returned unchanged: there is no portable way to address a moment in them.
    """
    stamp = int(max(seconds, 0.0))
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in ("youtube.com", "youtu.be") or host.endswith(".youtube.com"):
        kept = [pair for pair in parts.query.split("&") if pair and pair.split("=", 1)[0] != "t"]
        return urlunsplit(parts._replace(query="&".join([*kept, f"t={stamp}s"])))
    if parts.scheme in ("http", "https", "file"):
        return urlunsplit(parts._replace(fragment=f"t={stamp}"))
    return url


def _ef_search(limit: int, filtered: bool) -> int:
    """HNSW candidates to visit: pgvector 0.6 filters after the index scan, so a filter needs more candidates or
    a rare speaker (or a small channel, or a short date range) would get fewer than `limit` hits."""
    return min(_MAX_EF_SEARCH, max(40, limit * (20 if filtered else 2)))


def _utc_midnight(day: date) -> datetime:
    """Dates are UTC days: `published_at` holds yt-dlp's upload date (a UTC day) or a UTC timestamp."""
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def _filters(
    speaker: str | None, channel: str | None, since: date | None, until: date | None
) -> list[ColumnElement[bool]]:
    """Conditions both rankings share, so a filter never lets the other ranking's hits back in."""
    conditions: list[ColumnElement[bool]] = []
    if speaker is not None:
        conditions.append(SegmentRow.speaker == speaker)
    if channel is not None:
        conditions.append(or_(ChannelRow.source_url == channel, ChannelRow.name == channel))
    if since is not None:
        conditions.append(VideoRow.published_at >= _utc_midnight(since))
    if until is not None:
        conditions.append(VideoRow.published_at < _utc_midnight(until + timedelta(days=1)))
    return conditions


def _scoped(*columns: _Column) -> Select[Any]:
    """Segments with their video and (optional) channel: every column a filter or a hit needs."""
    return (
        select(*columns)
        .join(VideoRow, VideoRow.id == SegmentRow.video_id)
        .outerjoin(ChannelRow, ChannelRow.id == VideoRow.channel_id)
    )


def _hit_columns(distance: ColumnElement[float]) -> tuple[_Column, ...]:
    return (
        VideoRow.title, VideoRow.url, VideoRow.source_id, VideoRow.published_at,
        func.coalesce(ChannelRow.name, ChannelRow.source_url).label("channel"),
        SegmentRow.start, SegmentRow.end, SegmentRow.text, SegmentRow.speaker, SegmentRow.language, SegmentRow.flag,
        distance.label("distance"),
    )


def text_configs_present(conn: Connection) -> list[str]:
    """The text-search configurations the stored segments use (names, e.g. ['english', 'german'])."""
    return list(conn.execute(_CONFIGS_PRESENT).scalars())


def _hybrid_statement(
    distance: ColumnElement[float], query_text: str, conditions: list[ColumnElement[bool]], candidates: int,
    limit: int, configs: list[str],
) -> Select[Any]:
    """One statement: each ranking is a CTE of its top candidates, fused by a FULL JOIN on the segment id.

    Why in SQL rather than two queries fused in Python: both rankings read one snapshot (an ingest committing
    in between cannot change one list and not the other), the session's `hnsw.ef_search` covers the one
    statement, and only the `limit` fused rows, not 2 x HYBRID_CANDIDATES, travel back with their video data.
    Each CTE keeps the shape its index serves: ORDER BY `<=>` LIMIT for HNSW, `@@` for the GIN index (one arm
    per text-search configuration in `configs`, each with the query parsed by that configuration).
    """
    by_meaning = (
        _scoped(SegmentRow.id, func.row_number().over(order_by=distance).label("rank"))
        .where(*conditions)
        .order_by(distance)
        .limit(candidates)
        .cte("by_meaning")
    )

    # The query as each configuration parses it, and as the segment's own configuration does: the GIN index
    # finds the segments that match any parse (one scan of the union of the parses' lexemes), and of those the
    # ones that match their own parse are kept and ranked by it.
    parses: list[tuple[ColumnElement[bool], ColumnElement[Any]]] = []
    for name in configs or [FALLBACK]:  # no segments yet: one parse, which matches nothing
        config = cast(literal(name), REGCONFIG)
        parses.append((SegmentRow.text_config == config, func.websearch_to_tsquery(config, query_text)))
    any_parse = functools.reduce(lambda left, right: left.op("||")(right), (tsquery for _, tsquery in parses))
    own_parse = case(*parses)
    matches = and_(SegmentRow.text_search.bool_op("@@")(any_parse), SegmentRow.text_search.bool_op("@@")(own_parse))
    text_rank = func.ts_rank_cd(SegmentRow.text_search, own_parse)
    order = (text_rank.desc(), SegmentRow.id)  # the id makes ties (common among short segments) deterministic
    by_words = (
        _scoped(SegmentRow.id, func.row_number().over(order_by=order).label("rank"))
        .where(matches, *conditions)
        .order_by(*order)
        .limit(candidates)
        .cte("by_words")
    )

    def contribution(rank: ColumnElement[int]) -> ColumnElement[float]:
        return func.coalesce(1.0 / (RRF_K + rank), 0.0)

    fused = (
        select(
            func.coalesce(by_meaning.c.id, by_words.c.id).label("id"),
            (contribution(by_meaning.c.rank) + contribution(by_words.c.rank)).label("fused"),
        )
        .select_from(by_meaning.join(by_words, by_meaning.c.id == by_words.c.id, full=True))
        .cte("fused")
    )
    return (
        _scoped(*_hit_columns(distance), fused.c.fused)
        .join(fused, fused.c.id == SegmentRow.id)
        .order_by(fused.c.fused.desc(), distance)
        .limit(limit)
    )


def search(
    engine: Engine,
    query_embedding: np.ndarray,
    speaker: str | None = None,
    limit: int = 10,
    *,
    query_text: str | None = None,
    mode: SearchMode = "vector",
    channel: str | None = None,
    since: date | None = None,
    until: date | None = None,
    include_flagged: bool = False,
) -> list[SearchHit]:
    """The `limit` best segments for a query, best first.

    mode "vector": nearest by cosine similarity to `query_embedding`. mode "hybrid": reciprocal rank fusion
    (k = RRF_K) of that ranking and PostgreSQL's full-text ranking of `query_text` (`websearch_to_tsquery`,
    so every word must appear, stemmed, unless joined by `or`; "quoted phrases" and `-word` work; ordered by
    `ts_rank_cd`), the query parsed with each segment's own language configuration (see the module's
    docstring). A query whose words no segment holds all of gives an empty text ranking, and the hybrid
    order is then the vector order. `query_text` is what `query_embedding` was made from; vector mode
    ignores it.

    Filters apply to both rankings: `speaker` (name or label), `channel` (its source URL or its name), and
    `since`/`until` (inclusive UTC days of `published_at`; videos without a date are left out when either
    is given). Flagged segments (`flag` set: probably not what was said) are left out of both rankings
    unless `include_flagged`; hits carry their `flag` and `language`.
    """
    if mode not in get_args(SearchMode):
        raise ValueError(f"search mode {mode!r} is not one of {get_args(SearchMode)}")
    query = np.asarray(query_embedding, dtype=np.float32).ravel()
    distance = SegmentRow.embedding.cosine_distance(query)
    conditions = _filters(speaker, channel, since, until)
    # Flagged segments are few, so leaving them out is not counted as a filter that needs a deeper HNSW scan.
    filtered = bool(conditions)
    if not include_flagged:
        conditions.append(SegmentRow.flag.is_(None))
    if mode == "hybrid" and not (query_text and query_text.strip()):
        raise ValueError("hybrid search needs the query's words (query_text) as well as its embedding")
    candidates = max(limit, HYBRID_CANDIDATES) if mode == "hybrid" else limit
    with engine.begin() as conn:
        if mode == "hybrid":
            assert query_text is not None
            configs = text_configs_present(conn)
            stmt = _hybrid_statement(distance, query_text, conditions, candidates, limit, configs)
        else:
            stmt = _scoped(*_hit_columns(distance)).where(*conditions).order_by(distance).limit(limit)
        ef_search = _ef_search(candidates, filtered)
        conn.execute(select(func.set_config("hnsw.ef_search", str(ef_search), True)))
        rows = conn.execute(stmt).all()
    return [
        SearchHit(
            title=row.title, url=row.url, source_id=row.source_id, start=row.start, end=row.end,
            text=row.text, speaker=row.speaker, score=1.0 - float(row.distance),
            link=moment_link(row.url, row.start), published_at=row.published_at, channel=row.channel,
            fused_score=float(row.fused) if mode == "hybrid" else None, language=row.language, flag=row.flag,
        )
        for row in rows
    ]
