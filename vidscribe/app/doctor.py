"""`vidscribe doctor`: find, and where it is safe repair, the inconsistencies a long-running archive collects.

Why a separate pass and not checks inside the flows: each of these states is left behind by something that
did not finish (a worker killed mid-ingest, a tool that wrote segments without vectors, a switch of speaker
model), so no running flow is there to notice it. Every check is one query; a repair only touches the rows its
check found, re-tests the condition in its own UPDATE (a worker may have moved on since), and never deletes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from sqlalchemy import Engine, Select, String, bindparam, exists, func, literal, select, update

from vidscribe.db import get_engine
from vidscribe.db.models import SegmentRow, VideoRow, VoiceProfileRow
from vidscribe.settings import Settings, SettingsError
from vidscribe.speakers.factory import speaker_model_key

Severity = Literal["problem", "info"]

#: At most this many affected rows are named in a finding; the count is always exact.
MAX_NAMED = 20


@dataclass(frozen=True)
class Finding:
    """One kind of inconsistency: how many rows, which ones (up to MAX_NAMED), and what was or can be done."""

    kind: str  # stable identifier, for scripts: "segments-without-embedding", "stuck-running", ...
    severity: Severity  # "info": worth knowing, nothing is broken
    what: str  # one line for a person
    count: int
    names: tuple[str, ...]  # video source ids or "NAME (speaker model key)", at most MAX_NAMED
    repaired: bool = False
    fix: str = ""  # how to fix it by hand, when the doctor did not

    @property
    def needs_attention(self) -> bool:
        return self.severity == "problem" and not self.repaired

    def render(self) -> str:
        tag = "repaired" if self.repaired else self.severity
        lines = [f"[{tag}] {self.what}: {self.count}"]
        shown = ", ".join(self.names)
        if shown:
            more = f" and {self.count - len(self.names)} more" if self.count > len(self.names) else ""
            lines.append(f"    {shown}{more}")
        if self.fix and not self.repaired:
            lines.append(f"    fix: {self.fix}")
        return "\n".join(lines)


@dataclass
class DoctorReport:
    """Findings of one doctor run; a clean archive has none."""

    repair: bool
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing needs a person: every finding is info or was repaired."""
        return not any(f.needs_attention for f in self.findings)

    def finding(self, kind: str) -> Finding | None:
        return next((f for f in self.findings if f.kind == kind), None)

    def render(self) -> str:
        if not self.findings:
            return "doctor: no inconsistencies found"
        verdict = "nothing left to do" if self.ok else "some findings need you (see fix)"
        mode = "" if self.repair else "; run with repair to fix what can be fixed safely"
        body = "\n".join(f.render() for f in self.findings)
        return f"doctor: {len(self.findings)} finding(s), {verdict}{mode}\n{body}"


def run_doctor(settings: Settings, repair: bool, stuck_after: timedelta = timedelta(hours=2)) -> DoctorReport:
    """Run every check against the configured database; with `repair`, fix what is safe to fix.

    `stuck_after`: a `running` video untouched for longer than this is taken to be left by a dead worker.
    Make it longer than the slowest single ingest, or a live ingest gets reset (harmless, only wasteful:
    the live run still stores its result and marks the video done).
    """
    engine = get_engine(settings)
    candidates = [
        _missing_embeddings(engine, settings, repair),
        _stuck_running(engine, stuck_after, repair),
        _foreign_voice_profiles(engine, settings),
        _done_without_segments(engine),
        _failed_with_segments(engine),
    ]
    return DoctorReport(repair=repair, findings=[f for f in candidates if f is not None])


# --- 1. segments without embeddings ------------------------------------------------------------------------

def _missing_embeddings(engine: Engine, settings: Settings, repair: bool) -> Finding | None:
    """Segments with a NULL embedding are invisible to vector search.

    vidscribe's own schema declares the column NOT NULL, so this finds rows only in databases whose
    segments were written by other tools (or whose constraint was relaxed); the check is one cheap query.
    """
    missing = SegmentRow.embedding.is_(None)
    with engine.connect() as conn:
        segments = conn.execute(select(func.count()).where(missing)).scalar_one()
    if not segments:
        return None
    count, names = _count_videos(engine, select(SegmentRow.video_id).where(missing).distinct())
    if repair:
        _embed_missing(engine, settings)
    return Finding(
        "segments-without-embedding", "problem",
        f"videos with segments that have no text embedding ({segments} segments, not found by search)",
        count, names, repaired=repair,
        fix="run the doctor with repair (embeds their text with VIDSCRIBE_TEXT_EMBEDDING_MODEL)",
    )


def _embed_missing(engine: Engine, settings: Settings) -> None:
    """Embed in batches of `text_embedding_batch_size`, one short transaction per batch.

    Why by id order and not "the next NULL rows": a row that stays NULL (a concurrent writer) cannot make
    the loop spin; why a transaction per batch: an interrupted repair keeps the batches already done.
    """
    from vidscribe.stages.embed import embed_texts  # loads sentence-transformers: only when there is work for it

    fill = (
        update(SegmentRow.__table__)
        .where(SegmentRow.id == bindparam("segment_id"), SegmentRow.embedding.is_(None))
        .values(embedding=bindparam("vector", type_=SegmentRow.embedding.type))
    )
    last_id = 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                select(SegmentRow.id, SegmentRow.text).where(SegmentRow.embedding.is_(None), SegmentRow.id > last_id)
                .order_by(SegmentRow.id).limit(settings.text_embedding_batch_size)
            ).all()
        if not rows:
            return
        vectors = embed_texts([row.text for row in rows], settings)
        with engine.begin() as conn:
            pairs = zip(rows, vectors, strict=True)
            conn.execute(fill, [{"segment_id": row.id, "vector": vector} for row, vector in pairs])
        last_id = rows[-1].id


