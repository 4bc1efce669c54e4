"""Search against a real PostgreSQL + pgvector and the real offline text model (all-MiniLM-L6-v2).

The corpus is two podcast channels of realistic segments. One segment is a 30-second anecdote that names the
battery supplier's engineer, Kowalczyk, only in passing: the embedding sees an airport story, so segments that
are about swelling batteries outrank it for "Kowalczyk battery swelling", while the full-text ranking holds the
exact name. That is the case hybrid search exists for, measured here with numbers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text

from vidscribe.stages.embed import embed_texts
from tests.db_fixtures import embedded_database, make_settings
from vidscribe.db import SearchHit, get_engine, search, store_video
from vidscribe.video import VideoInfo
from vidscribe.db.engine import HEAD_REVISION, MIGRATIONS_DIR
from vidscribe.db.search import moment_link, text_configs_present
from vidscribe.settings import Settings
from vidscribe.transcript import Segment

HANGOUT = ("https://www.youtube.com/@hardwarehangout", "Hardware Hangout")
GARDEN = ("https://gardenshed.example/feed.xml", "Garden Shed Radio")
RARE = ("I have to tell the airport story, because the flight was cancelled twice and we slept in the terminal, "
        "and when we finally got there Kowalczyk just laughed, handed us coffee and said the battery swelling "
        "report could wait until lunch.")
RARE_QUERY = "Kowalczyk battery swelling"


@dataclass(frozen=True)
class Episode:
    info: VideoInfo
    lines: tuple[tuple[str, str], ...]  # (speaker, text), 12.5 s apart from 3.7 s on


def _episode(source_id: str, url: str, title: str, channel: tuple[str, str], day: date,
             lines: tuple[tuple[str, str], ...]) -> Episode:
    published = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    return Episode(VideoInfo(source_id, url, title, *channel, published_at=published, duration=600.0), lines)


EPISODES = (
    _episode("youtube:hh012recall", "https://www.youtube.com/watch?v=hh012recall&list=PLhangout",
             "Episode 12: what went wrong with the v2 charger", HANGOUT, date(2024, 3, 5), (
        ("Maya", "Welcome back to the show. Today we're talking about what went wrong with the v2 charger launch."),
        ("Tom", "The short version is that the battery cells started swelling in about two percent of the units "
                "we tested."),
        ("Maya", "Swollen lithium cells are a real safety problem, so we pulled the whole batch off the shelves."),
        ("Tom", "Battery swelling happens when the cells break down and release gas inside the pouch."),
        ("Maya", "A swollen battery should never be charged again, put it somewhere fireproof and recycle it."),
        ("Tom", RARE),
        ("Maya", "We ran the new cells through a thermal chamber for three weeks before signing off."),
        ("Tom", "Firmware also changed: the charger now stops at eighty percent when the pack gets warm."),
        ("Maya", "If you bought one before April, you can request a free replacement on our website."),
        ("Tom", "Thanks to everyone who sent us photos of the bulging cases, that helped a lot."),
    )),
    _episode("youtube:hh015solder", "https://youtu.be/hh015solder", "Episode 15: soldering at home", HANGOUT,
             date(2024, 6, 18), (
        ("Priya", "A decent soldering iron with temperature control matters more than an expensive brand name."),
        ("Tom", "Always tin the tip before you start, otherwise the heat just won't transfer."),
        ("Priya", "Use leaded solder if you're learning, it flows at a lower temperature and forgives mistakes."),
        ("Tom", "Ventilation is important, the flux fumes are nastier than people think."),
        ("Priya", "For surface mount parts I use a hot air station and a lot of patience."),
        ("Tom", "Our battery packs are spot welded, never solder directly onto a lithium cell."),
        ("Priya", "Heat damages the cell and can make it swell, or worse."),
    )),
    _episode("generic:gsr-41", "https://cdn.gardenshed.example/ep41.mp3#__youtubedl_smuggle=%7B%22force_videoid"
             "%22%3A+%22gsr-41%22%7D", "Ep 41: tomatoes in containers", GARDEN, date(2024, 4, 10), (
        ("Priya", "Tomatoes in containers need watering every day once the summer heat arrives."),
        ("Maya", "I water in the morning so the leaves dry off before evening and don't get blight."),
        ("Priya", "A twenty litre pot is the minimum for a full-size tomato plant."),
        ("Maya", "Feed them with a high potash fertiliser once the first flowers appear."),
        ("Priya", "Blossom end rot usually means uneven watering, not a lack of calcium in the soil."),
        ("Maya", "Pinch out the side shoots on cordon varieties, but leave bush types alone."),
        ("Priya", "My neighbour swears by comfrey tea, and honestly his tomatoes are enormous."),
    )),
    _episode("generic:gsr-58", "https://cdn.gardenshed.example/ep58.mp3", "Ep 58: winter composting", GARDEN,
             date(2025, 1, 22), (
        ("Maya", "Compost slows right down in winter, but it doesn't stop completely."),
        ("Tom", "Insulating the bin with straw bales keeps the middle of the heap warm."),
        ("Maya", "Keep adding kitchen scraps, just chop them smaller so they break down faster."),
        ("Tom", "If it smells sour, add more browns like shredded cardboard and dry leaves."),
        ("Priya", "Turning the heap in January lets the cold in, so I leave it until spring."),
        ("Maya", "By April you'll have dark crumbly compost ready for the tomato beds."),
        ("Tom", "Worm bins are better indoors over winter, the worms hate freezing temperatures."),
        ("Priya", "Leaf mould is the slowest, it takes two years, but it's worth the wait."),
    )),
)
CORPUS_SIZE = sum(len(e.lines) for e in EPISODES)


def transcript(episode: Episode, language: str = "en") -> list[Segment]:
    return [
        Segment(start=3.7 + 12.5 * i, end=3.7 + 12.5 * i + 11.0, text=line, speaker=speaker,
                speaker_confidence=0.9, avg_logprob=-0.2, no_speech_prob=0.01, language=language)
        for i, (speaker, line) in enumerate(episode.lines)
    ]


def store_episode(engine: Engine, episode: Episode, settings: Settings, language: str = "en") -> None:
    """Store the episode's segments as in `language` ("": unknown, which a schema before 0005 accepts)."""
    segments = transcript(episode, language)
    store_video(engine, episode.info, segments, embed_texts([s.text for s in segments], settings),
                speakers={}, stage_seconds={}, audio_sha256="cd" * 32)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with embedded_database(tmp_path_factory.mktemp("search")) as settings:
        yield settings


