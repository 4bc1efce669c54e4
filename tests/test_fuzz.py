"""Property-based tests (hypothesis) of the three parsers that take input nobody controls.

- yt-dlp metadata: extractors return loosely typed dicts (missing keys, None, numbers where text is expected,
  dates no calendar has). `info_from_ytdlp` must give a usable `VideoInfo` or raise `BadInputError`, and an
  id must never steer a file name out of its folder.
- settings: any environment string or override gives valid `Settings` or a `SettingsError` that names the
  variable and never echoes a secret.
- segments: whatever the transcript and the turns, every word lands in exactly one segment, in order, and
  the segments keep their bounds.

Example counts are modest (the whole file runs in well under a minute); see `FAST` for a longer hunt.
"""

from __future__ import annotations

import math
import os
import re
import string
import sys
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture import providers
from yt_dlp import YoutubeDL
from yt_dlp.extractor import gen_extractor_classes
from yt_dlp.utils import smuggle_url

from vidscribe.stages.attribute import word_speakers
from vidscribe.stages.segments import build_segments
from vidscribe.stages.word_speakers import FALLBACK_LABEL
from vidscribe.errors import BadInputError
from vidscribe.video import VideoInfo
from vidscribe.reports import report_slug
from vidscribe.settings import Settings, SettingsError, load_settings
from vidscribe.sources import info_from_ytdlp
from vidscribe.transcript import AsrSegment, SpeakerName, Transcript, Turn, Word


def _settle_lazy_modules() -> None:
    """Give every module whose `__file__` cannot be read a `__file__` of None.

    Why: Hypothesis reads `__file__` of every module in `sys.modules` (to seed examples with constants of local
    code), at collection and before each example. SpeechBrain registers lazy modules that import their target on
    that read, and the targets of a few (k2, spacy, flair) are not installed: the ImportError would end the whole
    pytest session (INTERNALERROR) as soon as any test module has imported SpeechBrain. Such a module could never
    be used anyway; marking it file-less makes Hypothesis skip it.
    """
    for module in list(sys.modules.values()):
        try:
            getattr(module, "__file__", None)
        except Exception:  # noqa: BLE001 (ImportError from the lazy target, or whatever a lazy loader raises)
            vars(module)["__file__"] = None


def _guard_local_constants() -> None:
    """Run `_settle_lazy_modules` whenever new modules appear, just before Hypothesis scans them.

    The scan is `hypothesis.internal.conjecture.providers._get_local_constants` (private; if a later Hypothesis
    renames it, the guard is skipped and only a failing lazy import would show it again).
    """
    original = getattr(providers, "_get_local_constants", None)
    if original is None or getattr(original, "_vidscribe_guard", False):
        return
    seen = [0]

    def guarded():
        if len(sys.modules) != seen[0]:
            _settle_lazy_modules()
            seen[0] = len(sys.modules)
        return original()

    guarded._vidscribe_guard = True
    providers._get_local_constants = guarded


_guard_local_constants()

#: Modest by default (the file runs in about 25 s); `VIDSCRIBE_FUZZ_EXAMPLES=5000` for a long hunt after changing
#: a parser. No example database: nothing is written into the checkout (regressions are pinned by @example).
FAST = hyp_settings(max_examples=int(os.environ.get("VIDSCRIBE_FUZZ_EXAMPLES", "150")), deadline=None,
                    database=None, suppress_health_check=[HealthCheck.too_slow])

# ----------------------------------------------------------------------------------------------- metadata

