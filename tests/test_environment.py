"""What `vidscribe doctor` reports about a worker, checked against this very environment (no network):
the programs vidscribe and its tests start, yt-dlp's age and JavaScript runtime, and GPU readiness."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from vidscribe.environment import (
    PROGRAMS,
    YTDLP_MAX_AGE_DAYS,
    environment_checks,
    js_runtimes,
    missing_programs,
    ytdlp_checks,
    ytdlp_release,
)

ROOT = Path(__file__).resolve().parent.parent
SUBPROCESS_CALLS = {"run", "Popen", "check_call", "check_output", "call"}


def started_programs() -> set[str]:
    """Program names the code base starts: the first item of each literal argument list handed to subprocess."""
    names = set()
    for path in ROOT.glob("**/*.py"):
        if ".venv" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in
                    SUBPROCESS_CALLS and isinstance(node.func.value, ast.Name) and node.func.value.id == "subprocess"
                    and node.args and isinstance(node.args[0], ast.List) and node.args[0].elts
                    and isinstance(node.args[0].elts[0], ast.Constant)):
                names.add(node.args[0].elts[0].value)
    return names


def test_every_program_the_code_starts_is_declared_and_installed():
    started = started_programs()
    assert {"ffmpeg", "espeak-ng"} <= started  # the scan sees the calls it must see
    # chromium: only scripts/screenshot_prefect_ui.py, whose `make screenshots` installs it
    assert started - {"chromium"} <= set(PROGRAMS), started - set(PROGRAMS)
    assert missing_programs() == []


def test_ytdlp_age_is_reported_and_an_old_release_warned_about():
    version, released = ytdlp_release()
    fresh = {c.name: c for c in ytdlp_checks(released + timedelta(days=10))}
    assert fresh["yt-dlp"].status == "ok" and fresh["yt-dlp"].detail == f"{version} (10 days old)"
    old = ytdlp_checks(released + timedelta(days=YTDLP_MAX_AGE_DAYS + 1))[0]
    assert old.status == "warning" and "uv pip install -U 'yt-dlp[default,deno]'" in old.detail


def test_ytdlp_finds_the_deno_this_environment_installed_and_the_solver():
    deno = [r for r in js_runtimes() if r.name == "deno"]
    assert deno and deno[0].supported and Path(deno[0].path).parent == Path(sys.executable).parent
    checks = {c.name: c for c in ytdlp_checks(ytdlp_release()[1])}
    assert checks["JavaScript runtime"].status == "ok" and checks["JavaScript runtime"].detail.startswith("deno ")
    assert checks["YouTube challenge solver"].status == "ok"


def test_gpu_readiness_is_reported_as_this_machine_has_it(settings):
    from vidscribe.gpu_telemetry import NvmlSampler

    has_gpu = NvmlSampler().start()  # a GPU machine sees its card; the development machines have none
    device = "cuda" if has_gpu else "cpu"
    checks = {c.name: c for c in environment_checks(settings)}
    assert checks["CUDA libraries"].status == "ok" and "libcublas.so.12" in checks["CUDA libraries"].detail
    assert checks["devices"].detail == f"transcribe {device}, diarize {device}, embed {device}, speaker cpu"
    assert checks["GPU"].status == ("ok" if has_gpu else "info")


def test_doctor_prints_the_environment_first(settings):
    result = subprocess.run([sys.executable, "-m", "vidscribe", "doctor"], capture_output=True, text=True,
                            env=os.environ, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "environment:" and any("[ok] JavaScript runtime: deno" in line for line in lines)
    assert result.stderr == ""
