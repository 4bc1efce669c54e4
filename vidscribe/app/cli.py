"""The `vidscribe` command line: ingest, search, voices, models and the offline demo.

Why errors are caught here and nowhere else: library code raises precise exceptions (bad input, bad
settings, unreachable database); the CLI turns each into one clear line on stderr, without a traceback, and an
exit status a script can act on:

- 0: done (a batch: every video done or already stored);
- 1: the input failed (a file, a URL, the database or a model; a batch: at least one video failed, the summary
  names them and why);
- 2: usage: a bad argument, option or setting; nothing ran;
- 130 (143): interrupted by Ctrl-C (SIGTERM); the videos in flight are recorded as failed, `vidscribe retry`
  resumes them.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated


import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vidscribe.app.bench import DEFAULT_BYTES_PER_SECOND
from vidscribe.app.interrupts import run_interruptibly
from vidscribe.app.local_api import start_local_api
from vidscribe.app.progress_view import Mode, watch, write_json_line
from vidscribe.settings import Settings, SettingsError, get_settings

if TYPE_CHECKING:  # the flows import models and Prefect: loaded only by the commands that run them
    from vidscribe_flows.batch import BatchSummary

app = typer.Typer(help="Turn video channels into a searchable, speaker-attributed transcript database.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
voices = typer.Typer(help="Enroll and list voice profiles.", no_args_is_help=True)
models_app = typer.Typer(help="Prepare the models the current profile needs.", no_args_is_help=True)
app.add_typer(voices, name="voices")
app.add_typer(models_app, name="models")
# Markup off: titles, paths and error messages are printed as they are, "[/r/podcasts]" included (styles come
# from `Text` pieces). Soft wrap: a line longer than the terminal (or a pipe's 80 columns) stays one line.
console = Console(markup=False, highlight=False, soft_wrap=True)
errors = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)


def _settings() -> Settings:
    """Settings for a command (the offline profile's models are prepared by the first model that loads)."""
    settings = get_settings()
    if settings.profile == "offline":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return settings


#: `--verbose`: log lines and tracebacks are shown as well as the one-line error
_verbose = False

JsonOption = Annotated[bool, typer.Option("--json", help="progress and result as JSON lines (for scripts)")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="no live progress")]


def _mode(json_lines: bool, quiet: bool) -> Mode:
    return "json" if json_lines else "quiet" if quiet or not console.is_terminal else "rich"


def _emit_json(kind: str, payload: object) -> None:
    write_json_line({"kind": kind, **dataclasses.asdict(payload)})


#: exit statuses (see the module docstring); 130/143 come from `vidscribe.app.interrupts`
EXIT_FAILED = 1
EXIT_USAGE = 2


def _fail(message: str, code: int = EXIT_FAILED) -> None:
    if _verbose and sys.exc_info()[0] is not None:
        errors.print_exception()
    _say(message)
    raise typer.Exit(code)


def _say(line: str) -> None:
    errors.print(Text.assemble(("error: ", "bold red"), line))


def _reason(error: str) -> str:
    """A recorded failure ("BadInputError: <what and the fix>") as said to a person: without the type name."""
    kind, _, message = error.partition(": ")
    return message if kind.endswith("Error") and message else error


def _warn(line: str) -> None:
    errors.print(Text.assemble(("warning: ", "bold yellow"), line))


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="also show log lines and tracebacks")]
         = False) -> None:
    """Validate settings before any command runs, so a bad setting stops the start with its name."""
    global _verbose
    _verbose = verbose
    # Prefect's per-task INFO lines would drown the live progress view; warnings and errors still show.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    if not verbose:  # a failure is one line from the CLI; Prefect's log of it (and traceback) stays in its UI
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    # No analytics from vidscribe's runs: offline they only fail ("Failed to send telemetry"), and the
    # temporary server's heartbeat service raced the flows for its SQLite database ("database is locked").
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        get_settings()
    except SettingsError as exc:
        _fail(str(exc), EXIT_USAGE)


