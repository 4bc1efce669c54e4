"""Exports of a really ingested recording, each parsed back by an independent reader of its format.

Why real parsers: a writer's own round trip would hide format mistakes (an SRT comma, a VTT escape, an
RTTM field order); `srt`, `webvtt-py`, pyannote's `load_rttm` and `json` are what consumers will use.
"""

from __future__ import annotations

import dataclasses
import html
import io
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
import srt
import webvtt
from pyannote.core import Annotation
from pyannote.core import Segment as Span
from pyannote.database.util import load_rttm
from pyannote.metrics.diarization import DiarizationErrorRate
from sqlalchemy import Engine, delete

from vidscribe_flows.ingest import ingest_video
from vidscribe.errors import BadInputError
from vidscribe.db import get_engine, upsert_video, video_segments
from vidscribe.video import VideoInfo
from vidscribe.db.models import VideoRow
from vidscribe.app.exports import RENDERERS, export_video, find_video, render_rttm, render_vtt
from vidscribe.db.store import VideoRecord
from vidscribe.transcript import Segment


@dataclasses.dataclass(frozen=True)
class Ingested:
    engine: Engine
    source_id: str
    video_id: int
    title: str
    segments: list[Segment]


@pytest.fixture(scope="module")
def ingested(settings, prefect_api, sample) -> Ingested:
    """pyannote's sample, ingested once for the module (a cache hit when the pipeline tests ran first)."""
    engine = get_engine(settings)
    result = ingest_video(str(sample["audio"]))
    segments = video_segments(engine, result.video_id)
    assert len(segments) >= 3
    return Ingested(engine, result.source_id, result.video_id, result.title, segments)


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def one_line(text: str) -> str:
    return " ".join(text.split())


def shown(seg: Segment) -> str:
    """A segment's text as the text formats show it: on one line, a flagged one marked with its reason."""
    return one_line(seg.text) + (f" [flagged: {seg.flag}]" if seg.flag else "")


def vtt_ms(stamp: str) -> int:
    hours, minutes, seconds = stamp.split(":")
    return (int(hours) * 3600 + int(minutes) * 60) * 1000 + round(float(seconds) * 1000)


def test_srt_cues_match_the_stored_segments(ingested):
    cues = list(srt.parse(export_video(ingested.engine, ingested.source_id, "srt")))
    assert len(cues) == len(ingested.segments)
    for cue, seg in zip(cues, ingested.segments, strict=True):
        assert cue.start == timedelta(milliseconds=ms(seg.start))
        assert cue.end == timedelta(milliseconds=ms(seg.end))
        assert cue.content == f"{seg.speaker}: {shown(seg)}"


def test_vtt_cues_carry_the_speaker_as_a_voice(ingested):
    captions = list(webvtt.from_string(export_video(ingested.engine, ingested.source_id, "vtt")))
    assert len(captions) == len(ingested.segments)
    for caption, seg in zip(captions, ingested.segments, strict=True):
        assert (vtt_ms(caption.start), vtt_ms(caption.end)) == (ms(seg.start), ms(seg.end))
        assert caption.voice == seg.speaker
        assert html.unescape(caption.text) == shown(seg)


def stored_annotation(ingested: Ingested) -> Annotation:
    """The stored segments as pyannote turns, at the millisecond precision every export uses."""
    annotation = Annotation(uri=ingested.source_id)
    for i, seg in enumerate(ingested.segments):
        annotation[Span(ms(seg.start) / 1000, ms(seg.end) / 1000), i] = seg.speaker
    return annotation


def test_rttm_loads_in_pyannote_and_matches_the_stored_turns(ingested, sample):
    loaded = load_rttm(io.StringIO(export_video(ingested.engine, ingested.source_id, "rttm")))
    assert list(loaded) == [ingested.source_id]
    exported = loaded[ingested.source_id]
    assert len(exported) == len(ingested.segments)
    assert set(exported.labels()) == {seg.speaker for seg in ingested.segments}

    metric = DiarizationErrorRate()
    assert metric(stored_annotation(ingested), exported) == 0.0
    against_reference = metric(sample["annotation"], exported, uem=sample["annotated"])
    print(f"DER of the exported RTTM against pyannote's sample reference: {against_reference:.1%}")
    assert against_reference < 0.5


def test_json_round_trips_every_stored_field(ingested):
    document = json.loads(export_video(ingested.engine, ingested.source_id, "json"))
    assert document["video"]["source_id"] == ingested.source_id
    assert document["video"]["title"] == ingested.title
    assert document["video"]["duration"] > 0
    assert set(document["video"]["speakers"]) >= {seg.speaker for seg in ingested.segments}
    fields = ("start", "end", "speaker", "text", "speaker_confidence", "avg_logprob", "no_speech_prob", "language",
              "flag")
    assert [tuple(item[f] for f in fields) for item in document["segments"]] == [
        tuple(getattr(seg, f) for f in fields) for seg in ingested.segments
    ]


