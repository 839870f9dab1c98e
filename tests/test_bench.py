"""The benchmark runs at a small size, and optimised and naive answers agree.
(Timings are never asserted: machines are noisy.)"""

import json

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import BACKENDS, PG_ADMIN_URL, _pg_available, missing
from tools import bench

SIZE = 150


@pytest.mark.parametrize("backend", BACKENDS)
def test_bench_runs_and_answers_agree(backend, tmp_path, monkeypatch, capsys):
    if backend == "postgresql" and _pg_available():
        missing(_pg_available())
    monkeypatch.setattr(bench, "BENCH_DIR", tmp_path)
    out = tmp_path / "bench.json"
    try:
        code = bench.main(
            ["--sizes", str(SIZE), "--backends", backend, "--pg-url", PG_ADMIN_URL, "--repeat", "2", "--json", str(out)]
        )
    finally:
        if backend == "postgresql":
            admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(
                    text(
                        f'DROP DATABASE IF EXISTS "caseboard_bench_{SIZE}_s{bench.SEED}_p{bench.PROFILE_VERSION}" WITH (FORCE)'
                    )
                )
            admin.dispose()
    assert code == 0, "optimised and naive answers must agree"
    output = json.loads(out.read_text())
    assert output["profile"]["version"] == bench.PROFILE_VERSION and output["profile"]["seed"] == bench.SEED
    rows = output["results"]
    refresh_rows = {"refresh_first", "refresh_incremental", "refresh_reconcile"}
    snapshot_rows = {"caseload_snapshot", "caseload_snapshot_patched", "caseload_snapshot_build"}
    assert {r["query"] for r in rows} == set(bench.QUERIES) | refresh_rows | snapshot_rows
    for row in rows:
        assert set(row) == {
            "backend",
            "patients",
            "events",
            "query",
            "median_ms",
            "baseline_ms",
            "cached_ms",
            "peak_rss_mb",
        }
        assert row["backend"] == backend and row["patients"] == SIZE and row["events"] > SIZE * 10
        assert row["median_ms"] > 0 and row["peak_rss_mb"] > 0
        assert (row["baseline_ms"] is None) == (row["query"] in refresh_rows | snapshot_rows)
    assert "my_patients" in capsys.readouterr().out