@pytest.fixture(scope="module")
def engine(settings: Settings) -> Engine:
    engine = get_engine(settings)
    for episode in EPISODES:
        store_episode(engine, episode, settings)
    return engine


def rank_of(hits: list[SearchHit], segment_text: str) -> int | None:
    """1-based position of the segment among the hits, None when it is not among them."""
    return next((i for i, hit in enumerate(hits, 1) if hit.text == segment_text), None)


def run(engine: Engine, settings: Settings, query: str, **options: object) -> list[SearchHit]:
    return search(engine, embed_texts([query], settings)[0], query_text=query, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(("url", "seconds", "expected"), [
    ("https://www.youtube.com/watch?v=abc&list=PL1", 83.9, "https://www.youtube.com/watch?v=abc&list=PL1&t=83s"),
    ("https://www.youtube.com/watch?t=5s&v=abc&index=2", 60.0, "https://www.youtube.com/watch?v=abc&index=2&t=60s"),
    ("https://m.youtube.com/watch?v=abc", 7.2, "https://m.youtube.com/watch?v=abc&t=7s"),
    ("https://youtu.be/abc", 12.5, "https://youtu.be/abc?t=12s"),
    ("https://youtu.be/abc?si=x%2Fy&t=1", 3.0, "https://youtu.be/abc?si=x%2Fy&t=3s"),
    ("https://cdn.example.org/ep1.mp3", 95.4, "https://cdn.example.org/ep1.mp3#t=95"),
    ("https://cdn.example.org/ep1.mp3?token=1#__youtubedl_smuggle=%7B%7D", 4.0,
     "https://cdn.example.org/ep1.mp3?token=1#t=4"),
    ("http://example.org/talk.mp4#t=10", 20.0, "http://example.org/talk.mp4#t=20"),
    ("file:///data/talks/keynote.mp4", 61.0, "file:///data/talks/keynote.mp4#t=61"),
    ("https://notyoutube.com/watch?v=abc", 2.0, "https://notyoutube.com/watch?v=abc#t=2"),
    ("https://www.youtube.com/watch?v=abc", -0.4, "https://www.youtube.com/watch?v=abc&t=0s"),
    ("ytsearch:charger recall", 5.0, "ytsearch:charger recall"),
])
def test_moment_link(url: str, seconds: float, expected: str) -> None:
    assert moment_link(url, seconds) == expected


def test_hybrid_ranks_the_rare_name_first(engine: Engine, settings: Settings) -> None:
    vector = run(engine, settings, RARE_QUERY, limit=CORPUS_SIZE)
    hybrid = run(engine, settings, RARE_QUERY, mode="hybrid", limit=CORPUS_SIZE)
    vector_rank, hybrid_rank = rank_of(vector, RARE), rank_of(hybrid, RARE)
    print(f"{RARE_QUERY!r}: Kowalczyk segment at vector rank {vector_rank}, hybrid rank {hybrid_rank}; "
          f"vector top: {[(round(h.score, 3), h.text[:40]) for h in vector[:vector_rank or 5]]}")
    assert vector_rank is not None and vector_rank > 1
    assert hybrid_rank == 1

    top = hybrid[0]
    assert top.fused_score == pytest.approx(1 / 61 + 1 / (60 + vector_rank))  # 1st by words, vector_rank-th by meaning
    assert top.score == pytest.approx(vector[vector_rank - 1].score, abs=1e-5)  # score stays the cosine similarity
    fused = [h.fused_score or 0.0 for h in hybrid]
    assert all(h.fused_score for h in hybrid) and fused == sorted(fused, reverse=True)
    assert all(h.fused_score is None for h in vector)


def test_hybrid_without_matching_words_keeps_the_vector_order(engine: Engine, settings: Settings) -> None:
    query = "what was it all about"  # only stop words: the full-text ranking is empty
    vector = run(engine, settings, query, limit=8)
    hybrid = run(engine, settings, query, mode="hybrid", limit=8)
    assert [h.text for h in hybrid] == [h.text for h in vector]


def test_filters_apply_to_both_rankings(engine: Engine, settings: Settings) -> None:
    # Maya never says the name: the text ranking must not bring Tom's segment back.
    maya = run(engine, settings, RARE_QUERY, mode="hybrid", speaker="Maya", limit=CORPUS_SIZE)
    assert maya and {h.speaker for h in maya} == {"Maya"} and rank_of(maya, RARE) is None
    garden = run(engine, settings, RARE_QUERY, mode="hybrid", channel=GARDEN[1], limit=CORPUS_SIZE)
    assert garden and {h.channel for h in garden} == {GARDEN[1]} and rank_of(garden, RARE) is None

    winter = run(engine, settings, "tomato", mode="hybrid", since=date(2025, 1, 1), limit=CORPUS_SIZE)
    assert rank_of(winter, "By April you'll have dark crumbly compost ready for the tomato beds.") == 1
    assert {h.title for h in winter} == {"Ep 58: winter composting"}


@pytest.mark.parametrize("mode", ["vector", "hybrid"])
@pytest.mark.parametrize(("filters", "expected"), [
    ({"speaker": "Priya"}, {"Priya"}),
    ({"channel": GARDEN[0]}, {"Ep 41: tomatoes in containers", "Ep 58: winter composting"}),
    ({"channel": HANGOUT[1], "speaker": "Tom"}, {"Tom"}),
    ({"since": date(2024, 4, 10), "until": date(2024, 6, 18)}, {"Ep 41: tomatoes in containers",
                                                                 "Episode 15: soldering at home"}),
    ({"until": date(2024, 3, 4)}, set()),
])
def test_filters_return_exactly_the_matching_segments(
    engine: Engine, settings: Settings, mode: str, filters: dict[str, object], expected: set[str]
) -> None:
    query = "battery or tomato or solder or compost"  # words of every episode: both rankings have candidates
    hits = run(engine, settings, query, mode=mode, limit=CORPUS_SIZE, **filters)
    wanted = [
        (episode, speaker)
        for episode in EPISODES
        for speaker, _ in episode.lines
        if _matches(episode, speaker, filters)
    ]
    assert len(hits) == len(wanted)  # every matching segment, no other: the filters hold after the HNSW scan
    labels = {h.speaker for h in hits} if "speaker" in filters else {h.title for h in hits}
    assert labels == expected


def _matches(episode: Episode, speaker: str, filters: dict[str, object]) -> bool:
    info, day = episode.info, episode.info.published_at.date()  # type: ignore[union-attr]
    return (
        filters.get("speaker", speaker) == speaker
        and filters.get("channel") in (None, info.channel_url, info.channel_name)
        and day >= filters.get("since", day)  # type: ignore[operator]
        and day <= filters.get("until", day)  # type: ignore[operator]
    )


def test_hits_link_to_the_moment(engine: Engine, settings: Settings) -> None:
    hits = run(engine, settings, "tin the tip of the soldering iron", mode="hybrid", limit=CORPUS_SIZE)
    youtube = next(h for h in hits if h.text.startswith("Always tin the tip"))
    assert youtube.start == pytest.approx(16.2) and youtube.link == "https://youtu.be/hh015solder?t=16s"
    recall = next(h for h in hits if h.text == RARE)
    assert recall.link == "https://www.youtube.com/watch?v=hh012recall&list=PLhangout&t=66s"
    assert recall.channel == HANGOUT[1] and recall.published_at == datetime(2024, 3, 5, tzinfo=timezone.utc)
    feed = next(h for h in hits if h.text.startswith("A twenty litre pot"))
    assert feed.link == "https://cdn.gardenshed.example/ep41.mp3#t=28"
    assert feed.url.startswith("https://cdn.gardenshed.example/ep41.mp3#__youtubedl_smuggle=")


def test_hybrid_statement_uses_both_indexes(engine: Engine, settings: Settings) -> None:
    """The fused statement must keep the shapes the HNSW and GIN indexes serve, filters included."""
    statements: list[tuple[str, dict[str, object]]] = []

    def capture(conn: object, cursor: object, statement: str, parameters: dict[str, object], *_: object) -> None:
        if "fused" in statement:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        run(engine, settings, RARE_QUERY, mode="hybrid", since=date(2024, 1, 1), limit=5)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    [(statement, parameters)] = statements
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))  # 30 rows: the planner would rightly scan them
        plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
    assert "ix_segments_embedding_hnsw" in plan and "ix_segments_text_search" in plan, plan


