"""Screenshot a real backfill in the Prefect UI, for the README (`docs/`).

Why a script and not a hand-made picture: the screenshot must show what vidscribe really does in Prefect, and
be re-made when the UI or the flows change. It starts a throwaway `prefect server`, backfills a folder of
espeak-ng recordings through the real flows (offline profile, embedded PostgreSQL, all in a temp folder),
and photographs the backfill's flow-run page and one video's report artifact with headless Chromium.

    make screenshots     # installs Debian's chromium if missing, then writes docs/prefect-ui-*.png
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]

RECORDINGS = {
    "balcony-tomatoes": [("en-us+m3", "Welcome back. Today we talk about growing tomatoes on a small balcony."),
                         ("en-us+f4", "Thanks for having me. I started with three plants in large buckets.")],
    "steam-engines": [("en-us+m3", "In this episode I explain how a steam engine turns heat into motion."),
                      ("en-us+m3", "The pressure of the steam pushes a piston, and a crank turns it into rotation.")],
}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_recordings(folder: Path) -> None:
    """Short real speech, one file per 'video': a dialogue (diarized) and a monologue (fast path)."""
    import soundfile as sf

    from vidscribe.audio import SAMPLE_RATE
    from vidscribe.app.bench.speech import concatenate, speak

    folder.mkdir(parents=True)
    for name, lines in RECORDINGS.items():
        audio, _ = concatenate([(voice, speak(text, voice)) for voice, text in lines])
        sf.write(folder / f"{name}.wav", audio, SAMPLE_RATE)


def start_server(home: Path, port: int) -> subprocess.Popen:
    """`prefect server start` in its own process group; the UI is told the API's real port.

    Why PREFECT_UI_API_URL: the UI bundle gets the API address from settings, which `--port` alone does not
    change; without it the page would call port 4200 and show an error.
    """
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api"}
    env.pop("PREFECT_API_URL", None)
    log = (home / "server.log").open("wb")
    return subprocess.Popen([str(Path(sys.executable).parent / "prefect"), "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def wait_healthy(api: str, server: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"prefect server exited with {server.returncode}")
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError(f"no healthy Prefect API at {api} after {timeout:.0f} s")


def run_backfill(folder: Path) -> tuple[str, str]:
    """Backfill the folder through the real flow; returns the flow run id and one video-report artifact id.

    Runs in this process, so the environment (set by `main` before these imports) points vidscribe and
    Prefect at the temp folder and the throwaway server.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import Artifact

    from vidscribe_flows.backfill import backfill_channel
    from vidscribe.db import stop_embedded_server
    from vidscribe.offline_models import prepare_offline_models
    from vidscribe.reports import ARTIFACT_PREFIX
    from vidscribe.settings import get_settings

    settings = get_settings()
    prepare_offline_models(settings.models_dir)
    try:
        state = backfill_channel(str(folder), order="oldest", return_state=True)
    finally:
        stop_embedded_server(settings)
    summary = state.result()
    if summary.count("failed"):
        raise RuntimeError(f"backfill failed: {[o.error for o in summary.outcomes]}")
    flow_run = state.state_details.flow_run_id
    # the raw request: Prefect 3.8.8's read_artifacts sends omitted filters as null, which its server rejects
    body = {"artifacts": {"key": {"like_": f"{ARTIFACT_PREFIX}-%"}}, "sort": "CREATED_DESC"}
    with get_client(sync_client=True) as client:
        response = client.request("POST", "/artifacts/filter", json=body)
    response.raise_for_status()
    reports = Artifact.model_validate_list(response.json())
    dialogue = next((a for a in reports if "| SPEAKER_01 |" in (a.data or "")), None)  # the diarized one
    if dialogue is None:
        raise RuntimeError("the backfill published no video report with two speakers")
    return str(flow_run), str(dialogue.id)


def screenshot(url: str, png: Path, profile: Path, budget_ms: int, height: int) -> None:
    """Headless Chromium with a fresh profile; the virtual-time budget lets the UI's requests settle."""
    shutil.rmtree(profile, ignore_errors=True)
    profile.mkdir(parents=True)
    subprocess.run(["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                    f"--window-size=1600,{height}", f"--virtual-time-budget={budget_ms}", f"--screenshot={png}", url],
                   check=True, capture_output=True, timeout=180)
    print(f"{png} ({png.stat().st_size // 1024} KiB): {url}")


def stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)  # uvicorn and its children: the group this script started
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the PNGs")
    parser.add_argument("--budget-ms", type=int, default=15000, help="Chromium's virtual-time budget per page")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vidscribe-screenshot-"))
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    (work / "prefect").mkdir()
    server = start_server(work / "prefect", port)
    try:
        wait_healthy(api, server)
        os.environ.update({"PREFECT_API_URL": api, "PREFECT_HOME": str(work / "client"),
                           "PREFECT_LOGGING_TO_API_ENABLED": "true", "VIDSCRIBE_DATA_DIR": str(work / "data"),
                           "VIDSCRIBE_PROFILE": "offline", "HF_HUB_OFFLINE": "1"})
        make_recordings(work / "channel")
        flow_run, artifact = run_backfill(work / "channel")
        args.out.mkdir(parents=True, exist_ok=True)
        base = f"http://127.0.0.1:{port}"
        screenshot(f"{base}/runs/flow-run/{flow_run}", args.out / "prefect-ui-backfill.png", work / "chromium",
                   args.budget_ms, 1000)
        screenshot(f"{base}/artifacts/artifact/{artifact}", args.out / "prefect-ui-video-report.png",
                   work / "chromium", args.budget_ms, 1300)  # tall enough for the timeline and both tables
    finally:
        stop(server)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
