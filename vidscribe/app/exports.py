"""Exports: a stored video's transcript as subtitles (SRT, WebVTT), diarization (RTTM), JSON or plain text.

Why every format works from whole milliseconds: float seconds printed by each writer would round (or, in the
`srt` package, truncate) differently, so the same boundary could differ by a millisecond between formats and
an RTTM turn's start + duration could miss its end. Rounding once keeps every export consistent.

Why a video may be named three ways: users see source ids in `vidscribe status`, numeric ids in the database
and titles in search hits; any of them should work, but a title shared by two videos must not silently pick
one.

Why flagged segments are marked, not left out: a flag (a Whisper loop, speech in a language the model does not
know) says the text is probably not what was said, but its time and speaker still are; dropping it would leave a
silent gap and hide the problem. JSON carries the reason (`flag`, null when clean); the text formats append
`[flagged: <reason>]` to the segment's text, so no reader takes it for a clean transcript.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Literal, get_args

import srt
from sqlalchemy import ColumnElement, Engine, select

from vidscribe.errors import BadInputError
from vidscribe.db.models import VideoRow
from vidscribe.db.store import VideoRecord, video_segments
from vidscribe.transcript import Segment

Format = Literal["srt", "vtt", "rttm", "json", "txt"]
FORMATS: tuple[str, ...] = get_args(Format)

#: shortest source-id prefix accepted: shorter ones ("file:") name every video of a kind
MIN_PREFIX = 8

Renderer = Callable[[VideoRecord, list[Segment]], str]


def export_video(engine: Engine, video: str, fmt: Format) -> str:
    """The video's transcript in `fmt`; `video` is a source id, a numeric id or a unique title."""
    if fmt not in RENDERERS:
        raise BadInputError(f"unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}")
    record = find_video(engine, video)
    segments = video_segments(engine, record.id)
    if not segments and record.status != "done":
        detail = f": {record.error}" if record.error else ""
        raise BadInputError(f"video {video!r} has no transcript yet (status {record.status}{detail})")
    return RENDERERS[fmt](record, segments)


def find_video(engine: Engine, video: str) -> VideoRecord:
    """The stored video named by source id, numeric id, title or a unique source-id prefix, tried in that
    order (most specific first). A prefix lets a person type `file:3f2a9c` for a 69-character content id."""
    table = VideoRow.__table__
    # (condition, how several matches are described)
    lookups: list[tuple[ColumnElement[bool], str]] = [(table.c.source_id == video, "")]
    if video.isdigit():
        lookups.append((table.c.id == int(video), ""))
    lookups.append((table.c.title == video, "are titled"))
    if len(video) >= MIN_PREFIX:
        lookups.append((table.c.source_id.startswith(video, autoescape=True), "have source ids starting with"))
    with engine.connect() as conn:
        for condition, several in lookups:
            rows = conn.execute(select(table).where(condition).order_by(table.c.id).limit(6)).mappings().all()
            if len(rows) > 1:
                ids = ", ".join(row["source_id"] for row in rows[:5])
                count = "more than 5" if len(rows) > 5 else str(len(rows))
                raise BadInputError(f"{count} videos {several} {video!r} ({ids}): give the whole source id or "
                                    "the numeric id instead")
            if rows:
                return VideoRecord(**rows[0])
    raise BadInputError(f"no stored video {video!r} (give a source id or a unique start of one, a numeric id "
                        "or a title); `vidscribe status` lists the stored videos")


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _clock(ms: int, fraction_sep: str | None) -> str:
    """hh:mm:ss, with milliseconds after `fraction_sep` when given (',' for SRT, '.' for WebVTT)."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    stamp = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    return f"{stamp}{fraction_sep}{millis:03d}" if fraction_sep else stamp


def _one_line(text: str) -> str:
    """Caption and paragraph text on one line: a blank line inside a cue would end it early."""
    return " ".join(text.split())


def flag_marker(flag: str | None) -> str:
    """What the text formats append to a flagged segment's text ("" for a clean one)."""
    return f" [flagged: {_one_line(flag)}]" if flag else ""


def _shown(seg: Segment) -> str:
    """A segment's text as the text formats show it: on one line, marked when flagged."""
    return _one_line(seg.text) + flag_marker(seg.flag)


def render_srt(_video: VideoRecord, segments: list[Segment]) -> str:
    """SRT has no speaker field, so the name leads the caption, as broadcast subtitles do."""
    return srt.compose([
        srt.Subtitle(index, timedelta(milliseconds=_ms(seg.start)), timedelta(milliseconds=_ms(seg.end)),
                     f"{seg.speaker}: {_shown(seg)}")
        for index, seg in enumerate(segments, start=1)
    ])


def render_vtt(_video: VideoRecord, segments: list[Segment]) -> str:
    """WebVTT names speakers with voice spans; cue text is HTML-escaped as the spec requires ('<', '&')."""
    cues = [
        f"{_clock(_ms(seg.start), '.')} --> {_clock(_ms(seg.end), '.')}\n"
        f"<v {html.escape(seg.speaker, quote=False)}>{html.escape(_shown(seg), quote=False)}"
        for seg in segments
    ]
    return "\n\n".join(["WEBVTT", *cues]) + "\n"


def _rttm_field(value: str) -> str:
    """RTTM fields are whitespace-separated, so no field may contain whitespace."""
    return re.sub(r"\s+", "_", value.strip())


def render_rttm(video: VideoRecord, segments: list[Segment]) -> str:
    """NIST RTTM SPEAKER lines (what pyannote.metrics and dscore read); duration = rounded end - rounded start."""
    uri = _rttm_field(video.source_id)
    lines = [
        f"SPEAKER {uri} 1 {_ms(seg.start) / 1000:.3f} {(_ms(seg.end) - _ms(seg.start)) / 1000:.3f} "
        f"<NA> <NA> {_rttm_field(seg.speaker)} <NA> <NA>"
        for seg in segments
    ]
    return "".join(f"{line}\n" for line in lines)


def render_json(video: VideoRecord, segments: list[Segment]) -> str:
    """Everything stored except embeddings: the quality figures and the flag let consumers drop doubtful
    segments."""
    document: dict[str, Any] = {
        "video": {
            "source_id": video.source_id,
            "url": video.url,
            "title": video.title,
            "published_at": video.published_at.isoformat() if video.published_at else None,
            "duration": video.duration,
            "language": video.language,
            "speakers": video.speakers,
        },
        "segments": [
            {
                "start": seg.start,
                "end": seg.end,
                "speaker": seg.speaker,
                "text": seg.text,
                "speaker_confidence": seg.speaker_confidence,
                "avg_logprob": seg.avg_logprob,
                "no_speech_prob": seg.no_speech_prob,
                "language": seg.language,
                "flag": seg.flag,
            }
            for seg in segments
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def render_txt(_video: VideoRecord, segments: list[Segment]) -> str:
    """A transcript to read: one paragraph per segment, whole seconds are precise enough to find a spot."""
    paragraphs = [f"[{_clock(_ms(seg.start), None)}] {seg.speaker}: {_shown(seg)}"
                  for seg in segments]
    return "\n\n".join(paragraphs) + "\n"


RENDERERS: dict[str, Renderer] = {
    "srt": render_srt,
    "vtt": render_vtt,
    "rttm": render_rttm,
    "json": render_json,
    "txt": render_txt,
}
