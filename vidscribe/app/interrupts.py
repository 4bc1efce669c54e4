"""Ctrl-C and SIGTERM during a run: one line, the work in flight recorded, exit within seconds.

Why the command body runs in a thread: Python delivers a signal to the main thread only between bytecodes, so a
main thread inside a model call (CTranslate2, torch) would not see Ctrl-C until the call returned, which is
minutes on a long recording. Here the main thread only waits, so the handler runs at once. It records each video
in flight as failed ("interrupted": `status` says so and `vidscribe retry` takes it again), marks the flow runs
crashed in the Prefect UI, and ends the process without waiting for the model calls: their partial results were
never stored (each video is stored in one transaction), so nothing is lost or half-written.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from uuid import UUID

from vidscribe.in_flight import IN_FLIGHT

#: exit status of an interrupted run: 128 + the signal's number, as shells report it
EXIT_BASE = 128
#: the most the handler waits for the database and the Prefect API before exiting anyway
CLEANUP_SECONDS = 4.0
INTERRUPTED_REASON = "Interrupted: the run was stopped (Ctrl-C or SIGTERM); `vidscribe retry` resumes it"


def run_interruptibly(body: Callable[[], None], report: Callable[[str], None]) -> None:
    """Run `body` in a worker thread; on SIGINT or SIGTERM, clean up, `report` one line and exit 128 + signal.

    Exceptions of `body` (typer's `Exit` included) are raised again here, in the main thread.
    """
    failure: list[BaseException] = []

    def work() -> None:
        try:
            body()
        except BaseException as exc:  # handed to the main thread, which raises it
            failure.append(exc)

    def stop(signum: int, _frame: FrameType | None) -> None:
        if stopping.is_set():  # a second Ctrl-C: no more waiting
            os._exit(EXIT_BASE + signum)
        stopping.set()
        report(_record_interrupt())
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_BASE + signum)

    stopping = threading.Event()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    worker = threading.Thread(target=work, name="command", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)  # short waits: the handler runs between them
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failure:
        raise failure[0]


def _record_interrupt() -> str:
    """Record the work in flight as interrupted (bounded in time) and say what happened, in one line."""
    videos, flow_runs = IN_FLIGHT.snapshot()
    cleanup = threading.Thread(target=_record, args=(list(videos), flow_runs), daemon=True)
    cleanup.start()
    cleanup.join(CLEANUP_SECONDS)
    if not videos:
        return "interrupted; nothing was stored half-way (run the command again to go on)"
    names = ", ".join(sorted(videos.values()))
    what, them = (f"{names} was", "it") if len(videos) == 1 else (f"{len(videos)} videos ({names}) were", "them")
    return (f"interrupted: {what} stopped and recorded as failed (nothing stored half-way); `vidscribe retry` "
            f"resumes {them}")


def _record(video_ids: list[int], flow_runs: list[UUID]) -> None:
    """Best effort: a database or API that is itself gone must not keep the process from exiting."""
    if video_ids:
        from vidscribe.db import get_engine, mark_interrupted
        from vidscribe.settings import get_settings

        try:
            mark_interrupted(get_engine(get_settings()), video_ids, INTERRUPTED_REASON)
        except Exception:  # noqa: BLE001  the run is being abandoned; `retry` also finds abandoned `running` rows
            pass
    if flow_runs and "prefect" in sys.modules:
        from prefect.client.orchestration import get_client
        from prefect.states import Crashed

        try:
            with get_client(sync_client=True) as client:
                for flow_run_id in reversed(flow_runs):  # innermost first
                    client.set_flow_run_state(flow_run_id, Crashed(message=INTERRUPTED_REASON), force=True)
        except Exception:  # noqa: BLE001  the UI shows the run as running until the server's own clean-up
            pass
