"""The benchmark runs at a small size, and optimised and naive answers agree.
(Timings are never asserted: machines are noisy.)"""

import hashlib
import json
from datetime import datetime

import pytest
from sqlalchemy import create_engine, select, text

from dashboard import demo
from dashboard.engine import make_engine
from dashboard.schema import metadata
from tests.conftest import BACKENDS, PG_ADMIN_URL, _pg_available, missing
from tools import bench

SIZE = 150

#: The tables and columns the benchmark's profile was frozen with (PROFILE_VERSION 1); a
#: column or table added to the schema later is not part of what it pins.
FROZEN_COLUMNS = {
    "teams": ("id", "name"),
    "clinicians": ("id", "username", "display_name", "role", "team_id"),
    "programs": ("id", "code", "name", "primary_instrument"),
    "modules": ("id", "program_id", "position", "title"),
    "patients": (
        "id",
        "code",
        "display_name",
        "program_id",
        "therapist_id",
        "gp_id",
        "team_id",
        "enrolled_at",
        "status",
        "ended_at",
    ),
    "module_progress": ("patient_id", "module_id", "started_at", "completed_at"),
    "activity": ("id", "patient_id", "occurred_at", "kind"),
    "responses": ("id", "patient_id", "instrument", "administered_at", "total_score"),
    "response_items": ("response_id", "item", "score"),
    "messages": ("id", "patient_id", "clinician_id", "direction", "sent_at", "read_at"),
    "demo_meta": ("key", "value"),
}
FROZEN_NOW = datetime(2026, 11, 22, 9, 0)
#: sha256 of those rows for demo.BENCH at FROZEN_NOW, seed 7, 150 patients, as generated
#: before the demo got its OCD, social-anxiety and alcohol programmes (issue 19): in one
#: chunk, and in chunks of 60 (so the per-chunk random streams are pinned too).
FROZEN_HASHES = {
    None: "8a727eeefcd63e0dd6c539d3b91cb249af5b060aafbb9bfdfc41a2de72e90223",
    60: "5fb3c6edb77af79229bd7777a155c8d74041d9f302db855576b3340e8b069c8f",
}


def frozen_digest(engine) -> str:
    """sha256 over FROZEN_COLUMNS, every row in a stable order, as SQLAlchemy reads them."""
    tables = {**metadata.tables, "demo_meta": demo.demo_meta}
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for name, columns in FROZEN_COLUMNS.items():
            cols = [tables[name].c[c] for c in columns]
            digest.update(name.encode())
            for row in conn.execute(select(*cols).order_by(*cols)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


@pytest.mark.parametrize("chunk", FROZEN_HASHES)
def test_the_bench_profile_generates_what_it_was_frozen_with(db_url, chunk, monkeypatch):
    """The figures of different runs stay comparable only if the bench's data does not
    move when the demo changes: the same rows, on both backends, as before the demo grew."""
    if chunk:
        monkeypatch.setattr(demo, "CHUNK_PATIENTS", chunk)
    engine = make_engine(db_url)
    demo.generate(engine, patients=SIZE, seed=bench.SEED, now=FROZEN_NOW, profile=demo.BENCH)
    assert frozen_digest(engine) == FROZEN_HASHES[chunk]
    assert bench.PROFILE["generator"].endswith("profile=demo.BENCH)") and bench.PROFILE_VERSION == 1


def test_the_demo_profile_is_not_the_bench_profile(db_url):
    """The guard above would be vacuous if the default made the same data."""
    engine = make_engine(db_url)
    demo.generate(engine, patients=SIZE, seed=bench.SEED, now=FROZEN_NOW)
    assert frozen_digest(engine) != FROZEN_HASHES[None]
    with engine.connect() as conn:
        codes = set(conn.scalars(select(metadata.tables["programs"].c.code)))
    assert {"ocd", "social_anxiety", "alcohol"} <= codes


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


def test_the_bench_builds_its_databases_with_the_bench_profile(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(bench, "BENCH_DIR", tmp_path)
    monkeypatch.setattr(demo, "generate", lambda engine, **kwargs: calls.append(kwargs))
    bench.ensure_database("sqlite", 20, PG_ADMIN_URL)
    assert len(calls) == 1 and calls[0]["profile"] is demo.BENCH
    assert (calls[0]["patients"], calls[0]["seed"]) == (20, bench.SEED)