#: Text that stresses ids and titles: separators, traversal, unicode, control characters, NUL.
HOSTILE = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["..", ".", "../../etc/passwd", "/abs/path", "a/b", "a\\..\\b", "~", "", " ", "\x00",
                     "Café ☕ / ../../etc/passwd 🐝", "con", "-rf", "%(id)s", "a" * 300]),
    st.lists(st.sampled_from(["..", "/", "\\", "x", "é", "🐝", ":", "#", "?", "%2F"]), max_size=8).map("".join),
)
#: Anything yt-dlp or a broken extractor might put in a field.
ANY_VALUE = st.one_of(
    st.none(), st.booleans(), HOSTILE,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
TIMESTAMP = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20), st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=0, max_value=2**32), st.text(max_size=12), st.none(),
)
DAY = st.one_of(
    st.dates().map(lambda d: d.strftime("%Y%m%d")), st.text(alphabet=string.digits, max_size=10),
    st.sampled_from(["20240230", "00000000", "99999999", "2024-01-01", ""]), st.integers(), st.none(),
)
URL = st.one_of(
    st.builds(lambda p: f"http://127.0.0.1:8000/{p}", st.text(max_size=30)),
    st.builds(lambda p: f"https://example.com/episodes/{p}.mp3", HOSTILE),
    st.sampled_from(["", "http://", "http://h/x#__youtubedl_smuggle=garbage",
                     "http://h/x#__youtubedl_smuggle=%5B1%5D", "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
                     "ftp://host/file", "not a url", "file:///etc/passwd"]),
    ANY_VALUE,
)
META = st.fixed_dictionaries({}, optional={
    "id": st.one_of(HOSTILE, ANY_VALUE), "extractor_key": st.one_of(HOSTILE, ANY_VALUE), "ie_key": ANY_VALUE,
    "url": URL, "webpage_url": URL, "original_url": URL, "title": st.one_of(HOSTILE, ANY_VALUE),
    "channel_url": ANY_VALUE, "uploader_url": ANY_VALUE, "playlist_webpage_url": ANY_VALUE,
    "channel": ANY_VALUE, "uploader": ANY_VALUE, "playlist_title": ANY_VALUE, "duration": ANY_VALUE,
    "timestamp": TIMESTAMP, "release_timestamp": TIMESTAMP, "upload_date": DAY, "release_date": DAY,
})
#: The URL the caller gave yt-dlp (which read it, so it holds no NUL byte).
FALLBACK_URL = st.one_of(st.just("https://example.com/feed.xml"), st.just(""),
                         st.builds(lambda p: f"https://example.com/{p}", HOSTILE.map(lambda t: t.replace("\x00", ""))))

#: The download location template of `tasks.fetch.download`, below its folder (ids become file names there).
DOWNLOAD_TEMPLATE = "%(extractor_key)s/%(id).80B.%(ext)s"


def _check_info(info: VideoInfo) -> None:
    assert isinstance(info, VideoInfo)
    assert re.fullmatch(r".+:.+", info.source_id, re.S), info.source_id  # <extractor>:<id>, neither empty
    for text in (info.source_id, info.url, info.title):
        assert isinstance(text, str) and "\x00" not in text
    for text in (info.channel_url, info.channel_name):
        assert text is None or (isinstance(text, str) and text and "\x00" not in text)
    assert info.published_at is None or (
        isinstance(info.published_at, datetime) and info.published_at.utcoffset() is not None)
    assert info.duration is None or (isinstance(info.duration, float) and math.isfinite(info.duration)
                                     and info.duration >= 0)
    # Where a source id becomes a file or artifact name, it stays one safe name.
    slug = report_slug(info.source_id)
    assert slug and set(slug) <= set(string.ascii_lowercase + string.digits + "-") and len(slug) <= 100


@FAST
@given(meta=META, fallback=FALLBACK_URL)
@example(meta={}, fallback="")
@example(meta={"timestamp": 1e20, "id": "a", "extractor_key": "X"}, fallback="")
@example(meta={"timestamp": -1e12, "upload_date": "20240230", "id": "a", "extractor_key": "X"}, fallback="")
@example(meta={"extractor_key": 5, "id": "a", "url": 5, "duration": "12"}, fallback="")
@example(meta={"url": "http://h/x#__youtubedl_smuggle=garbage"}, fallback="")
def test_metadata_gives_a_usable_video_or_bad_input(meta, fallback):
    try:
        info = info_from_ytdlp(meta, fallback)
    except BadInputError as exc:
        assert "no id" in str(exc)
        return
    _check_info(info)


