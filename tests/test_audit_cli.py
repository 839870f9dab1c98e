"""The privacy officer's service-wide audit trail (caseboard audit):
every team and clinicians in no team, filters, CSV and JSON, itself audited (both backends)."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from dashboard import audit, db
from dashboard.cli import audit as audit_cli
from dashboard.engine import make_engine
from dashboard.schema import clinicians
from dashboard.state_tables import audit as audit_table
from tests.factory import Platform

NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)  # the CLI reads the wall clock


@pytest.fixture
def platform(db_url) -> Platform:
    p = Platform(make_engine(db_url), NOW)
    db.upgrade(p.engine)
    with p.engine.begin() as conn:
        conn.execute(insert(clinicians).values(id=8, username="gp.x", display_name="Dr GP X", role="gp", team_id=None))
    north, south = p.patient("N-1", team=1), p.patient("S-1", team=2, therapist=7, gp=8)
    rows = [
        ("ther.a", "open_record", north, 1),
        ("gp.x", "login", None, 1),
        ("gp.x", "denied", north, 1),
        ("ther.c", "open_record", south, 3),
        ("=cmd|' /C calc'!A0", "login_failed", None, 2),
        ("lead.b", "export", None, 40),
    ]
    with p.engine.begin() as conn:
        conn.execute(
            insert(audit_table),
            [
                {
                    "occurred_at": NOW - timedelta(days=d),
                    "actor": a,
                    "action": x,
                    "patient_id": pid,
                    "detail": json.dumps({"what": "t"}) if x == "export" else None,
                }
                for a, x, pid, d in rows
            ],
        )
    return p


def run(platform: Platform, capsys, *args: str) -> tuple[int, str]:
    code = audit_cli.main(["--db", platform.engine.url.render_as_string(hide_password=False), *args])
    return code, capsys.readouterr().out


def test_the_whole_service_oldest_first_with_patient_codes(platform, capsys):
    code, out = run(platform, capsys, "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["actor"], r["action"], r["patient"]) for r in rows] == [
        ("lead.b", "export", None),
        ("ther.c", "open_record", "S-1"),
        ("=cmd|' /C calc'!A0", "login_failed", None),
        ("ther.a", "open_record", "N-1"),
        ("gp.x", "login", None),
        ("gp.x", "denied", "N-1"),
    ]
    assert rows[0]["detail"] == {"what": "t"}


def test_filters_by_dates_user_and_patient(platform, capsys):
    today = NOW.date()
    _, out = run(
        platform,
        capsys,
        "--format",
        "json",
        "--from",
        (today - timedelta(days=10)).isoformat(),
        "--to",
        today.isoformat(),
        "--user",
        "gp.x",
    )
    assert [r["action"] for r in json.loads(out)] == ["login", "denied"]
    _, out = run(platform, capsys, "--format", "json", "--patient", "N-1")
    assert [(r["actor"], r["action"]) for r in json.loads(out)] == [("ther.a", "open_record"), ("gp.x", "denied")]


def test_csv_goes_through_the_export_helper(platform, capsys):
    code, out = run(platform, capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 6
    assert "'=cmd|' /C calc'!A0" in {r["actor"] for r in rows}  # a typed login name cannot run as a formula


def test_every_run_is_audited_with_its_filters(platform, capsys, monkeypatch):
    monkeypatch.setattr(audit_cli, "operator", lambda: "privacy.officer")
    run(platform, capsys, "--user", "gp.x", "--format", "json")
    runs = audit.read(platform.engine, actor="operator:privacy.officer")
    assert list(runs["action"]) == ["cli_report"]
    assert json.loads(runs["detail"].iloc[0]) == {"report": "audit_trail", "format": "json", "rows": 2, "user": "gp.x"}
    _, out = run(platform, capsys, "--format", "json", "--user", "operator:privacy.officer")
    assert [r["action"] for r in json.loads(out)] == ["cli_report"]  # the next run shows it


def test_a_period_that_ends_before_it_starts_is_refused(platform, capsys):
    code = audit_cli.main(
        [
            "--db",
            platform.engine.url.render_as_string(hide_password=False),
            "--from",
            "2026-03-10",
            "--to",
            "2026-03-01",
        ]
    )
    assert code == 2 and "is after --to" in capsys.readouterr().err
