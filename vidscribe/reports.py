"""Per-video report: who speaks when, as a PNG timeline and a Prefect markdown artifact.

Why a PNG in a data URI: Prefect's UI renders a markdown image as a bare `<img src=...>` (its markdown
renderer builds the element from the token; only raw HTML blocks go through DOMPurify), so a
`data:image/png;base64,...` source shows inline on the artifact page with nothing to serve. A local file
path would not load in a browser that is not on the worker's machine, so the file is kept only as a copy.

Why `Figure` and not pyplot: no global backend or figure registry, so reports can be made from the
ingest threads of a backfill without a display and without leaking figures.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from vidscribe.settings import Settings
from vidscribe.transcript import Segment

# A title in a script the font lacks (CJK, say) is drawn as boxes; matplotlib warns once per glyph, attributed to
# the caller (this module). Set once, not per figure: `catch_warnings` is process-wide state, unsafe across the
# threads of a backfill.
warnings.filterwarnings("ignore", r"Glyph \d+ .* missing from font", UserWarning, r"vidscribe\.reports")

#: matplotlib's tab10: ten colours that stay apart for most kinds of colour blindness; cycled past ten.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
DPI = 100  # keeps the PNG at a few tens of KB: small enough to live inside the artifact's markdown
ARTIFACT_PREFIX = "video-report"


def speaker_order(segments: Sequence[Segment]) -> list[str]:
    """Speakers by first appearance: the order of the lanes, and of the unknown labels SPEAKER_00, 01, ..."""
    return list(dict.fromkeys(s.speaker for s in sorted(segments, key=lambda s: s.start)))


def speaker_colours(segments: Sequence[Segment]) -> dict[str, str]:
    """Each speaker's palette colour (hex), fixed by first appearance so a video always gets the same one."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(speaker_order(segments))}


def talk_time(segments: Sequence[Segment]) -> dict[str, float]:
    """Seconds each speaker talks, most first."""
    totals: dict[str, float] = {}
    for seg in segments:
        totals[seg.speaker] = totals.get(seg.speaker, 0.0) + max(0.0, seg.end - seg.start)
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def speaker_timeline_png(segments: list[Segment], duration: float, title: str) -> bytes:
    """One lane per speaker, a bar per segment, minutes on the x axis; PNG bytes.

    Bars are drawn without antialiasing so each speaker's colour is exact in the pixels (what the tests
    count, and what keeps neighbouring lanes crisp at 100 dpi).
    """
    lanes = speaker_order(segments)
    colours = speaker_colours(segments)
    fig = Figure(figsize=(10, 1.3 + 0.45 * max(1, len(lanes))), dpi=DPI)
    ax = fig.add_subplot()
    for lane, name in enumerate(lanes):
        spans = [(s.start / 60, (s.end - s.start) / 60) for s in segments if s.speaker == name]
        ax.broken_barh(spans, (lane - 0.35, 0.7), facecolors=colours[name], antialiased=False, linewidth=0)
    ax.set_yticks(range(len(lanes)), lanes)
    ax.set_ylim(max(1, len(lanes)) - 0.5, -0.5)  # first speaker on top; one empty lane when nobody spoke
    ax.set_xlim(0, max([duration] + [s.end for s in segments]) / 60)
    ax.set_xlabel("minutes")
    ax.set_title(title if len(title) <= 90 else title[:89] + "…", fontsize=11)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})  # no version stamp: same input, same bytes
    return out.getvalue()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _speaker_table(segments: Sequence[Segment]) -> list[str]:
    times = talk_time(segments)
    total = sum(times.values()) or 1.0
    rows = [f"| {name} | {seconds:.1f} | {100 * seconds / total:.1f}% |" for name, seconds in times.items()]
    return ["| speaker | talk time (s) | share of talk |", "|---|---:|---:|", *rows]


def _stage_table(stage_seconds: dict[str, float]) -> list[str]:
    rows = [f"| {stage} | {seconds:.2f} |" for stage, seconds in stage_seconds.items()]
    return ["| stage | seconds |", "|---|---:|", *rows, f"| **total** | **{sum(stage_seconds.values()):.2f}** |"]


def video_report_markdown(title: str, url: str, duration: float, segments: list[Segment],
                          stage_seconds: dict[str, float], peak_vram_mib: float | None, image_ref: str) -> str:
    """The report as markdown: summary and timeline first (what a reader looks for), then the tables."""
    vram = "CPU run" if peak_vram_mib is None else f"{peak_vram_mib:.0f} MiB"
    return "\n".join([
        f"# {title}",
        "",
        f"Source: {url}  ",
        f"Duration: {_clock(duration)} ({duration:.1f} s), {len(segments)} segments, "
        f"{len(talk_time(segments))} speakers  ",
        f"Diarization VRAM peak: {vram}",
        "",
        f"![speaker timeline]({image_ref})",
        "",
        "## Speakers",
        "",
        *_speaker_table(segments),
        "",
        "## Seconds per stage",
        "",
        *_stage_table(stage_seconds),
        "",
    ])


def report_slug(source_id: str) -> str:
    """A file-name- and artifact-key-safe name for a source id (lowercase letters, digits, dashes).

    The hash suffix keeps two ids apart that differ only in characters the slug drops ("a:b" and "a/b").
    Any artifact-key prefix no longer than ARTIFACT_PREFIX fits (the backfill summaries use it too).
    """
    digest = hashlib.sha1(source_id.encode()).hexdigest()[:8]
    room = 100 - len(ARTIFACT_PREFIX) - len(digest) - 2  # the key is "<prefix>-<slug>", at most 100 characters
    readable = re.sub(r"[^a-z0-9]+", "-", source_id.lower())[:room].strip("-")
    return f"{readable}-{digest}" if readable else digest


def diarization_peak_vram_mib(telemetry: dict[str, Any]) -> float | None:
    """The diarization stage's peak VRAM from the video's telemetry (the one VRAM figure; None on a CPU)."""
    return ((telemetry.get("stages") or {}).get("diarize") or {}).get("peak_vram_mib")


def publish_video_report(source_id: str, title: str, url: str, duration: float, segments: list[Segment],
                         stage_seconds: dict[str, float], telemetry: dict[str, Any], diarization: str,
                         settings: Settings) -> Path:
    """Write the timeline PNG under `<data dir>/reports/` and publish the markdown artifact; returns the PNG.

    Takes what the flow holds (plain data), so the report neither imports the flows nor reads the database.
    """
    from prefect.artifacts import create_markdown_artifact

    slug = report_slug(source_id)
    png = speaker_timeline_png(segments, duration, title)
    path = settings.data_dir / "reports" / f"{slug}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    image = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    markdown = video_report_markdown(title, url, duration, segments, stage_seconds,
                                     diarization_peak_vram_mib(telemetry), image)
    create_markdown_artifact(markdown, key=f"{ARTIFACT_PREFIX}-{slug}",
                             description=f"Speakers of {title} ({diarization}); PNG at {path}")
    return path