def test_txt_has_one_timestamped_paragraph_per_segment(ingested):
    paragraphs = export_video(ingested.engine, ingested.source_id, "txt").strip().split("\n\n")
    assert len(paragraphs) == len(ingested.segments)
    for paragraph, seg in zip(paragraphs, ingested.segments, strict=True):
        match = re.fullmatch(r"\[(\d\d):(\d\d):(\d\d)\] (\S+): (.*)", paragraph)
        assert match, paragraph
        hours, minutes, seconds = map(int, match.group(1, 2, 3))
        assert hours * 3600 + minutes * 60 + seconds == ms(seg.start) // 1000
        assert match.group(4, 5) == (seg.speaker, shown(seg))


def test_numeric_id_and_title_name_the_same_video(ingested):
    by_source = export_video(ingested.engine, ingested.source_id, "rttm")
    assert export_video(ingested.engine, str(ingested.video_id), "rttm") == by_source
    assert export_video(ingested.engine, ingested.title, "rttm") == by_source


def test_a_unique_source_id_prefix_names_the_video_and_an_ambiguous_one_is_refused(ingested):
    prefix = ingested.source_id[:12]  # what a person copies from `vidscribe status`
    assert export_video(ingested.engine, prefix, "rttm") == export_video(ingested.engine, ingested.source_id, "rttm")
    ids = ["test:prefix-twin-1", "test:prefix-twin-2"]
    for source_id in ids:
        upsert_video(ingested.engine, VideoInfo(source_id, f"https://example.com/{source_id}", source_id))
    try:
        with pytest.raises(BadInputError, match="2 videos have source ids starting with 'test:prefix-twin'"):
            find_video(ingested.engine, "test:prefix-twin")
        with pytest.raises(BadInputError, match="no stored video 'test:'"):  # too short to be a prefix
            find_video(ingested.engine, "test:")
    finally:
        with ingested.engine.begin() as conn:
            conn.execute(delete(VideoRow).where(VideoRow.source_id.in_(ids)))


def test_unknown_video_names_it_and_points_to_status(ingested):
    with pytest.raises(BadInputError, match=r"no stored video 'file:nope'.*vidscribe status"):
        export_video(ingested.engine, "file:nope", "srt")


def test_shared_title_and_missing_transcript_are_explained(ingested):
    ids = ["test:exports-twin-1", "test:exports-twin-2"]
    for source_id in ids:
        upsert_video(ingested.engine, VideoInfo(source_id, f"https://example.com/{source_id}", "exports twin"))
    try:
        with pytest.raises(BadInputError, match="2 videos are titled 'exports twin'"):
            find_video(ingested.engine, "exports twin")
        with pytest.raises(BadInputError, match="no transcript yet .status pending"):
            export_video(ingested.engine, ids[0], "txt")
    finally:
        with ingested.engine.begin() as conn:
            conn.execute(delete(VideoRow).where(VideoRow.source_id.in_(ids)))


def test_names_with_spaces_and_markup_survive_rttm_and_vtt(ingested):
    video = dataclasses.replace(find_video(ingested.engine, ingested.source_id), source_id="generic:a b")
    segments = [Segment(1.0004, 2.5, "x < y &\nz", "Ada Lovelace", 0.9, -0.2, 0.01)]
    (uri, annotation), = load_rttm(io.StringIO(render_rttm(video, segments))).items()
    assert uri == "generic:a_b" and annotation.labels() == ["Ada_Lovelace"]
    (caption,) = webvtt.from_string(render_vtt(video, segments))
    assert (caption.voice, html.unescape(caption.text), caption.start) == ("Ada Lovelace", "x < y & z", "00:00:01.000")


def test_flagged_segments_are_marked_in_every_format_that_shows_text():
    """No database needed: the renderers alone, on a German video with one flagged segment."""
    now = datetime.now(timezone.utc)
    video = VideoRecord(
        id=1, source_id="file:de", url="file:///de.mp4", title="Katzen", channel_id=None, published_at=None,
        duration=20.0, status="done", error=None, attempts=1, stage_seconds={}, audio_sha256=None, speakers={},
        telemetry={}, worker=None, warning=None, created_at=now, updated_at=now, language="de",
    )
    flag = "loop: Whisper repeated itself"
    segments = [Segment(0.0, 4.0, "Die Katzen schlafen.", "Ada", 0.9, -0.3, 0.01, language="de"),
                Segment(4.0, 9.0, "im Garten im Garten im Garten", "Ada", 0.9, -0.2, 0.01, language="de", flag=flag)]
    outputs = {fmt: render(video, segments) for fmt, render in RENDERERS.items()}

    document = json.loads(outputs["json"])
    assert document["video"]["language"] == "de"
    assert [(item["language"], item["flag"]) for item in document["segments"]] == [("de", None), ("de", flag)]
    clean, flagged = list(srt.parse(outputs["srt"]))
    assert clean.content == "Ada: Die Katzen schlafen."
    assert flagged.content == f"Ada: im Garten im Garten im Garten [flagged: {flag}]"
    assert [c.text for c in webvtt.from_string(outputs["vtt"])] == [clean.content[5:], flagged.content[5:]]
    assert outputs["txt"].split("\n\n")[1] == f"[00:00:04] Ada: im Garten im Garten im Garten [flagged: {flag}]\n"
    assert len(load_rttm(io.StringIO(outputs["rttm"]))["file:de"]) == 2  # the turn is still speech