# --- 2. videos stuck in running ----------------------------------------------------------------------------

def _stuck_running(engine: Engine, stuck_after: timedelta, repair: bool) -> Finding | None:
    """A worker that crashed mid-ingest leaves its video `running` forever, and nothing picks it up again.

    The age is measured by the database clock (the one that wrote `updated_at`), so skew between this
    machine and the server cannot make a fresh video look stuck.
    """
    stuck = (VideoRow.status == "running", VideoRow.updated_at < func.now() - stuck_after)
    if repair:
        since = func.to_char(func.timezone("UTC", VideoRow.updated_at), "YYYY-MM-DD HH24:MI:SS UTC", type_=String)
        reset = (
            update(VideoRow).where(*stuck)
            .values(status="pending", error=literal("reset by doctor: was running since ") + since,
                    updated_at=func.now())
            .returning(VideoRow.source_id)
        )
        with engine.begin() as conn:
            names = sorted(conn.execute(reset).scalars())
        count = len(names)
    else:
        with engine.connect() as conn:
            count = conn.execute(select(func.count()).where(*stuck)).scalar_one()
            names = list(conn.execute(select(VideoRow.source_id).where(*stuck).order_by(VideoRow.source_id)
                                      .limit(MAX_NAMED)).scalars())
    if not count:
        return None
    return Finding(
        "stuck-running", "problem",
        f"videos 'running' for more than {stuck_after.total_seconds() / 3600:g} h (left by a crashed worker)",
        count, tuple(names[:MAX_NAMED]), repaired=repair,
        fix="run the doctor with repair (sets them back to pending), then ingest them again "
            "(`vidscribe ingest URL` or the channel's backfill)",
    )


# --- 3. voice profiles of another speaker model ------------------------------------------------------------

def _foreign_voice_profiles(engine: Engine, settings: Settings) -> Finding | None:
    """Profiles made with another speaker model live in another embedding space and can never match.

    Not repaired: the profile is the only record of the enrollment, it becomes useful again if the user
    switches back to that model, and a new one can only be made from the person's recordings.
    """
    with engine.connect() as conn:
        keys = set(conn.execute(select(VoiceProfileRow.speaker_model_key).distinct()).scalars())
    if not keys:
        return None  # no profile: no reason to load the speaker model
    try:
        current = _current_speaker_key(settings)
    except (RuntimeError, SettingsError) as exc:
        return Finding("voice-profiles-unchecked", "problem", "voice profiles not checked: the speaker model "
                       "did not load", len(keys), (), fix=str(exc))
    if keys == {current}:
        return None
    with engine.connect() as conn:
        rows = conn.execute(
            select(VoiceProfileRow.name, VoiceProfileRow.speaker_model_key)
            .where(VoiceProfileRow.speaker_model_key != current)
            .order_by(VoiceProfileRow.name, VoiceProfileRow.speaker_model_key)
        ).all()
    return Finding(
        "foreign-voice-profiles", "problem",
        f"voice profiles made with another speaker model than the current {current} (never matched; "
        "not repaired: the doctor deletes nothing)",
        len(rows), tuple(f"{row.name} ({row.speaker_model_key})" for row in rows[:MAX_NAMED]),
        fix="re-enroll each with `vidscribe voices enroll NAME FILE...`; the old profile can stay "
            "(used again if you switch back to its model)",
    )


def _current_speaker_key(settings: Settings) -> str:
    """The key of the configured speaker model's embedding space (without loading the model)."""
    return speaker_model_key(settings)


# --- 4. status that disagrees with the stored segments (info) ----------------------------------------------

def _done_without_segments(engine: Engine) -> Finding | None:
    """Done, yet nothing stored: no speech was found (music, or speech the VAD filter missed)."""
    with_segments = exists().where(SegmentRow.video_id == VideoRow.id)
    count, names = _count_videos(engine, select(VideoRow.id).where(VideoRow.status == "done", ~with_segments))
    if not count:
        return None
    return Finding(
        "done-without-segments", "info", "videos done with no segments (no speech found)", count, names,
        fix="if they do have speech, ingest them again (`vidscribe ingest URL`)",
    )


def _failed_with_segments(engine: Engine) -> Finding | None:
    """Failed on the latest attempt, while an earlier transcript stays searchable (by design)."""
    with_segments = exists().where(SegmentRow.video_id == VideoRow.id)
    count, names = _count_videos(engine, select(VideoRow.id).where(VideoRow.status == "failed", with_segments))
    if not count:
        return None
    return Finding(
        "failed-with-segments", "info", "failed videos still searchable from an earlier successful run",
        count, names, fix="`vidscribe retry` runs them again",
    )


# --- helpers -----------------------------------------------------------------------------------------------

def _count_videos(engine: Engine, video_ids: Select) -> tuple[int, tuple[str, ...]]:
    """How many videos `video_ids` selects, and the source ids (what a person knows a video by) of the first
    MAX_NAMED, sorted."""
    names = select(VideoRow.source_id).where(VideoRow.id.in_(video_ids)).order_by(VideoRow.source_id).limit(MAX_NAMED)
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(video_ids.subquery())).scalar_one()
        return count, tuple(conn.execute(names).scalars())
