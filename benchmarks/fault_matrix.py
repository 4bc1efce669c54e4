"""The bad-input and fault matrix's tally: every case of `tests/test_cli_matrix.py`, through the real CLI.

    .venv/bin/python benchmarks/fault_matrix.py

Runs the matrix module with pytest (a real Prefect test API, the embedded PostgreSQL, the packaged models;
about 8 minutes on 2 cores), then prints the README's line: runs tried, clear one-line errors, tracebacks,
archive rows lost, segments duplicated and secrets printed or stored, with the slowest runs. A failing case still
counts: the tally is what happened, the pytest exit status says whether every promise held.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="vidscribe-matrix-") as work:
        report = Path(work) / "matrix.json"
        env = {**os.environ, "VIDSCRIBE_MATRIX_REPORT": str(report), "HF_HUB_OFFLINE": "1"}
        status = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                 "tests/test_cli_matrix.py"], cwd=ROOT, env=env).returncode
        records = json.loads(report.read_text()) if report.exists() else []
    if not records:
        print("no runs were recorded (see pytest's output above)")
        return status or 1
    print("\n" + tally(records))
    return status


def tally(records: list[dict]) -> str:
    """The README's line, then each run that broke a promise, then the slowest runs."""
    failed = [r for r in records if r["problems"]]

    def total(key: str) -> int:
        return sum(int(r.get(key, 0)) for r in records)  # booleans count as 1

    lines = [f"runs: {len(records)} (cases and the runs that recover from them, the SIGKILLed one aside); "
             f"expected exit status and stderr: {len(records) - len(failed)}; clear one-line errors: "
             f"{total('clear_line')}; tracebacks: {total('traceback')}; rows lost: {total('lost')}; segments "
             f"duplicated: {total('duplicated')}; secrets printed: {total('secret_printed')}, stored: "
             f"{total('stored_secrets')}"]
    lines += [f"  not as promised: {r['case']}: {'; '.join(r['problems'])}" for r in failed]
    slowest = sorted(records, key=lambda r: -float(r["seconds"]))[:3]
    lines.append("  slowest: " + ", ".join(f"{r['case']} {r['seconds']} s" for r in slowest))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
