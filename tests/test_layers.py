"""The layers: every module has its place in the import-linter contract, and commands that need no model start
without the heavy libraries (the contract itself runs in `make test`, before the suite)."""

from __future__ import annotations

import os
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import vidscribe

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
#: what a model run imports; a command that runs no model must import none of it
MODEL_LIBRARIES = ("torch", "pyannote", "faster_whisper", "ctranslate2", "speechbrain", "sentence_transformers",
                   "onnxruntime", "transformers", "lightning", "pytorch_lightning")
HEAVY = (*MODEL_LIBRARIES, "prefect", "matplotlib", "alembic")


def test_every_module_of_the_package_is_in_a_layer():
    layers = next(c for c in CONTRACTS if c["type"] == "layers")["layers"]
    core = next(c for c in CONTRACTS if c["type"] == "forbidden")["source_modules"]
    modules = {f"vidscribe.{m.name}" for m in pkgutil.iter_modules(vidscribe.__path__)} - {"vidscribe.__main__"}
    unplaced = modules - set(layers) - set(core)
    assert not unplaced, f"add these to a contract in pyproject.toml: {sorted(unplaced)}"


def heavy_modules_after(*command: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """The `heavy` libraries a CLI command imported (run in a fresh interpreter on the session's archive)."""
    from prefect.settings import PREFECT_API_URL

    script = ("import sys\nfrom typer.testing import CliRunner\nfrom vidscribe.app.cli import app\n"
              f"result = CliRunner().invoke(app, {list(command)!r})\n"
              "assert result.exit_code in (0, 1, 2), result.output  # done, findings, a clear error\n"
              f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r})))")
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value() or ""}  # the session's API, when it runs
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    return eval(run.stdout.strip().splitlines()[-1])  # a printed list of names


def test_commands_that_need_no_model_load_none_of_the_heavy_libraries(settings):
    from vidscribe.db import get_engine

    get_engine(settings)  # a running archive: its schema is at head (a first start migrates with Alembic)
    for command in (["--help"], ["status"], ["voices", "list"], ["doctor"], ["export", "no-such-video"]):
        assert heavy_modules_after(*command) == [], command


def test_a_backfill_with_nothing_new_to_do_loads_no_model(settings, prefect_api, voices, tmp_path):
    from vidscribe_flows.backfill import backfill_channel

    shutil.copy(voices.monologue, tmp_path / "lecture.wav")
    with (tmp_path / "lecture.wav").open("ab") as handle:  # content of its own: never stored by another test
        handle.write(b"\0no-op backfill")
    assert backfill_channel(str(tmp_path)).count("done") == 1
    assert heavy_modules_after("backfill", str(tmp_path), "--quiet", heavy=MODEL_LIBRARIES) == []
