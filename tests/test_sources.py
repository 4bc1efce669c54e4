"""Sources against a real podcast feed on 127.0.0.1: enumeration, archive ids, safe downloads, error sorting.

The feed's episodes are real speech (espeak-ng, MP3), so "downloaded" means "decodes to audible audio".
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from yt_dlp import YoutubeDL
from yt_dlp.utils import DownloadError

from vidscribe.stages.fetch import fetch
from tests.feed import CHANNEL_TITLE, HOSTILE_TITLE, FeedServer
from vidscribe.stages.decode import decode
from vidscribe.errors import BadInputError
from vidscribe.video import VideoInfo
from vidscribe.settings import SettingsError, load_settings
from vidscribe.sources import enumerate_source, select
from vidscribe.ytdlp import permanent_fix

SECRET = "SECRET-COOKIE-VALUE-7f3a9c"


@pytest.fixture()
def quick(settings, tmp_path):
    """Offline settings with short retry pauses and a private download folder."""
    return settings.model_copy(update={"fetch_retry_seconds": 0.05, "data_dir": tmp_path / "data"})


def test_feed_enumerates_with_metadata(feed: FeedServer, quick):
    infos = enumerate_source(feed.feed_url, quick).videos
    assert [i.title for i in infos] == ["Rivers and floods", HOSTILE_TITLE, "How a steam engine works",
                                        "Tomatoes on a balcony"]
    assert [i.published_at for i in infos] == sorted((e.published for e in feed.episodes), reverse=True)
    assert {(i.channel_name, i.channel_url) for i in infos} == {(CHANNEL_TITLE, feed.feed_url)}
    assert all(i.source_id.startswith("generic:urn:vidscribe-test:") and 5 <= i.duration <= 15 for i in infos)


def test_since_until_limit_order(feed: FeedServer, quick):
    def titles(**options) -> list[str]:
        return [i.title.split()[0] for i in enumerate_source(feed.feed_url, quick, **options).videos]

    assert titles(since=date(2024, 2, 10), until=date(2024, 3, 15)) == ["Café", "How"]  # inclusive days
    assert titles(order="oldest", limit=2) == ["Tomatoes", "How"]
    assert titles(limit=1) == ["Rivers"]


def test_select_deduplicates_keeps_undated_entries_last_and_counts_what_a_date_filter_leaves_out():
    day = datetime(2024, 5, 1, tzinfo=timezone.utc)
    infos = [VideoInfo("a", "u", "undated"), VideoInfo("b", "u", "first", published_at=day),
             VideoInfo("b", "u", "duplicate", published_at=day),
             VideoInfo("c", "u", "old", published_at=day.replace(year=2020))]
    unfiltered = select(infos, order="oldest")
    assert [i.title for i in unfiltered.videos] == ["old", "first", "undated"]
    assert unfiltered.note() == "1 entries listed twice (same id) kept once"
    filtered = select(infos, since=date(2024, 1, 1))
    assert [i.title for i in filtered.videos] == ["first"]  # an undated entry cannot be placed in a range
    assert filtered.undated_left_out == 1 and "1 entries without a publication date left out" in filtered.note()


def test_entries_sharing_an_id_but_not_their_media_are_all_kept_under_stable_keys():
    """A feed that reuses a <guid> for other episodes: each keeps its own key, whatever the feed's order."""
    infos = [VideoInfo("generic:g", "https://host/b.mp3", "second"),
             VideoInfo("generic:g", "https://host/a.mp3", "first"),
             VideoInfo("generic:g", "https://host/a.mp3", "first again"),
             VideoInfo("generic:h", "https://host/c.mp3", "other")]
    chosen = select(infos)
    keys = {i.title: i.source_id for i in chosen.videos}
    renamed = "generic:g#" + hashlib.sha1(b"https://host/b.mp3").hexdigest()[:10]
    assert keys == {"first": "generic:g", "second": renamed, "other": "generic:h"}
    assert (chosen.duplicates, chosen.shared_ids) == (1, 1) and "1 entries shared another's id" in chosen.note()
    assert {i.source_id for i in select(list(reversed(infos))).videos} == set(keys.values())


def test_source_ids_match_and_downloads_are_safe(make_feed, podcast_episodes, quick):
    hostile_guid = dataclasses.replace(podcast_episodes[0], slug="ep5", guid="../../../etc/x ☕/..")
    server = make_feed([*podcast_episodes, hostile_guid])
    downloads = (quick.data_dir / "downloads").resolve()
    for info in enumerate_source(server.feed_url, quick).videos:
        bare = fetch(info.url, quick)
        assert bare.info.source_id == info.source_id  # the archive key survives the round trip
        fetched = fetch(info.url, quick, known=info)
        assert fetched.info == info  # the feed's title and date win over the bare file's
        assert fetched.path.resolve().parent.parent == downloads and fetched.path.name.isascii()
        assert decode(fetched.path, quick.audio_cache_dir).duration > 4


