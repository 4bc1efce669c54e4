"""The paths YouTube users take, tested offline: the options handed to yt-dlp, yt-dlp's own retry machinery,
an unreachable YouTube, channel listings without dates, and the JavaScript runtime yt-dlp needs.

No test reaches YouTube (these machines have no internet): host names of youtube.com fail to resolve by a
patched `socket.getaddrinfo`, so yt-dlp's real YouTube extractors run up to their first request, and the
retry and date machinery runs against the podcast feed on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import socket
from collections import Counter
from datetime import date, datetime, timezone
from typing import Any

import pytest
import yt_dlp
from sqlalchemy import delete

import vidscribe.ytdlp
from vidscribe.stages.fetch import fetch, refuse_live
from tests.feed import FeedServer
from vidscribe.stages.decode import decode
from vidscribe.db.models import VideoRow
from vidscribe.errors import BadInputError
from vidscribe.sources import enumerate_source, flat_entries
from vidscribe.ytdlp import FetchError, UnreachableError, backoff, options

RETRIES = 2


@pytest.fixture()
def quick(settings, tmp_path):
    """Offline settings with two retries, short pauses and a private download folder."""
    return settings.model_copy(update={"fetch_retries": RETRIES, "fetch_retry_seconds": 0.01,
                                       "data_dir": tmp_path / "data"})


@pytest.fixture()
def offline_youtube(monkeypatch) -> Counter[str]:
    """youtube.com's host names do not resolve (as on a machine without internet); counts the look-ups."""
    real = socket.getaddrinfo
    lookups: Counter[str] = Counter()

    def resolve(host, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003 (socket.getaddrinfo's signature)
        if isinstance(host, str) and (host == "youtu.be" or host.endswith("youtube.com")):
            lookups[host] += 1
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return lookups


@pytest.fixture()
def ydl_options(monkeypatch) -> list[dict[str, Any]]:
    """Every options dict vidscribe hands to yt-dlp (a real YoutubeDL is built with it)."""
    seen: list[dict[str, Any]] = []

    class Recording(yt_dlp.YoutubeDL):
        def __init__(self, params: dict[str, Any] | None = None, *args: Any, **kwargs: Any) -> None:
            seen.append(dict(params or {}))
            super().__init__(params, *args, **kwargs)

    monkeypatch.setattr(vidscribe.ytdlp, "YoutubeDL", Recording)
    return seen


def test_ytdlp_calls_the_backoff_by_keyword_as_its_retry_manager_does():
    wait = backoff(0.5)
    sleeps: list[float] = []

    def report(err: Exception, count: int, retries: int) -> None:
        yt_dlp.utils.RetryManager.report_retry(err, count, retries, sleep_func=lambda **kw: sleeps.append(wait(**kw)),
                                               info=lambda *_: None, warn=lambda *_: None)

    with pytest.raises(ValueError):
        for retry in yt_dlp.utils.RetryManager(3, report):
            retry.error = ValueError("transient")
    assert sleeps == [0.5, 1.0, 2.0]


def test_a_download_error_is_retried_by_ytdlp_without_extracting_again(feed: FeedServer, quick):
    episode = feed.episodes[0]
    feed.fail(episode.path, times=1, status=503, after=1)  # the extraction passes, the download gets a 503
    fetched = fetch(feed.url(episode.path), quick)
    assert decode(fetched.path, quick.audio_cache_dir).duration > 4
    assert feed.requests(episode.path) == 3  # extraction, the failed download, yt-dlp's retry of it


@pytest.mark.parametrize("after, step, requests", [(0, "page request", RETRIES + 1),
                                                   (1, "download", 1 + RETRIES + 1)])
def test_a_server_that_keeps_failing_ends_in_one_clear_line(feed: FeedServer, quick, after, step, requests):
    episode = feed.episodes[0]
    feed.fail(episode.path, times=100, status=500, after=after)
    url = feed.url(episode.path)
    with pytest.raises(FetchError) as error:
        fetch(url, quick)
    message = str(error.value)
    assert message.startswith(f"{url}: the {step} kept failing ({RETRIES + 1} attempts); try again later")
    assert "HTTP Error 500" in message and "\n" not in message
    assert feed.requests(episode.path) == requests  # one retry layer per request, none nested


#: (URL, the yt-dlp extractor that must take it): a video, a short, a video in a playlist (the video alone is
#: fetched: `noplaylist`), and a channel's live page (the tab extractor follows it to the stream)
YOUTUBE_VIDEOS = [("https://www.youtube.com/watch?v=jNQXAC9IVRw", "[youtube]"),
                  ("https://youtu.be/jNQXAC9IVRw", "[youtube]"),
                  ("https://www.youtube.com/shorts/jNQXAC9IVRw", "[youtube]"),
                  ("https://www.youtube.com/watch?v=jNQXAC9IVRw&list=PL590L5WQmH8fJ54F369BLDSqIwcs-TANk", "[youtube]"),
                  ("https://www.youtube.com/@SomeHandle/live", "[youtube:tab]")]
YOUTUBE_LISTS = ["https://www.youtube.com/@SomeHandle", "https://www.youtube.com/@SomeHandle/videos",
                 "https://www.youtube.com/channel/UC_x5XG1OV2P6uZZ5FSM9Ttw",
                 "https://www.youtube.com/playlist?list=PL590L5WQmH8fJ54F369BLDSqIwcs-TANk"]


def _common_options_hold(params: dict[str, Any], quick) -> None:
    assert params["retries"] == params["fragment_retries"] == RETRIES and params["extractor_retries"] == 0
    assert params["retry_sleep_functions"]["http"](n=1) == pytest.approx(0.02)  # called as yt-dlp calls it
    assert params["extractor_args"] == {"youtubetab": {"approximate_date": [""]}}
    assert "js_runtimes" not in params  # yt-dlp's default: deno, found beside this interpreter


@pytest.mark.parametrize("url, extractor", YOUTUBE_VIDEOS)
def test_ingest_of_a_youtube_video_offline_is_one_line_naming_the_host(url, extractor, quick, offline_youtube,
                                                                     ydl_options, caplog):
    with pytest.raises(UnreachableError) as error:
        fetch(url, quick)
    message = str(error.value)
    assert message.startswith(f"{url}: cannot reach {url.split('/')[2]}: its host name does not resolve "
                              f"({RETRIES + 1} attempts)"), message
    assert f"(yt-dlp: {extractor} " in message  # yt-dlp's YouTube extractor ran, not the generic one
    assert not [r for r in caplog.records if r.levelname == "WARNING"]  # the error says it all, once
    (params,) = ydl_options
    _common_options_hold(params, quick)
    assert params["format"] == "bestaudio/best" and params["noplaylist"] is True  # one video, audio only
    assert "extract_flat" not in params


@pytest.mark.parametrize("url", YOUTUBE_LISTS)
def test_backfill_of_a_youtube_channel_offline_is_one_line_naming_the_host(url, quick, offline_youtube,
                                                                         ydl_options):
    with pytest.raises(UnreachableError) as error:
        enumerate_source(url, quick, since=date(2025, 1, 1))
    message = str(error.value)
    assert message.startswith(f"{url}: cannot reach www.youtube.com: its host name does not resolve"), message
    assert "[youtube:tab]" in message  # the channel/playlist extractor
    assert sum(offline_youtube.values()) >= RETRIES + 1
    (params,) = ydl_options
    _common_options_hold(params, quick)
    assert params["extract_flat"] == "in_playlist" and "format" not in params  # a listing: nothing downloaded


@pytest.mark.parametrize("status, message", [("is_live", "live stream in progress"),
                                             ("is_upcoming", "has not started"),
                                             ("post_live", "still being processed")])
def test_live_streams_that_are_not_recordings_yet_are_refused(status, message):
    with pytest.raises(BadInputError, match=message):
        refuse_live({"live_status": status}, "https://www.youtube.com/@SomeHandle/live")
    refuse_live({"live_status": "was_live"}, "https://www.youtube.com/watch?v=x")  # its recording: fine


def test_a_channel_root_lists_the_videos_of_every_tab():
    """The shape yt-dlp's YouTube tab extractor gives a channel's root URL: a playlist of tab playlists."""
    videos = {"_type": "playlist", "title": "Videos", "entries": [{"url": "https://youtu.be/a", "id": "a"},
                                                                  None, {"id": "deleted"}]}
    shorts = {"_type": "playlist", "title": "Shorts", "entries": [{"url": "https://youtu.be/b", "id": "b"}]}
    channel = {"_type": "playlist", "title": "Some channel", "entries": [videos, shorts]}
    assert [(entry["id"], tab["title"]) for entry, tab in flat_entries(channel)] == [("a", "Videos"), ("b", "Shorts")]


def test_a_date_filter_looks_up_undated_entries_and_leaves_out_and_counts_the_rest(make_feed, podcast_episodes,
                                                                                 quick):
    dated_by_header = dataclasses.replace(podcast_episodes[0], slug="no-pubdate", dated=False)
    never_dated = dataclasses.replace(podcast_episodes[1], slug="no-date-anywhere", dated=False)
    server = make_feed([dated_by_header, never_dated, *podcast_episodes[2:]])
    server.serve(never_dated.path, never_dated.audio)  # no Last-Modified either
    unfiltered = enumerate_source(server.feed_url, quick)
    assert [i.published_at for i in unfiltered.videos][-2:] == [None, None]  # listed last, without a lookup
    assert server.requests(never_dated.path) == 0

    since = podcast_episodes[0].published.date()
    selection = enumerate_source(server.feed_url, quick, since=since)
    titles = [i.title for i in selection.videos]
    assert dated_by_header.title in titles and never_dated.title not in titles
    found = next(i for i in selection.videos if i.title == dated_by_header.title)
    assert found.published_at == podcast_episodes[0].published  # from the file's Last-Modified
    assert selection.undated_left_out == 1 and server.requests(never_dated.path) == 1  # looked up once
    assert "1 entries without a publication date left out by --since/--until" in selection.note()
    later = enumerate_source(server.feed_url, quick, since=date(2030, 1, 1))
    assert later.videos == [] and later.undated_left_out == 1


def test_options_pass_pacing_and_cookies_and_drop_what_is_unset(quick, tmp_path):
    base = options(quick)
    assert "cookiefile" not in base and "ratelimit" not in base and "sleep_interval" not in base
    paced = options(quick.model_copy(update={"download_rate_limit": 65536, "download_sleep_seconds": 2.0}))
    assert (paced["ratelimit"], paced["sleep_interval"]) == (65536, 2.0)


def test_flat_youtube_entries_with_approximate_dates_are_dated(quick):
    """What yt-dlp's tab extractor yields with `approximate_date`: a timestamp, no upload_date."""
    from vidscribe.sources import _entry_info

    day = datetime(2025, 3, 1, tzinfo=timezone.utc)
    entry = {"_type": "url", "ie_key": "Youtube", "id": "jNQXAC9IVRw", "url": "https://www.youtube.com/watch?v="
             "jNQXAC9IVRw", "title": "Me at the zoo", "timestamp": int(day.timestamp()), "upload_date": None}
    info = _entry_info(entry, {"title": "jawed", "channel_url": "https://www.youtube.com/@jawed"})
    assert (info.source_id, info.published_at, info.channel_url) == ("youtube:jNQXAC9IVRw", day,
                                                                     "https://www.youtube.com/@jawed")


def test_a_single_url_that_cannot_be_fetched_is_recorded_for_status_and_retry(settings, prefect_api, offline_youtube,
                                                                                monkeypatch):
    from vidscribe.db import failed_videos, get_engine, get_video
    from vidscribe.settings import get_settings
    from vidscribe_flows.ingest import ingest_video

    monkeypatch.setenv("VIDSCRIBE_FETCH_RETRIES", "0")
    get_settings.cache_clear()
    try:
        url = "https://www.youtube.com/watch?v=jNQXAC9IVRw"
        with pytest.raises(UnreachableError):
            ingest_video(url)
        engine = get_engine(get_settings())
        video = get_video(engine, "youtube:jNQXAC9IVRw")  # the archive key yt-dlp gives it once it is fetched
        assert video.status == "failed" and video.url == url and "cannot reach www.youtube.com" in video.error
        assert video.attempts == 1 and "youtube:jNQXAC9IVRw" in {v.source_id for v in failed_videos(engine)}
    finally:
        with get_engine(get_settings()).begin() as conn:  # a later `retry` in the session must not try YouTube
            conn.execute(delete(VideoRow).where(VideoRow.source_id == "youtube:jNQXAC9IVRw"))
        monkeypatch.undo()
        get_settings.cache_clear()
