"""The command-line tools fail in words: exit code 2, one message, no traceback and
no SQL or parameters (which carry patient ids) on stderr, for extreme dates, an
unknown user, an unmigrated or broken state database (both backends)."""

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from dashboard import audit, db
from dashboard.cli import audit as audit_cli
from dashboard.cli import fhir as fhir_cli
from dashboard.cli import queue, refresh, report
from dashboard.engine import make_engine
from tests.factory import Platform

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
SECRET = "SECRET-CODE-77"  # a patient code that must never reach stderr
UPGRADE = "caseboard db upgrade"

CLIS = {  # name: (main, arguments of an ordinary run)
    "queue": (queue.main, ["--user", "ther.a"]),
    "report": (report.main, ["--user", "lead.a", "--format", "json"]),
    "audit": (audit_cli.main, []),
    "refresh": (refresh.main, []),
    "fhir": (fhir_cli.main, ["--user", "ther.a", "--patient", SECRET]),
}
CASES = [  # (cli, case, extra arguments, words on stderr)
    *[(cli, "unmigrated", [], UPGRADE) for cli in CLIS],
    *[
        (cli, "migrated", ["--from", "0001-01-01"], "0001-01-01 is outside 1900-01-01 to 2999-12-31")
        for cli in ("report", "audit")
    ],
    *[
        (cli, "migrated", ["--to", "9999-12-31"], "9999-12-31 is outside 1900-01-01 to 2999-12-31")
        for cli in ("report", "audit")
    ],
    *[
        (cli, "migrated", ["--from", "99999-01-01"], "not a day YYYY-MM-DD: '99999-01-01'")
        for cli in ("report", "audit")
    ],
    ("fhir", "migrated", ["--since", "99999-01-01"], "not a day YYYY-MM-DD: '99999-01-01'"),
    ("fhir", "migrated", ["--user", "nobody"], "'nobody': unknown user"),
    ("fhir", "migrated", ["--patient", "P\x00"], "--patient contains control characters"),
    ("queue", "migrated", ["--user", "nobody"], "no clinician with login 'nobody'"),
    ("report", "migrated", ["--user", "nobody"], "'nobody' is not a team lead"),
    *[(cli, "broken", [], "error: a database request failed (") for cli in CLIS],
]


def platform_db(db_url: str, case: str) -> Platform:
    """A platform with one patient; ``migrated`` adds the state tables, ``broken``
    then loses one (a failed or partial restore) while the revision still says head."""
    p = Platform(make_engine(db_url), NOW)
    pid = p.patient(SECRET, therapist=1, enrolled_days_ago=20)
    p.phq9(pid, 1, 18, item9=2)
    if case != "unmigrated":
        db.upgrade(p.engine)
    if case == "broken":
        with p.engine.begin() as conn:
            # the queue's first read binds patient ids; the refresher's rows are its first
            for table in ("dash_acknowledgements", "dash_audit", "dash_response_facts"):
                conn.execute(text(f"DROP TABLE {table}"))
    return p


def run_main(main, argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own refusals
        return exc.code


@pytest.mark.parametrize(
    ("cli", "case", "extra", "words"), CASES, ids=[f"{c}-{k}-{' '.join(e) or 'plain'}" for c, k, e, _ in CASES]
)
def test_command_line_failures_are_one_clean_message(db_url, capsys, cli, case, extra, words):
    p = platform_db(db_url, case)
    main, args = CLIS[cli]
    if "--user" in extra:
        args = args[: args.index("--user")] + args[args.index("--user") + 2 :]
    code = run_main(main, ["--db", p.engine.url.render_as_string(hide_password=False), *args, *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    assert words in err
    for leak in ("Traceback", "[SQL", "[parameters", SECRET, "sqlalchemy", "psycopg"):
        assert leak not in err
    if "nobody" in extra:  # an unknown user is audited as the report's refusals are
        assert list(audit.read(p.engine, actor="cli:nobody")["action"]) == ["denied"]


def test_the_queue_on_an_unmigrated_state_database_prints_no_traceback(db_url):
    """The reported run, as a process: before the fix it printed a traceback with the caseload's patient ids."""
    p = platform_db(db_url, "unmigrated")
    url = p.engine.url.render_as_string(hide_password=False)
    p.engine.dispose()
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "queue", "--db", url, "--user", "ther.a"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "DASHBOARD_MODE": "demo", "HOME": str(ROOT)},
    )
    assert done.returncode == 2 and UPGRADE in done.stderr
    assert "Traceback" not in done.stderr and "[parameters" not in done.stderr and done.stdout == ""


# ---------------------------------------------------------------- issue 16, item 15


def test_a_mistyped_sqlite_path_is_refused_and_never_created(tmp_path, capsys):
    from dashboard.cli import main as caseboard

    missing = tmp_path / "platfrom.sqlite"
    assert caseboard(["queue", "--user", "ther.a", "--db", f"sqlite:///{missing}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: no platform database file at {missing}") and "Traceback" not in err
    assert not missing.exists()


@pytest.mark.parametrize("command", ["queue", "report", "audit"])
def test_an_unreachable_postgresql_says_it_cannot_connect_in_one_line(command, capsys):
    from dashboard.cli import main as caseboard
    from tests.browser import free_port

    url = f"postgresql+psycopg://caseboard:{SECRET}@127.0.0.1:{free_port()}/platform"  # nothing listens there
    args = {"queue": ["--user", "ther.a"], "report": ["--user", "lead.a"], "audit": []}[command]
    assert caseboard([command, *args, "--db", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot connect to the database server (OperationalError)"), err
    assert err.count("\n") == 1 and "Traceback" not in err and SECRET not in err


def test_the_app_and_the_readiness_check_refuse_a_missing_platform_file(tmp_path, monkeypatch):
    from dashboard import ready, startup
    from dashboard.config import load_config

    missing = tmp_path / "nowhere.sqlite"
    monkeypatch.setenv("DASHBOARD_DB_URL", f"sqlite:///{missing}")
    problems = startup.database_file_problems(load_config())
    assert problems and str(missing) in problems[0]
    assert any("no platform database file" in p for p in ready.problems())
    assert not missing.exists()


def test_an_out_file_in_a_missing_folder_is_one_line(tmp_path, capsys):
    from dashboard.cli import main as caseboard

    with pytest.raises(SystemExit) as done:
        caseboard(["report", "--user", "lead.a", "--out", str(tmp_path / "nope" / "report.html")])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "argument --out: no folder" in err and "Traceback" not in err


def test_a_gps_digest_is_their_follow_ups_due(db_url, capsys):
    """GPs have no Triage page: ``queue`` prints the follow-ups due, as their Follow-ups page does."""
    from dashboard.cli import main as caseboard

    p = Platform(make_engine(db_url), NOW)
    db.upgrade(p.engine)
    pid = p.patient("DUE1", gp=3, enrolled_days_ago=30)
    p.module(pid, "depression", 1, 25, 20)
    p.phq9(pid, 1, 14, item9=1)
    assert caseboard(["queue", "--user", "gp.a", "--db", db_url, "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["patient_code"] for r in records] == ["DUE1"]
    assert records[0]["overdue"] and records[0]["alerts"] == ["risk answer"]