def test_local_folder_and_file(tmp_path, podcast_episodes, quick):
    for episode in podcast_episodes[:2]:
        path = tmp_path / f"{episode.slug}.mp3"
        path.write_bytes(episode.audio)
        os.utime(path, (episode.published.timestamp(), episode.published.timestamp()))  # a file's date: its mtime
    (tmp_path / "notes.txt").write_text("not media")
    infos = enumerate_source(str(tmp_path), quick).videos
    assert [Path(i.url[len("file://"):]).name for i in infos] == ["ep2-steam.mp3", "ep1-tomatoes.mp3"]
    single = enumerate_source(str(tmp_path / "ep2-steam.mp3"), quick).videos
    assert single == [infos[0]] and fetch(str(tmp_path / "ep2-steam.mp3"), quick).info.source_id == infos[0].source_id


def test_missing_episode_is_bad_input_and_not_retried(feed: FeedServer, podcast_episodes, quick):
    gone = feed.add(dataclasses.replace(podcast_episodes[0], slug="gone"), served=False)
    with pytest.raises(BadInputError, match="not found on the server") as error:
        fetch(feed.url(gone.path), quick)
    assert feed.url(gone.path) in str(error.value) and feed.requests(gone.path) == 1


def test_html_page_instead_of_media_is_bad_input(feed: FeedServer, quick):
    feed.serve("/episodes/login.mp3", b"<html><title>Sign in</title><body>Please sign in</body></html>", "text/html")
    with pytest.raises(BadInputError, match="serves a web page"):
        fetch(feed.url("/episodes/login.mp3"), quick)


def test_server_errors_are_retried_until_the_file_comes(feed: FeedServer, quick):
    episode = feed.episodes[0]
    feed.fail(episode.path, times=2, status=500)
    fetched = fetch(feed.url(episode.path), quick)
    assert decode(fetched.path, quick.audio_cache_dir).duration > 4
    assert feed.requests(episode.path) == 4  # two failures, then extraction and download


def test_corrupt_upload_then_repaired(feed: FeedServer, podcast_episodes, quick):
    broken = feed.add(dataclasses.replace(podcast_episodes[1], slug="broken", audio=bytes(range(256)) * 64))
    with pytest.raises(BadInputError, match="not a readable audio"):
        decode(fetch(feed.url(broken.path), quick).path, quick.audio_cache_dir)
    feed.serve(broken.path, podcast_episodes[1].audio)
    assert decode(fetch(feed.url(broken.path), quick).path, quick.audio_cache_dir).duration > 4


@pytest.mark.parametrize("source", ["htp:/x", "http://", "https:///path"])
def test_malformed_url_is_a_clear_error(source, quick):
    for call in (fetch, enumerate_source):
        with pytest.raises(BadInputError, match="not a valid URL"):
            call(source, quick)


def ytdlp_message(url: str) -> str:
    """yt-dlp's own error message for `url`, without our retries."""
    with pytest.raises(DownloadError) as error, YoutubeDL({"quiet": True, "no_warnings": True}) as ydl:
        ydl.extract_info(url, download=False)
    return str(error.value)


def test_error_sorting_on_real_ytdlp_messages(feed: FeedServer):
    feed.serve("/page.mp3", b"<html><body>a web page</body></html>", "text/html")
    feed.fail(feed.episodes[0].path, times=1, status=500)
    feed.fail(feed.episodes[1].path, times=1, status=429)
    assert "not found" in permanent_fix(ytdlp_message(feed.url("/nothing.mp3")))
    assert "web page" in permanent_fix(ytdlp_message(feed.url("/page.mp3")))
    assert permanent_fix(ytdlp_message(feed.url(feed.episodes[0].path))) is None
    assert permanent_fix(ytdlp_message(feed.url(feed.episodes[1].path))) is None
    assert permanent_fix(ytdlp_message("http://127.0.0.1:9/refused.mp3")) is None  # connection refused


def write_cookies(path: Path) -> Path:
    path.write_text("# Netscape HTTP Cookie File\n"
                    f"127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\t{SECRET}\n")
    return path


def test_cookies_never_appear_in_logs_output_or_errors(feed: FeedServer, quick, tmp_path, caplog, capfd):
    secret_settings = quick.model_copy(update={"cookies_file": write_cookies(tmp_path / "cookies.txt")})
    caplog.set_level(logging.DEBUG)
    infos = enumerate_source(feed.feed_url, secret_settings).videos
    fetch(infos[0].url, secret_settings, known=infos[0])
    with pytest.raises(BadInputError) as error:
        fetch(feed.url("/episodes/removed.mp3"), secret_settings)
    out, err = capfd.readouterr()
    assert SECRET not in caplog.text + out + err + str(error.value) + repr(secret_settings)


def test_cookies_file_is_checked_at_start_without_showing_it(tmp_path):
    with pytest.raises(SettingsError, match="VIDSCRIBE_COOKIES_FILE") as missing:
        load_settings(cookies_file=tmp_path / "none.txt")
    assert "no such file" in str(missing.value)
    bad = tmp_path / "bad.txt"
    bad.write_text(f"session={SECRET}\n")
    with pytest.raises(SettingsError, match="line 1 is not a Netscape cookie entry") as malformed:
        load_settings(cookies_file=bad)
    assert SECRET not in str(malformed.value)
