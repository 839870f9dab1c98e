"""The load script (tools/load.py) at one session for a few seconds on a small
demo: it serves the app, drives it, and reads the server's own timings (wall and
CPU), the browser's click-to-settled times and the server's memory. Timings are
reported, never asserted."""

import json
import subprocess
import sys

import pytest

from tests.browser import ROOT, SERVER_ENV, chromium_problem
from tests.conftest import missing
from tools import load


def test_percentile_is_nearest_rank():
    assert load.percentile([], 50) is None
    assert load.percentile([30.0, 10.0, 20.0], 50) == 20.0
    assert load.percentile([float(v) for v in range(1, 101)], 95) == 95.0


def test_each_page_gets_server_wall_and_cpu_and_browser_times_and_all_pages_a_row():
    runs = [
        {"page": "Triage", "duration_ms": 40.0, "cpu_ms": 30.0},
        {"page": "Triage", "duration_ms": 60.0, "cpu_ms": 20.0},
        {"page": "Patient", "duration_ms": 700.0, "cpu_ms": 500.0},
    ]
    settled = {"Triage": [300.0, 200.0], "Patient": [1500.0]}
    rows = load.level_rows(1, runs, settled, 250.0, 240.0, 30.0, 20.0, 0, 10.0)
    assert [r.page for r in rows] == ["Patient", "Triage", "all"]
    triage, every = rows[1], rows[2]
    assert (triage.runs, triage.p50_ms, triage.p95_ms, triage.cpu_p50_ms, triage.cpu_p95_ms) == (2, 40, 60, 20, 30)
    assert (triage.visits, triage.settled_p50_ms, triage.settled_p95_ms) == (2, 200, 300)
    assert (every.runs, every.cpu_p95_ms, every.visits, every.settled_p95_ms) == (3, 500, 3, 1500)


@pytest.mark.browser
def test_one_session_reports_server_timings_and_memory(tmp_path):
    problem = chromium_problem()
    if problem:
        missing(problem)
    out = tmp_path / "load.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.load",
            "--sessions",
            "1",
            "--duration",
            "4",
            "--patients",
            "100",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {row["page"]: row for row in json.loads(out.read_text())}
    assert {"Triage", "My patients", "Patient", "all"} <= set(rows)  # therapist1's pages, each run at least once
    for row in rows.values():
        assert row["sessions"] == 1 and row["runs"] > 0 and row["errors"] == 0
        assert row["p50_ms"] > 0 and row["p95_ms"] >= row["p50_ms"]
        assert row["cpu_p50_ms"] > 0 and row["cpu_p95_ms"] >= row["cpu_p50_ms"]
        assert row["visits"] > 0 and row["settled_p50_ms"] > 0 and row["settled_p95_ms"] >= row["settled_p50_ms"]
        assert row["server_rss_peak_mb"] > 100 and row["idle_rss_mb"] > 100  # Streamlit and pandas alone are more
        assert isinstance(row["rss_per_session_mb"], float)
        assert row["client_cpu_pct"] > 0
    assert "server peak" in done.stdout


def test_the_load_script_serves_the_app_as_start_sh_does():
    """The memory the load script measures is the memory start.sh's server uses."""
    start = (ROOT / "scripts" / "start.sh").read_text()
    for name, value in SERVER_ENV.items():
        assert f'export {name}="${{{name}:-{value}}}"' in start


def test_a_database_the_demo_generator_did_not_make_is_refused(tmp_path, capsys):
    from datetime import datetime

    from dashboard.engine import make_engine
    from tests.factory import Platform

    url = f"sqlite:///{tmp_path}/hand-built.sqlite"
    Platform(make_engine(url), datetime(2026, 11, 20, 9, 0))
    with pytest.raises(SystemExit):
        load.main(["--db", url])
    assert "made by the demo generator" in capsys.readouterr().err