@FAST
@given(guid=HOSTILE, slug=st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=20),
       title=st.one_of(HOSTILE, st.none()), day=DAY)
def test_feed_entries_keep_their_guid_as_the_id(guid, slug, title, day):
    """A podcast feed's flat entry: the guid travels in the smuggled URL fragment and becomes the id."""
    url = smuggle_url(f"http://127.0.0.1:8000/episodes/{slug}.mp3", {"force_videoid": guid})
    entry = {"_type": "url", "url": url, "title": title, "upload_date": day}
    info = info_from_ytdlp({"playlist_webpage_url": "http://127.0.0.1:8000/feed.xml", "playlist_title": "Pod",
                            **entry}, url)
    _check_info(info)
    expected = guid.replace("\x00", "") or slug  # an empty guid falls back to the file name's stem
    assert info.source_id == f"generic:{expected}"
    assert info.url == url and info.channel_url == "http://127.0.0.1:8000/feed.xml"


DOWNLOADS = Path("/srv/vidscribe/downloads")


@pytest.fixture(scope="module")
def ydl():
    template = str(DOWNLOADS / DOWNLOAD_TEMPLATE)
    with YoutubeDL({"quiet": True, "restrictfilenames": True, "outtmpl": template}) as instance:
        yield instance


#: yt-dlp sets `extractor_key` itself (the extractor's class name), so only real keys are drawn for it; a
#: bare ".." there would climb one folder, but no extractor is named that.
EXTRACTOR_KEYS = st.sampled_from(sorted({ie.ie_key() for ie in gen_extractor_classes()}))


@FAST
@given(video_id=HOSTILE, extractor=EXTRACTOR_KEYS)
@example(video_id="../../etc/passwd", extractor="Generic")
@example(video_id="..", extractor="Generic")
def test_download_file_names_stay_in_their_folder(ydl, video_id, extractor):
    """yt-dlp's `restrictfilenames` turns any id (from the remote side) into a file below the downloads folder."""
    name = Path(os.path.normpath(ydl.prepare_filename({"id": video_id, "extractor_key": extractor, "ext": "mp3"})))
    assert name.is_relative_to(DOWNLOADS) and name != DOWNLOADS and name.name.endswith(".mp3"), name


# ----------------------------------------------------------------------------------------------- settings

SECRET_TOKEN = "hf_SECRETtoken123fuzz"
SECRET_PASSWORD = "DBPASS_SECRET_fuzz_789"
SECRET_URL = f"postgresql://vidscribe:{SECRET_PASSWORD}@127.0.0.1:1/vidscribe"

#: Every numeric setting (read from the model, so a new one is fuzzed too) and the ones with fixed choices.
NUMERIC_FIELDS = sorted(name for name, info in Settings.model_fields.items()
                        if info.annotation in (int, float, int | None, float | None))
CHOICE_FIELDS = ["profile", "device", "speaker_encoder", "enable_diarization", "assume_monologue"]
assert len(NUMERIC_FIELDS) >= 20 and set(CHOICE_FIELDS) <= set(Settings.model_fields)
FIELDS = NUMERIC_FIELDS + CHOICE_FIELDS
#: Environment names that are not VIDSCRIBE_<FIELD> (the error message names the VIDSCRIBE_ form).
BARE_NAMES = {"enable_diarization": "ENABLE_DIARIZATION", "assume_monologue": "ASSUME_MONOLOGUE"}

