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
    failed = [r for r in records if r["problems"]]
    print(f"\nruns: {len(records)} (cases and the runs that recover from them, the SIGKILLed one aside); expected exit status and stderr: "
          f"{len(records) - len(failed)}; clear one-line errors: {sum(bool(r['clear_line']) for r in records)}; "
          f"tracebacks: {sum(bool(r['traceback']) for r in records)}; rows lost: "
          f"{sum(int(r.get('lost', 0)) for r in records)}; segments duplicated: "
          f"{sum(int(r.get('duplicated', 0)) for r in records)}; secrets printed: "
          f"{sum(bool(r['secret_printed']) for r in records)}, stored: {sum(int(r.get('stored_secrets', 0)) for r in records)}")
    for record in failed:
        print(f"  not as promised: {record['case']}: {'; '.join(record['problems'])}")
    slowest = sorted(records, key=lambda r: -float(r["seconds"]))[:3]
    print("  slowest: " + ", ".join(f"{r['case']} {r['seconds']} s" for r in slowest))
    return status


if __name__ == "__main__":
    sys.exit(main())
