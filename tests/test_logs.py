"""Structured logs (dashboard/logs.py): JSON lines, and no patient identifier in
them: not from a page opened by deep link, not from a database fault, not in the
served app's log."""

import io
import json
import logging
import re
from datetime import UTC, datetime
from itertools import count
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from dashboard import logs
from dashboard.ui import faults
from tests.apptest import open_patient

CODE, NAME = "LEAKCHECK-7Q", "Ottilie Leakwell-Brandt"


@pytest.fixture
def captured():
    """The "caseboard" logger's output as parsed JSON objects (a list that fills as the test runs)."""
    logs.configure()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logs.log.addHandler(handler)
    lines: list[str] = []

    def read() -> tuple[list[dict], str]:
        text = stream.getvalue()
        lines[:] = text.splitlines()
        return [json.loads(line) for line in lines], text

    yield read
    logs.log.removeHandler(handler)


def assert_clean(records: list[dict], text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text
    for record in records:
        assert set(record) - {"ts", "level", "event"} <= logs.FIELDS


def documented_fields(event: str) -> set[str]:
    """The fields README's Logs table lists for an event (each named in backticks)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith(f"| `{event}` |"))
    return set(re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", row.split("|")[2])))  # not the examples in brackets


# ---------------------------------------------------------------- (a) the format


def test_each_line_is_one_json_object_with_ts_level_and_event(captured, capsys):
    logs.configure()
    logs.configure()  # Streamlit runs app.py again on every rerun
    assert sum(isinstance(h, logs._StderrHandler) for h in logs.log.handlers) == 1
    logs.log_event(
        "script_run", page="Triage", user="therapist1", role="therapist", duration_ms=12.5, cpu_ms=9.0, rss_mb=190.2
    )
    logs.log_event(
        "db_fault", logging.WARNING, error=OperationalError("SELECT 1", {}, ConnectionError("x")), cause=ConnectionError
    )
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2  # exactly one line per event on stderr
    run, fault = (json.loads(line) for line in err)
    assert run == {
        "ts": run["ts"],
        "level": "info",
        "event": "script_run",
        "page": "Triage",
        "user": "therapist1",
        "role": "therapist",
        "duration_ms": 12.5,
        "cpu_ms": 9.0,
        "rss_mb": 190.2,
    }
    ts = datetime.fromisoformat(run["ts"])
    assert ts.utcoffset().total_seconds() == 0 and abs((datetime.now(UTC) - ts).total_seconds()) < 60
    assert fault["level"] == "warning" and fault["error"] == "OperationalError" and fault["cause"] == "ConnectionError"
    records, _ = captured()
    assert [r["event"] for r in records] == ["script_run", "db_fault"]


def test_only_allow_listed_fields_and_scalar_values(captured):
    with pytest.raises(ValueError, match="patient_code"):
        logs.log_event("open_record", user="therapist1", patient_code=CODE)
    with pytest.raises(TypeError):
        logs.log_event("script_run", page={"patient": CODE})
    with pytest.raises(ValueError):
        logs.log_event(f"opened {CODE}")
    records, text = captured()
    assert records == [] and CODE not in text


def test_a_record_logged_another_way_loses_its_text_and_traceback(captured):
    try:
        raise KeyError(CODE)
    except KeyError:
        logs.log.exception("could not open patient %s", CODE)
    logs.log.warning(f"patient {NAME} not found")
    records, text = captured()
    assert [r["event"] for r in records] == ["unstructured", "unstructured"]
    assert records[0]["error"] == "KeyError" and records[0]["source"].startswith("test_logs:")
    assert_clean(records, text, CODE, NAME)


# ---------------------------------------------------------------- (b) a deep link in AppTest


def test_opening_a_patient_by_deep_link_logs_the_run_without_the_patient(app_platform, captured):
    app_platform._ids = count(987_651)  # a distinctive id, so finding it in a log line would mean something
    pid = app_platform.patient(CODE, display_name=NAME, enrolled_days_ago=20)
    app_platform.phq9(pid, 10, 14)
    at = open_patient("ther.a", CODE)
    assert CODE in at.title[0].value  # the page really showed the patient
    records, text = captured()
    runs = [r for r in records if r["event"] == "script_run"]
    assert [r["page"] for r in runs][-1] == "Patient"
    assert all(
        r["user"] == "ther.a" and r["role"] == "therapist" and r["duration_ms"] > 0 and r["rss_mb"] > 0 for r in runs
    )
    # the run's own CPU: some, and never more than its wall time (one thread; each figure rounded to 0.1 ms)
    assert all(0 < r["cpu_ms"] <= r["duration_ms"] + 0.1 for r in runs)
    assert all(set(r) - {"ts", "level", "event"} == documented_fields("script_run") for r in runs)
    assert any(r["event"] == "login" and r["user"] == "ther.a" for r in records)
    assert_clean(records, text, CODE, NAME, str(pid))


# ---------------------------------------------------------------- (c) a database fault


def test_a_fault_logs_the_error_class_never_the_sql_parameters(captured):
    exc = OperationalError(
        "SELECT * FROM patients WHERE code = %(code)s",
        {"code": CODE},
        ConnectionError(f"server closed the connection while reading {NAME}"),
    )
    assert CODE in str(exc) and NAME in str(exc)  # what a verbatim message would leak
    faults.log_fault(exc)
    records, text = captured()
    assert records == [
        {
            "ts": records[0]["ts"],
            "level": "warning",
            "event": "db_fault",
            "kind": "unreachable",
            "error": "OperationalError",
            "cause": "ConnectionError",
        }
    ]
    assert_clean(records, text, CODE, NAME)


@pytest.fixture
def proxied_patient(monkeypatch, tmp_path):
    """A PostgreSQL platform with one patient, reached through a proxy the test can
    cut (as in test_faults.py)."""
    from sqlalchemy.engine import make_url

    from dashboard import db
    from dashboard.engine import make_engine
    from tests.conftest import create_pg_database, drop_pg_database, production_env
    from tests.factory import Platform
    from tests.proxy import TcpProxy

    url = create_pg_database()
    platform = Platform(make_engine(url), datetime.now(UTC).replace(tzinfo=None, microsecond=0))
    try:
        db.upgrade(platform.engine)
        pid = platform.patient(CODE, display_name=NAME, enrolled_days_ago=20)
        platform.phq9(pid, 10, 14)
        proxy = TcpProxy()
        production_env(
            monkeypatch,
            tmp_path,
            platform.engine,
            make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        )
        yield proxy
        proxy.cut()
    finally:
        platform.engine.dispose()
        drop_pg_database(url)


def test_database_lost_on_the_patient_page_logs_the_class_only(proxied_patient, captured):
    at = open_patient("ther.a", CODE)
    proxied_patient.cut()
    at.run()
    assert any("cannot reach the database" in e.value for e in at.error)
    records, text = captured()
    fault = next(r for r in records if r["event"] == "db_fault")
    assert fault["error"] == "OperationalError" and fault["kind"] == "unreachable"
    assert_clean(records, text, CODE, NAME)


# ---------------------------------------------------------------- (d) the served app


@pytest.mark.browser
def test_the_served_app_logs_script_runs_without_the_patient(tmp_path, browser):
    from dashboard import db, demo
    from dashboard.engine import make_engine
    from dashboard.schema import clinicians, patients
    from tests.browser import ARTIFACTS, log_in, served_app, wait_for_app

    url = f"sqlite:///{tmp_path}/demo.sqlite"
    engine = make_engine(url)
    demo.generate(engine, patients=120)
    db.upgrade(engine)
    with engine.connect() as conn:
        code, name = conn.execute(
            select(patients.c.code, patients.c.display_name)
            .join(clinicians, clinicians.c.id == patients.c.therapist_id)
            .where(clinicians.c.username == "therapist1", patients.c.status == "active")
            .order_by(patients.c.code)
            .limit(1)
        ).one()
    with served_app({"DASHBOARD_DB_URL": url, "DASHBOARD_MODE": "demo"}) as app_url:
        page = browser.new_page()
        page.goto(f"{app_url}/patient?patient={code}")
        wait_for_app(page)
        log_in(page, "therapist1", "caseboard-demo")
        page.get_by_role("heading", name=code).wait_for(timeout=30_000)
        wait_for_app(page)  # the run's script_run line is written when the run ends, after the heading shows
        page.close()
        server_log = (ARTIFACTS / f"server-{app_url.rsplit(':', 1)[1]}.log").read_text()
    records = [json.loads(line) for line in server_log.splitlines() if line.startswith("{")]
    runs = [r for r in records if r["event"] == "script_run"]
    assert any(r["page"] == "Patient" and r["user"] == "therapist1" for r in runs)
    assert all(0 < r["cpu_ms"] <= r["duration_ms"] + 0.1 for r in runs)  # each run's own thread's CPU
    assert all(set(r) - {"ts", "level", "event"} == documented_fields("script_run") for r in runs)
    assert any(r["event"] == "login" and r["user"] == "therapist1" for r in records)
    assert_clean(records, server_log, code, name)


def test_streamlits_uncaught_exception_log_withholds_the_message():
    """An uncaught page exception is logged by Streamlit itself as a traceback whose
    last line is the message; a message naming a patient must not reach the log."""
    import logging

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logs.configure()
    streamlit_errors = logging.getLogger(logs.STREAMLIT_ERROR_LOGGER)
    keep = Keep()
    streamlit_errors.addHandler(keep)
    try:
        try:
            raise KeyError("P-12345")
        except KeyError as exc:
            streamlit_errors.error("Uncaught app execution", exc_info=exc)
    finally:
        streamlit_errors.removeHandler(keep)
    text = logging.Formatter().format(records[-1])
    assert "P-12345" not in text
    assert "Uncaught app execution: KeyError at test_logs.py:" in text
