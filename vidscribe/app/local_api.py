"""The CLI's own temporary Prefect API server: started early, dies with the CLI, never with the terminal's Ctrl-C.

Why not Prefect's ephemeral server (what a flow call starts when `PREFECT_API_URL` is unset): it is started
after the flows are imported, so its 6-8 s boot adds to every run; it shares the terminal's process group, so
Ctrl-C kills it at once and the CLI then retries a dead API for over a minute; and a SIGKILLed CLI (the OOM
killer) leaves it running for good. Here the same server (`uvicorn` with Prefect's app factory, SQLite in
`PREFECT_HOME`, UI off) is started before the heavy imports so they overlap its boot, in a session of its own
(the terminal's SIGINT never reaches it), and with a parent-death signal, so it ends whenever the CLI does.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

#: prctl(2) option: a signal the kernel sends this process when its parent dies
PR_SET_PDEATHSIG = 1
STARTUP_TIMEOUT_SECONDS = 120.0


def _die_with_parent(parent: int) -> None:
    """In the server process before exec: SIGTERM when the CLI dies, however it dies (Linux)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the CLI died before the line above ran
        os._exit(0)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalApiError(RuntimeError):
    """The local API did not start: the CLI says so in one line, naming its log."""


@dataclass
class LocalApi:
    """A started server; `wait()` before the first flow call, `stop()` at exit (registered with atexit)."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def wait(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        """Block until the API answers its health check; raise with the server's log when it cannot start."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise LocalApiError(f"the local Prefect API did not start (log: {self.log}); set PREFECT_API_URL to a "
                           "running Prefect server instead")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_local_api(log_dir: Path) -> LocalApi | None:
    """Start a private Prefect API unless `PREFECT_API_URL` names one; point this process's Prefect at it.

    Must run before Prefect is imported: Prefect reads `PREFECT_API_URL` from the environment then.
    """
    if os.environ.get("PREFECT_API_URL"):
        return None
    port = _free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / "prefect-api.log"
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    parent = os.getpid()
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app", "--host",
             "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on"],
            env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink, start_new_session=True,
            preexec_fn=lambda: _die_with_parent(parent))
    api = LocalApi(process, f"http://127.0.0.1:{port}/api", log)
    os.environ["PREFECT_API_URL"] = api.url
    atexit.register(api.stop)
    return api