def _guarded(action: Callable[[], None], flows: bool = False, check: Callable[[], None] | None = None) -> None:
    """Run a command body, turning expected failures into one clear line and Ctrl-C into a clean stop.

    `check`: a quick look at the input (a local path), run first: a typo fails in a second, not after a start-up.
    `flows`: the body runs Prefect flows; without `PREFECT_API_URL` a local API starts first, booting while the
    body imports the flows, and the body waits for it (`_local_api_ready`).
    """
    global _local_api
    if check is not None:
        _failing_cleanly(check)
    if flows:
        _local_api = start_local_api(get_settings().data_dir / "logs")
    run_interruptibly(lambda: _failing_cleanly(action), _say)


def _failing_cleanly(action: Callable[[], None]) -> None:
    from vidscribe.app.local_api import LocalApiError
    from vidscribe.db.errors import DatabaseUnavailableError, SchemaMismatchError
    from vidscribe.errors import BadInputError, EmbeddingDimensionError, ModelAccessError

    try:
        action()
    except (BadInputError, DatabaseUnavailableError, SchemaMismatchError, EmbeddingDimensionError,
            ModelAccessError, LocalApiError) as exc:
        _fail(str(exc))
    except SettingsError as exc:
        _fail(str(exc), EXIT_USAGE)


_local_api = None


def _local_api_ready(warm_up: bool = False) -> None:
    """Wait for the local Prefect API, when this command started one (before its first flow call).

    `warm_up`: the command will run the models (an ingest), so the model libraries are imported while the API
    boots (`vidscribe.app.warmup`). A backfill or retry may find nothing new, and then must load no model."""
    if _local_api is not None:
        if warm_up:
            from vidscribe.app.warmup import import_model_libraries

            import_model_libraries(get_settings())
        _local_api.wait()


@models_app.command("prepare")
def models_prepare() -> None:
    """Prepare the offline models (export CAM++ to ONNX, write the pyannote config, assemble Whisper base)."""
    from vidscribe.offline_models import prepare_offline_models

    settings = _settings()
    prepare_offline_models(settings.models_dir)
    console.print(f"offline models ready in {settings.models_dir}")


