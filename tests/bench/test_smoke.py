"""Every benchmark script runs: ``--smoke`` (tiny sizes, seconds) as a subprocess, as a person
would run it, must exit 0 and print its report's tables. No figure is checked: a smoke run's
figures mean nothing, and the machine is shared.

PostgreSQL is the suite's (``LIVEBLOG_TEST_POSTGRES_URL``): the scripts that measure both
backends create and drop their own ``liveblog_bench_*`` databases on it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL
from tests.process_guard import spawn, stop

BENCH = Path(__file__).resolve().parents[2] / "bench"
TIMEOUT = 600.0  # seconds; a smoke run takes well under a minute on a quiet machine
# A Markdown table: a header row, then its alignment row.
TABLE = re.compile(r"^\|.*\|\n\|(?:-{3,}:?\|)+$", re.MULTILINE)

SCRIPTS = {
    "api_throughput.py": ["--postgres-dsn", POSTGRES_URL],
    "as_of.py": ["--postgres-dsn", POSTGRES_URL],
    "fanout.py": [],  # SQLite only
    "feed_lag.py": ["--postgres-dsn", POSTGRES_URL],  # PostgreSQL only; runs wrk
    "write_throughput.py": ["--postgres-dsn", POSTGRES_URL],  # PostgreSQL only; runs wrk and pgbench
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_the_benchmark_runs_in_smoke_mode_and_prints_its_table(script: str, tmp_path: Path) -> None:
    results = tmp_path / "report.md"
    process = spawn(
        [sys.executable, str(BENCH / script), "--smoke", "--results", str(results), *SCRIPTS[script]],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        stop(process)
        out, err = process.communicate()
        pytest.fail(f"{script} --smoke did not finish in {TIMEOUT:g} s; its stderr:\n{err[-4000:]}")
    finally:
        stop(process)
    assert process.returncode == 0, f"{script} --smoke exited {process.returncode}:\n{err[-4000:]}"
    assert TABLE.search(out), f"{script} --smoke printed no table:\n{out[-4000:]}"
    assert "**Smoke run**" in out
    assert results.read_text() == out  # the report that was printed is the one written
