"""The `vidscribe` command line: ingest, search, voices, models and the offline demo.

Why errors are caught here and nowhere else: library code raises precise exceptions (bad input, bad
settings, unreachable database); the CLI turns each into one clear line and exit code 2, without a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated


import typer
from rich.console import Console
from rich.table import Table

from vidscribe.settings import Settings, SettingsError, get_settings

if TYPE_CHECKING:  # the flows import models and Prefect: loaded only by the commands that run them
    from flows.backfill import BatchSummary

app = typer.Typer(help="Turn video channels into a searchable, speaker-attributed transcript database.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
voices = typer.Typer(help="Enroll and list voice profiles.", no_args_is_help=True)
models_app = typer.Typer(help="Prepare the models the current profile needs.", no_args_is_help=True)
app.add_typer(voices, name="voices")
app.add_typer(models_app, name="models")
console = Console()


def _settings() -> Settings:
    """Settings for a command; offline profiles also get their packaged models prepared (idempotent, fast)."""
    settings = get_settings()
    if settings.profile == "offline":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from vidscribe.offline_models import prepare_offline_models

        prepare_offline_models(settings.models_dir)
    return settings


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(2)


@app.callback()
def main() -> None:
    """Validate settings before any command runs, so a bad setting stops the start with its name."""
    try:
        get_settings()
    except SettingsError as exc:
        _fail(str(exc))


def _guarded(action: Callable[[], None]) -> None:
    """Run a command body, turning expected failures into one clear line."""
    from tasks.diarize import ModelAccessError
    from tasks.embed import EmbeddingDimensionError
    from vidscribe.audio import BadInputError
    from vidscribe.db import DatabaseUnavailableError, SchemaMismatchError

    try:
        action()
    except (BadInputError, SettingsError, DatabaseUnavailableError, SchemaMismatchError, EmbeddingDimensionError,
            ModelAccessError) as exc:
        _fail(str(exc))


@models_app.command("prepare")
def models_prepare() -> None:
    """Prepare the offline models (export CAM++ to ONNX, write the pyannote config)."""
    settings = _settings()
    console.print(f"offline models ready in {settings.models_dir}")


@app.command()
def ingest(source: Annotated[str, typer.Argument(help="a media file or any URL yt-dlp reads")]) -> None:
    """Ingest one recording end to end and print its speaker-attributed transcript."""

    def run() -> None:
        from flows.ingest import ingest_video

        settings = _settings()
        result = ingest_video(source)
        print_transcript(settings, result.video_id)

    _guarded(run)


def print_transcript(settings: Settings, video_id: int) -> None:
    from vidscribe.db import get_engine, video_segments

    for seg in video_segments(get_engine(settings), video_id):
        console.print(f"[dim]{_clock(seg.start)}[/] [bold cyan]{seg.speaker}[/]: {seg.text}", highlight=False)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:d}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class Order(str, Enum):
    newest = "newest"
    oldest = "oldest"


def print_batch(summary: BatchSummary) -> None:
    table = Table("video", "title", "status", "audio (min)", "segments", "speakers", "error")
    for o in summary.outcomes:
        table.add_row(o.source_id, o.title, o.status, f"{o.audio_seconds / 60:.1f}", str(o.segments),
                      str(o.speakers), o.error)
    console.print(table)
    console.print(f"{summary.count('done')} done, {summary.count('failed')} failed, "
                  f"{summary.count('skipped')} already stored {summary.note}")


@app.command()
def backfill(
    url: Annotated[str, typer.Argument(help="channel, playlist, feed URL, or a local folder")],
    since: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="published on or after")] = None,
    until: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="published on or before")] = None,
    limit: Annotated[int | None, typer.Option(min=1)] = None,
    order: Annotated[Order, typer.Option(help="which videos come first (and count towards --limit)")] = Order.newest,
    force: Annotated[bool, typer.Option(help="re-ingest videos already stored")] = False,
) -> None:
    """Ingest every video of a channel that is not stored yet (the `backfill-channel` flow)."""

    def run() -> None:
        from flows.backfill import backfill_channel

        _settings()
        print_batch(backfill_channel(url, since.date() if since else None, until.date() if until else None,
                                     limit, order.value, force))

    _guarded(run)


@app.command()
def retry(channel: Annotated[str | None, typer.Option(help="only this channel's URL")] = None) -> None:
    """Re-run failed videos (the `retry-failed` flow)."""

    def run() -> None:
        from flows.backfill import retry_failed

        _settings()
        print_batch(retry_failed(channel))

    _guarded(run)


@app.command("prefect-setup")
def prefect_setup(gpu_slots: Annotated[int, typer.Option(min=1, help="models running at once")] = 1) -> None:
    """Create (or update) the `vidscribe` work pool and the `gpu` concurrency limit. Idempotent."""
    from vidscribe.prefect_setup import ensure_prefect_objects

    for line in ensure_prefect_objects(gpu_slots):
        console.print(line)


@app.command("deployments-check")
def deployments_check() -> None:
    """Load every deployment in prefect.yaml: flows import, parameters and schedules are valid."""
    from deployments.spec import load_specs

    for spec in load_specs():
        schedules = ", ".join(s.cron for s in spec.schedules) or "no schedule"
        console.print(f"{spec.name}: flow '{spec.flow.name}', {schedules}, pool {spec.work_pool}")


@app.command()
def deploy() -> None:
    """Register every deployment of prefect.yaml with the Prefect server (PREFECT_API_URL)."""
    from deployments.spec import load_specs, register

    for name, deployment_id in register(load_specs()).items():
        console.print(f"deployment {name}: {deployment_id}")


@app.command()
def search(
    query: str,
    speaker: Annotated[str | None, typer.Option(help="only segments spoken by this name or label")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 5,
) -> None:
    """Semantic search over every stored segment (cosine similarity in pgvector)."""

    def run() -> None:
        from tasks.embed import embed_texts
        from vidscribe.db import get_engine
        from vidscribe.db import search as db_search

        settings = _settings()
        hits = db_search(get_engine(settings), embed_texts([query], settings)[0], speaker=speaker, limit=limit)
        table = Table("score", "speaker", "video", "time", "text")
        for hit in hits:
            table.add_row(f"{hit.score:.3f}", hit.speaker, hit.title, _clock(hit.start), hit.text)
        console.print(table if hits else "no matching segments")

    _guarded(run)


@voices.command("enroll")
def voices_enroll(name: str, files: Annotated[list[Path], typer.Argument(help="reference recordings")]) -> None:
    """Enroll (or replace) NAME's voice profile from reference recordings."""

    def run() -> None:
        from vidscribe.speakers.enroll import enroll

        profile = enroll(name, files, _settings())
        console.print(f"enrolled {profile.name} from {profile.sample_count} clips ({profile.key})")

    _guarded(run)


@voices.command("list")
def voices_list() -> None:
    """List enrolled voice profiles."""

    def run() -> None:
        from vidscribe.db import get_engine, list_profiles

        table = Table("name", "speaker model", "clips")
        for profile in list_profiles(get_engine(_settings())):
            table.add_row(profile.name, profile.key, str(profile.sample_count))
        console.print(table)

    _guarded(run)


@app.command()
def demo() -> None:
    """Offline end-to-end demo: ingest pyannote's sample recording, print it, and search it."""
    from pyannote.audio.sample import SAMPLE_FILE

    sample = str(SAMPLE_FILE["audio"])
    console.rule("ingest pyannote's sample (two speakers, 30 s)")
    ingest(sample)
    console.rule("search: 'where is Sheila from'")
    search("where is Sheila from", speaker=None, limit=3)