@app.command()
def ingest(
    source: Annotated[str, typer.Argument(help="a media file or any URL yt-dlp reads")],
    force: Annotated[bool, typer.Option(help="re-ingest even if already stored")] = False,
    json_lines: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Ingest one recording end to end and print its speaker-attributed transcript."""

    def run() -> None:
        from vidscribe_flows.ingest import ingest_video

        settings = _settings()
        mode = _mode(json_lines, quiet)
        _local_api_ready(warm_up=True)
        with watch(mode, console=console):
            result = ingest_video(source, force=force)
        if mode == "json":
            _emit_json("result", result)
        elif result.video_id:
            print_transcript(settings, result.video_id)
        else:  # another run has it in flight
            _warn(f"{source}: {result.skipped_reason}; nothing was done here (`vidscribe status` shows it once "
                  "stored)")
        if result.warning:
            _warn(result.warning)

    def check() -> None:
        from vidscribe.audio import check_media_path
        from vidscribe.sources import check_url, is_url

        if is_url(source):
            check_url(source)
        else:
            check_media_path(Path(source))

    _guarded(run, flows=True, check=check)


def print_transcript(settings: Settings, video_id: int) -> None:
    from vidscribe.db import get_engine, video_segments

    for seg in video_segments(get_engine(settings), video_id):
        flag = (f"  [flagged: {seg.flag}]", "yellow") if seg.flag else ""
        console.print(Text.assemble((_clock(seg.start), "dim"), " ", (seg.speaker, "bold cyan"), f": {seg.text}",
                                    flag))


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:d}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


ExportFormat = Enum("ExportFormat", {name: name for name in ("srt", "vtt", "rttm", "json", "txt")}, type=str)


class Order(str, Enum):
    newest = "newest"
    oldest = "oldest"


def print_batch(summary: BatchSummary, mode: Mode) -> None:
    if mode == "json":
        for outcome in summary.outcomes:
            _emit_json("video", outcome)
        return
    table = Table("video", "title", "status", "audio (min)", "segments", "speakers", "error")
    for o in summary.outcomes:
        table.add_row(o.source_id, o.title, o.status, f"{o.audio_seconds / 60:.1f}", str(o.segment_count),
                      str(o.speaker_count), o.error)
    console.print(table)
    console.print(f"{summary.count('done')} done, {summary.count('failed')} failed, "
                  f"{summary.count('skipped')} already stored {summary.note}")


def _run_batch(start: Callable[[], BatchSummary], json_lines: bool, quiet: bool) -> None:
    """Run a batch flow under the chosen progress view, then print its summary."""

    def run() -> None:
        settings = _settings()
        mode = _mode(json_lines, quiet)
        # Both batch flows live here: importing them (Prefect, yt-dlp; 5 s on 2 cores) while the local API
        # boots takes that time off the run instead of adding it after the wait.
        import vidscribe_flows.backfill  # noqa: F401
        _local_api_ready()
        with watch(mode, settings.backfill_parallel, console):
            summary = start()
        print_batch(summary, mode)
        for outcome in summary.outcomes:  # on stderr too, whole: the table cuts long reasons
            if outcome.status == "failed":
                _say(_reason(outcome.error))
            if outcome.warning:
                _warn(outcome.warning)
        if summary.count("failed"):
            raise typer.Exit(EXIT_FAILED)

    _guarded(run, flows=True)


@app.command()
def backfill(
    url: Annotated[str, typer.Argument(help="channel, playlist, feed URL, or a local folder")],
    since: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="published on or after")] = None,
    until: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="published on or before")] = None,
    limit: Annotated[int | None, typer.Option(min=1)] = None,
    order: Annotated[Order, typer.Option(help="which videos come first (and count towards --limit)")] = Order.newest,
    force: Annotated[bool, typer.Option(help="re-ingest videos already stored")] = False,
    shards: Annotated[int, typer.Option(min=1, max=256, help="processes sharing the work: this one and "
                                        "shards-1 runs on the work pool's workers (see README, Scale-out)")] = 1,
    json_lines: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Ingest every video of a channel that is not stored yet (the `backfill-channel` flow)."""

    def start() -> BatchSummary:
        from vidscribe_flows.backfill import backfill_channel

        return backfill_channel(url, since.date() if since else None, until.date() if until else None, limit,
                                order.value, force, shards)

    _run_batch(start, json_lines, quiet)


@app.command()
def retry(
    channel: Annotated[str | None, typer.Option(help="only this channel's URL")] = None,
    everything: Annotated[bool, typer.Option("--all", help="also local files that failed as bad input")] = False,
    json_lines: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Re-run failed videos (the `retry-failed` flow); local files that failed as bad input only with --all."""

    def start() -> BatchSummary:
        from vidscribe_flows.backfill import retry_failed

        return retry_failed(channel, include_hopeless=everything)

    _run_batch(start, json_lines, quiet)


@app.command()
def status(
    failed: Annotated[bool, typer.Option("--failed", help="list only failed videos")] = False,
    limit: Annotated[int, typer.Option(min=1, help="videos to list")] = 20,
) -> None:
    """Channels (done, failed, pending, hours of audio, last run) and the most recent videos."""

    def run() -> None:
        from vidscribe.db import channel_status, get_engine, recent_videos

        engine = get_engine(_settings())
        channels = Table("channel", "done", "failed", "pending", "audio (h)", "last run", title="channels")
        for row in channel_status(engine):
            last = row.last_run.strftime("%Y-%m-%d %H:%M") if row.last_run else ""
            channels.add_row(row.name, str(row.done), str(row.failed), str(row.pending), f"{row.audio_hours:.2f}",
                             last)
        console.print(channels)
        # one line per video, not a table: the full source id (what `export` takes) must never be cut or
        # squeezed, whatever the terminal's width; the numeric id first, for typing
        console.print(Text("recent videos (id, status, audio, attempts, source id, title)", style="bold"))
        for video in recent_videos(engine, "failed" if failed else None, limit):
            console.print(f"{video.id:>6}  {video.status:<7}  {(video.duration or 0) / 60:6.1f} min  "
                          f"{video.attempts:>2}x  {video.source_id}  {video.title}")
            if video.error:
                console.print(Text(f"        error: {video.error}", style="red"))
            if video.warning:
                console.print(Text(f"        warning: {video.warning}", style="yellow"))

    _guarded(run)


@app.command()
def doctor(
    repair: Annotated[bool, typer.Option("--repair", help="fix what can be fixed safely")] = False,
    stuck_hours: Annotated[float, typer.Option(min=0.1, help="'running' longer than this is stuck")] = 2.0,
) -> None:
    """Check this worker (programs, yt-dlp and its JavaScript runtime, GPU readiness) and the archive:
    missing embeddings, stuck videos, stale voice profiles (fixed with --repair where safe)."""

    def run() -> None:
        from vidscribe.app.doctor import run_doctor
        from vidscribe.environment import environment_checks

        settings = _settings()
        checks = environment_checks(settings)
        console.print("environment:\n" + "\n".join(f"  {check.render()}" for check in checks))
        report = run_doctor(settings, repair=repair, stuck_after=timedelta(hours=stuck_hours))
        console.print(report.render())
        if not report.ok or any(check.status == "problem" for check in checks):
            raise typer.Exit(EXIT_FAILED)

    _guarded(run)


@app.command("prefect-setup")
def prefect_setup(gpu_slots: Annotated[int, typer.Option(min=1, help="models running at once")] = 1) -> None:
    """Create (or update) the `vidscribe` work pool and the `gpu` concurrency limit. Idempotent."""
    from vidscribe.app.prefect_setup import ensure_prefect_objects

    for line in ensure_prefect_objects(gpu_slots):
        console.print(line)


@app.command("deployments-check")
def deployments_check() -> None:
    """Load every deployment in prefect.yaml: flows import, parameters and schedules are valid."""
    from vidscribe_deployments.spec import load_specs

    for spec in load_specs():
        schedules = ", ".join(s.cron for s in spec.schedules) or "no schedule"
        console.print(f"{spec.name}: flow '{spec.flow.name}', {schedules}, pool {spec.work_pool}")


@app.command()
def export(
    video: Annotated[str, typer.Argument(help="source id, numeric id or title (see `vidscribe status`)")],
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f")] = ExportFormat.srt,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="file to write (default: stdout)")] = None,
) -> None:
    """Export a stored transcript as SRT, WebVTT, RTTM, JSON or plain text."""

    def run() -> None:
        from vidscribe.db import get_engine
        from vidscribe.app.exports import export_video

        text = export_video(get_engine(_settings()), video, fmt.value)
        if output:
            output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)

    _guarded(run)


@app.command()
def deploy() -> None:
    """Register every deployment of prefect.yaml with the Prefect server (PREFECT_API_URL)."""
    from vidscribe_deployments.spec import load_specs, register

    for name, deployment_id in register(load_specs()).items():
        console.print(f"deployment {name}: {deployment_id}")


class SearchMode(str, Enum):
    vector = "vector"
    hybrid = "hybrid"


@app.command()
def search(
    query: str,
    speaker: Annotated[str | None, typer.Option(help="only segments spoken by this name or label")] = None,
    channel: Annotated[str | None, typer.Option(help="only this channel (its URL or name)")] = None,
    since: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="published on or after")] = None,
    until: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="published on or before")] = None,
    mode: Annotated[SearchMode, typer.Option(help="hybrid adds PostgreSQL full-text ranking (exact words)")]
    = SearchMode.hybrid,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 5,
    include_flagged: Annotated[bool, typer.Option(
        "--include-flagged", help="also segments flagged as probably not what was said (loops, unknown language)"
    )] = False,
) -> None:
    """Search every stored segment; each hit links to its moment in the video."""
    if not query.strip():
        _fail("search needs words to look for, e.g. `vidscribe search \"how to water tomatoes\"`", EXIT_USAGE)

    def run() -> None:
        from vidscribe.db import get_engine
        from vidscribe.db import search as db_search
        from vidscribe.stages.embed import embed_texts

        settings = _settings()
        hits = db_search(get_engine(settings), embed_texts([query], settings)[0], speaker, limit,
                         query_text=query, mode=mode.value, channel=channel,
                         since=since.date() if since else None, until=until.date() if until else None,
                         include_flagged=include_flagged)
        for hit in hits:
            flag = (f" [flagged: {hit.flag}]", "yellow") if hit.flag else ""
            console.print(Text.assemble((f"{hit.score:.3f}", "bold"), " ", (hit.speaker, "cyan"), " in ",
                                        (hit.title, "bold"), f" at {_clock(hit.start)}\n  {hit.text}", flag, "\n  ",
                                        (hit.link, f"link {hit.link}")))
        if not hits:
            console.print("no matching segments")

    _guarded(run)


@voices.command("enroll")
def voices_enroll(name: str, files: Annotated[list[Path], typer.Argument(help="reference recordings")]) -> None:
    """Enroll (or replace) NAME's voice profile from reference recordings."""

    def run() -> None:
        from vidscribe.stages.enroll import enroll

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
def bench(
    videos: Annotated[int, typer.Option(min=1, help="recordings in the corpus")] = 8,
    minutes: Annotated[float, typer.Option(min=0.5, help="length of each recording, at least")] = 5.0,
    rate: Annotated[int, typer.Option(min=1024, help="feed throttle in bytes/s (YouTube's throttled rate)")]
    = DEFAULT_BYTES_PER_SECOND,
    json_path: Annotated[Path | None, typer.Option("--json", help="also write the report here as JSON")] = None,
    baseline: Annotated[bool, typer.Option(help="also run the sequential baseline and print the ratio")] = True,
) -> None:
    """Throughput benchmark: a spoken corpus on a throttled local feed, the sequential baseline, then the
    backfill flow, in a private data folder, database and Prefect API (the user's archive is never touched)."""

    def run() -> None:
        from vidscribe.app.bench.corpus import CorpusSpec
        from vidscribe.app.bench.report import print_report
        from vidscribe.app.bench.run import run_bench
        from vidscribe.app.bench.sandbox import private_data

        with private_data() as root:
            report = run_bench(_settings(), CorpusSpec(videos, minutes), rate, baseline, root, console.print)
        print_report(report, console)
        if json_path:
            json_path.write_text(report.to_json())

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


def run() -> None:
    """The `vidscribe` command (console script, `python -m vidscribe`): the CLI, then the process ends.

    After a command that ran the models, it ends without the interpreter's teardown: freeing torch,
    CTranslate2 and ONNX Runtime and tearing down their modules took 2.7 s on 2 cores (3.2 s from the last
    line printed to the process's end, 0.5 s without), and nothing vidscribe keeps needs it: the database is
    committed per video, the embedded PostgreSQL keeps running for the next command. What must happen at exit
    still does: the exit handlers (Prefect's log and event workers flush, the local API stops) and the output.
    """
    try:
        app()
    except SystemExit as end:
        code = end.code
    else:
        code = 0
    if not isinstance(code, int) or not {"torch", "ctranslate2"} & sys.modules.keys():
        sys.exit(code)
    import atexit

    atexit._run_exitfuncs()  # noqa: SLF001  (CPython's own exit step, which os._exit skips)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