def test_bad_arguments_are_explained(engine: Engine) -> None:
    query = np.zeros(384, dtype=np.float32)
    query[0] = 1.0
    with pytest.raises(ValueError, match="query_text"):
        search(engine, query, mode="hybrid")
    with pytest.raises(ValueError, match="'semantic' is not one of"):
        search(engine, query, mode="semantic")  # type: ignore[arg-type]
    assert len(search(engine, query, "Tom", 3)) == 3  # the original positional call still works


def _upgrade(engine: Engine, revision: str, dim: int) -> None:
    """Alembic to `revision` on `engine`, the way `ensure_schema` runs it (which only goes to head)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["embedding_dim"] = dim
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def test_migration_0002_upgrades_a_database_with_rows(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("CREATE DATABASE deployed_0001"))
    url = engine.url.set(database="deployed_0001")
    old = create_engine(url)
    try:
        _upgrade(old, "0001", settings.text_embedding_dim)  # type: ignore[arg-type]
        store_episode(old, EPISODES[0], settings, language="")
        with old.connect() as conn:
            assert "text_search" not in set(conn.execute(text(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'segments'")).scalars())
    finally:
        old.dispose()

    upgraded = get_engine(make_settings(tmp_path, DATABASE_URL=url.render_as_string(hide_password=False)))
    try:
        with upgraded.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == HEAD_REVISION
            filled = conn.execute(text(
                "SELECT count(*) FILTER (WHERE text_search @@ 'kowalczyk'::tsquery), count(text_search), count(*)"
                " FROM segments")).one()
        assert tuple(filled) == (1, len(EPISODES[0].lines), len(EPISODES[0].lines))
        hits = run(upgraded, settings, RARE_QUERY, mode="hybrid", limit=3)
        assert hits[0].text == RARE
    finally:
        upgraded.dispose()


GERMAN = "Die Katzen schlafen im Garten, während der Hund vor dem Haus bellt."
ENGLISH = "The cats are sleeping in the garden while the dog barks in front of the house."
LOOP = "Die Katzen Katzen Katzen schlafen im Garten Garten Garten Garten Garten."
LANGUAGE_LINES = (  # (language, flag, text)
    ("de", None, GERMAN),
    ("de", None, "Morgen regnet es, aber am Wochenende scheint wieder die Sonne."),
    ("de", "loop: Whisper repeated itself", LOOP),
    ("en", None, ENGLISH),
    ("en", None, "Tomorrow it will rain, but the sun comes back at the weekend."),
    ("pl", None, "Koty śpią w ogrodzie."),  # no Polish configuration: 'simple'
)


@pytest.fixture(scope="module")
def languages(engine: Engine, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A database of its own (on the module's server) holding one video in German, English and Polish."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("CREATE DATABASE languages"))
    url = engine.url.set(database="languages").render_as_string(hide_password=False)
    multilingual = get_engine(make_settings(tmp_path_factory.mktemp("languages"), DATABASE_URL=url))
    segments = [
        Segment(start=10.0 * i, end=10.0 * i + 8.0, text=line, speaker="Lena", speaker_confidence=0.9,
                avg_logprob=-0.3, no_speech_prob=0.01, language=language, flag=flag)
        for i, (language, flag, line) in enumerate(LANGUAGE_LINES)
    ]
    store_video(multilingual, VideoInfo("file:languages", "file:///talks/languages.mp4", "Languages"), segments,
                embed_texts([s.text for s in segments], settings), speakers={}, stage_seconds={},
                audio_sha256="ef" * 32)
    yield multilingual
    multilingual.dispose()


def test_each_segment_is_indexed_with_its_languages_configuration(languages: Engine) -> None:
    with languages.connect() as conn:
        stored = dict(conn.execute(text("SELECT text, text_config::text FROM segments")).all())
        assert conn.execute(text("SELECT text_search FROM segments WHERE language = 'de' AND flag IS NULL "
                                 "ORDER BY idx LIMIT 1")).scalar_one().startswith("'bellt'")
        assert sorted(text_configs_present(conn)) == ["english", "german", "simple"]
    assert [stored[line] for _, _, line in LANGUAGE_LINES] == ["german"] * 3 + ["english"] * 2 + ["simple"]


@pytest.mark.parametrize(("query", "expected"), [
    ("Katze Garten", GERMAN),  # German stemming: Katzen -> katz, Garten -> gart
    ("cat sleeps", ENGLISH),  # English stemming, as before: cats -> cat, sleeping -> sleep
    ("Koty", "Koty śpią w ogrodzie."),  # no stemmer: the word as it is
])
def test_hybrid_parses_the_query_in_each_segments_language(
    languages: Engine, settings: Settings, query: str, expected: str
) -> None:
    vector = run(languages, settings, query, limit=len(LANGUAGE_LINES))
    hybrid = run(languages, settings, query, mode="hybrid", limit=len(LANGUAGE_LINES))
    vector_rank = rank_of(vector, expected)
    print(f"{query!r}: vector rank {vector_rank}, hybrid rank {rank_of(hybrid, expected)}")
    assert vector_rank is not None and hybrid[0].text == expected
    # first by words (the only segment every query word matches, stemmed in its language), vector_rank-th by meaning
    assert hybrid[0].fused_score == pytest.approx(1 / 61 + 1 / (60 + vector_rank))
    assert hybrid[1].fused_score < 1 / 61  # type: ignore[operator]  # no other segment matched the words


def test_a_query_in_one_language_is_not_stemmed_into_another(languages: Engine, settings: Settings) -> None:
    # Parsed as German, "Gärten" is 'gart', which the German segment holds; parsed as English it would not be,
    # and the English segment's "garden" is no match for either parse.
    hybrid = run(languages, settings, "Gärten", mode="hybrid", limit=len(LANGUAGE_LINES))
    assert hybrid[0].text == GERMAN and hybrid[0].language == "de"
    assert next(h for h in hybrid if h.text == ENGLISH).fused_score < 1 / 61  # type: ignore[operator]


@pytest.mark.parametrize("mode", ["vector", "hybrid"])
def test_flagged_segments_are_left_out_unless_asked(languages: Engine, settings: Settings, mode: str) -> None:
    query = "Katzen Garten"  # the loop repeats both words: it would rank first by words
    clean = run(languages, settings, query, mode=mode, limit=len(LANGUAGE_LINES))
    assert rank_of(clean, LOOP) is None and len(clean) == len(LANGUAGE_LINES) - 1
    assert all(h.flag is None for h in clean)

    everything = run(languages, settings, query, mode=mode, limit=len(LANGUAGE_LINES), include_flagged=True)
    assert len(everything) == len(LANGUAGE_LINES)
    loop = everything[rank_of(everything, LOOP) - 1]  # type: ignore[operator]
    assert (loop.flag, loop.language) == ("loop: Whisper repeated itself", "de")


def test_cli_search_include_flagged_marks_them(languages: Engine, tmp_path: Path) -> None:
    """One run of the command (its start-up costs 20 s); leaving flagged ones out is tested above."""
    env = {**os.environ, "DATABASE_URL": languages.url.render_as_string(hide_password=False),
           "VIDSCRIBE_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "vidscribe", "search", "Katzen Garten", "--include-flagged"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    # first by words and by meaning (it repeats both words), and marked; the clean German segment second
    assert lines[1].strip() == f"{LOOP} [flagged: loop: Whisper repeated itself]"
    assert lines[4].strip() == GERMAN