ENV_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
SETTING_STRING = st.one_of(
    ENV_TEXT,
    st.sampled_from(["", " ", "0", "-1", "1", "1.5", "1e3", "1e400", "-0", "nan", "inf", "-inf", "0x10", "1_000",
                     "true", "false", "yes", "no", "on", "off", "auto", "AUTO", "gpu", "cpu", "cuda", "onnx",
                     "speechbrain", "None", "null", "[]", "{}"]),
    st.integers(min_value=-(10**6), max_value=10**9).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
OVERRIDE_VALUE = st.one_of(SETTING_STRING, st.integers(min_value=-(10**12), max_value=10**12),
                           st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
                           st.lists(st.integers(), max_size=2))


@contextmanager
def environment(values: dict[str, str]):
    """Set environment variables for one example (hypothesis cannot use the function-scoped monkeypatch)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _check_outcome(build, changed: set[str]) -> None:
    """`build()` gives Settings, or a SettingsError naming one of the changed fields and hiding secrets."""
    try:
        result = build()
    except SettingsError as exc:
        message = str(exc)
        named = {f"VIDSCRIBE_{field.upper()}" for field in changed}
        if {"segment_max_seconds", "speaker_clip_seconds"} & changed:
            named.add("VIDSCRIBE_SEGMENT_MAX_SECONDS")  # the one cross-field rule names both variables
        assert any(name in message for name in named), message
        assert "VIDSCRIBE_VIDSCRIBE_" not in message
        assert SECRET_TOKEN not in message and SECRET_PASSWORD not in message, message
        return
    assert isinstance(result, Settings)
    assert SECRET_TOKEN not in repr(result) and SECRET_PASSWORD not in repr(result)
    assert result.segment_max_seconds > result.speaker_clip_seconds


@FAST
@given(values=st.dictionaries(st.sampled_from(FIELDS), SETTING_STRING, min_size=1, max_size=3),
       bare=st.booleans())
@example(values={"enable_diarization": "maybe"}, bare=True)
@example(values={"assume_monologue": "maybe"}, bare=False)
@example(values={"segment_max_seconds": "2"}, bare=False)
def test_environment_strings_give_settings_or_a_named_error(values, bare):
    env = {(BARE_NAMES[f] if bare and f in BARE_NAMES else f"VIDSCRIBE_{f.upper()}"): v for f, v in values.items()}
    env.update({"HF_TOKEN": SECRET_TOKEN, "DATABASE_URL": SECRET_URL})
    with environment(env):
        _check_outcome(load_settings, set(values))


@FAST
@given(values=st.dictionaries(st.sampled_from(FIELDS), OVERRIDE_VALUE, min_size=1, max_size=3),
       token=st.one_of(st.just(SECRET_TOKEN), st.just([SECRET_TOKEN]), st.just({"t": SECRET_TOKEN})),
       url=st.one_of(st.just(SECRET_URL), st.just(5), st.just([SECRET_URL])))
@example(values={"segment_max_seconds": 2}, token=SECRET_TOKEN, url=SECRET_URL)
@example(values={"asr_batch_size": "x"}, token=[SECRET_TOKEN], url=[SECRET_URL])
def test_overrides_give_settings_or_a_named_error(values, token, url):
    changed = set(values) | ({"hf_token"} if not isinstance(token, str) else set()) | (
        {"database_url"} if not isinstance(url, str) else set())
    _check_outcome(lambda: load_settings(hf_token=token, database_url=url, **values), changed)


@pytest.mark.parametrize("name", ["HF_TOKEN", "VIDSCRIBE_HF_TOKEN", "DATABASE_URL", "VIDSCRIBE_DATABASE_URL"])
def test_a_secret_in_a_failing_start_is_never_echoed(name):
    """Regression: the cross-field rule's error used to print every input, secrets included, and an aliased
    secret (HF_TOKEN, DATABASE_URL) was named VIDSCRIBE_VIDSCRIBE_... and shown because its alias was not
    recognised as a secret field."""
    secret = SECRET_URL if "DATABASE" in name else SECRET_TOKEN
    with environment({name: secret, "VIDSCRIBE_SEGMENT_MAX_SECONDS": "2"}):
        with pytest.raises(SettingsError, match="VIDSCRIBE_SEGMENT_MAX_SECONDS") as error:
            load_settings()
    assert secret not in str(error.value) and SECRET_PASSWORD not in str(error.value)
    field = "hf_token" if "HF" in name else "database_url"
    with pytest.raises(SettingsError, match=f"VIDSCRIBE_{field.upper()}: .*got hidden") as error:
        load_settings(**{field: [secret]})
    assert secret not in str(error.value) and "VIDSCRIBE_VIDSCRIBE_" not in str(error.value)


# ----------------------------------------------------------------------------------------------- segments

WORD_TEXT = st.text(alphabet=string.ascii_letters + "éü'-,", min_size=1, max_size=12).flatmap(
    lambda t: st.sampled_from([t, t + ".", t + "?", t + "…"]))


@st.composite
def transcripts(draw) -> Transcript:
    """Whisper-like: words in time order (gaps and zero-length words allowed), grouped into ASR segments."""
    words, moment = [], draw(st.floats(0, 5))
    for _ in range(draw(st.integers(0, 80))):
        moment += draw(st.one_of(st.just(0.0), st.floats(0, 0.5), st.floats(0, 6)))
        length = draw(st.one_of(st.just(0.0), st.floats(0.01, 1.0), st.floats(1, 45)))
        words.append(Word(moment, moment + length, draw(WORD_TEXT), draw(st.floats(0, 1))))
        moment += length
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(words) - 1)), max_size=6))) if words else []
    groups = [words[a:b] for a, b in zip([0, *cuts], [*cuts, len(words)]) if words[a:b]]
    segments = tuple(AsrSegment(g[0].start, g[-1].end, " ".join(w.text for w in g), draw(st.floats(-3, 0)),
                                draw(st.floats(0, 1)), 1.3, tuple(g)) for g in groups)
    return Transcript("en", 1.0, moment, segments)


TURNS = st.lists(
    st.builds(lambda start, length, speaker: Turn(start, start + length, speaker),
              st.floats(0, 400), st.floats(0.01, 60), st.sampled_from(["A", "B", "C"])),
    max_size=12,
)
NAMES = st.dictionaries(
    st.sampled_from(["A", "B", "C"]),
    st.builds(lambda name, score: SpeakerName("?", name, score, True), st.sampled_from(["Alice", "Bob"]),
              st.floats(0, 1)),
    max_size=2,
)
BOUNDS = st.fixed_dictionaries({
    "segment_max_seconds": st.floats(3.5, 60), "segment_max_chars": st.integers(40, 800),
    "segment_pause_seconds": st.floats(0.05, 5), "speaker_change_penalty": st.floats(0, 10),
})


@pytest.fixture(scope="module")
def plain_settings() -> Settings:
    """Segment building reads only the segment bounds: no need for the prepared models of `settings`."""
    return load_settings()


@FAST
@given(transcript=transcripts(), turns=TURNS, names=NAMES, bounds=BOUNDS)
def test_segments_keep_every_word_once_in_order_within_bounds(plain_settings, transcript, turns, names, bounds):
    bounded = plain_settings.model_copy(update=bounds)
    segments = build_segments(transcript, word_speakers(transcript, turns, bounded), names, bounded)
    words = transcript.words
    assert [w for s in segments for w in s.words] == words  # nothing lost, repeated or reordered
    assert " ".join(s.text for s in segments).split() == [w.text for w in words]
    if not words:
        assert segments == []
        return
    assert all(s.words for s in segments)
    labels = {t.speaker for t in turns} | {FALLBACK_LABEL}
    for before, after in zip(segments, segments[1:]):
        assert before.end <= after.start
    for segment in segments:
        assert segment.start == segment.words[0].start and segment.end == segment.words[-1].end
        assert segment.speaker in labels | {n.name for n in names.values()}
        assert math.isfinite(segment.avg_logprob) and 0 <= segment.no_speech_prob <= 1
        if len(segment.words) > 1:  # one word longer than a bound cannot be cut further
            assert segment.end - segment.start <= bounds["segment_max_seconds"]
            assert len(segment.text) <= bounds["segment_max_chars"]
            gaps = [b.start - a.end for a, b in zip(segment.words, segment.words[1:])]
            assert max(gaps) <= bounds["segment_pause_seconds"]
