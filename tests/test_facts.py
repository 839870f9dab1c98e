"""Each clinical term of dashboard.facts means the same on every surface, on SQLite
and PostgreSQL: My patients, Triage, the command-line queue (``queue_records``), the
patient page, Caseload and the report. One patient per scenario, the exact rows
stated; a reminder is not contact, another programme's module does not count, a
future-dated row has not happened."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import select

from dashboard import db, facts
from dashboard.caseload import Filters, caseload
from dashboard.cli.queue import queue_records
from dashboard.config import Settings
from dashboard.engine import make_engine
from dashboard.flags import evaluate
from dashboard.my_patients import my_patients
from dashboard.patient import engagement, find_patient, load_page
from dashboard.report import to_json
from dashboard.schema import patients
from dashboard.scope import load_viewer
from dashboard.triage import triage
from tests.factory import Platform

NOW = datetime(2026, 6, 10, 12, 0, 0)
SETTINGS = Settings()
UTC = ZoneInfo("UTC")
CODE = "P-1"


@pytest.fixture
def platform(db_url) -> Platform:
    p = Platform(make_engine(db_url), NOW)
    db.upgrade(p.engine)  # the state tables, in the same database
    return p


def surfaces(platform: Platform) -> dict:
    """What every surface says about the one patient ``CODE`` (therapist ther.a, team 1)."""
    engine = platform.engine
    therapist, lead = load_viewer(engine, "ther.a"), load_viewer(engine, "lead.a")
    mine = my_patients(engine, therapist, NOW, SETTINGS).set_index("code").loc[CODE]
    queue = triage(engine, engine, therapist, NOW, SETTINGS)
    cli = {r["patient_code"]: r for r in queue_records(queue.queue)}.get(CODE, {"flags": [], "reasons": []})
    patient = find_patient(engine, therapist, CODE)
    rows, summary, inputs = load_page(engine, therapist, patient, NOW, SETTINGS, engine)
    page_flags = evaluate(inputs, NOW, SETTINGS)
    figures = caseload(
        engine,
        engine,
        lead,
        Filters(NOW - timedelta(days=90), NOW),
        SETTINGS,
        UTC,
        triage(engine, engine, lead, NOW, SETTINGS),
    )
    report = to_json(figures, SETTINGS)
    return {
        "my_patients": mine,
        "triage_flags": set(queue.open_flags["flag"]),
        "triage_reasons": list(queue.open_flags["reason"]),
        "cli_flags": set(cli["flags"]),
        "page_flags": set(page_flags.loc[page_flags["acked_at"].isna(), "flag"]),
        "page_summary": summary.iloc[0],
        "page_inputs": inputs.patients.iloc[0],
        "page_rows": rows,
        "engagement": engagement(rows, patient.enrolled_at, NOW),
        "headline": figures.headline.set_index("figure"),
        "report_headline": {r["figure"]: r for r in report["headline"]},
        "lapsed": figures.lapsed,
        "report_lapsed": report["lapsed_not_closed"],
    }


def same_flags(s: dict) -> set[str]:
    """Triage, the command line and the patient page raise the same flags."""
    assert s["triage_flags"] == s["cli_flags"] == s["page_flags"]
    return s["triage_flags"]


def headline(s: dict, figure: str) -> tuple:
    """(numerator, denominator) of a Caseload headline figure, the same in the report."""
    page = s["headline"].loc[figure]
    report = s["report_headline"][figure]
    assert (report["numerator"], report["denominator"]) == (page["numerator"], _none(page["denominator"]))
    return int(page["numerator"]), _none(page["denominator"])


def _none(v):
    return None if v is None or pd.isna(v) else int(v)


# ---------------------------------------------------------------- clinician contact


@pytest.mark.parametrize("clinician, is_contact", [(1, True), (None, False)], ids=["clinician", "automated-reminder"])
def test_clinician_contact_means_the_same_everywhere(platform, clinician, is_contact):
    pid = platform.patient(CODE, enrolled_days_ago=60)
    platform.activity(pid, 1)
    platform.message(pid, 2, "to_patient", clinician=clinician)
    platform.message(pid, -1, "to_patient", clinician=1)  # future-dated: not contact yet
    s = surfaces(platform)
    contact_at = NOW - timedelta(days=2) if is_contact else None
    assert ("no_contact" in same_flags(s)) is not is_contact
    assert s["engagement"].last_clinician_contact == contact_at
    assert (None if pd.isna(s["page_inputs"]["last_contact"]) else s["page_inputs"]["last_contact"]) == contact_at
    assert headline(s, "contact_recent") == (int(is_contact), 1)


# ---------------------------------------------------------------- last activity


@pytest.mark.parametrize("days_ago, idle_days", [(30, 30), (-2, 60)], ids=["login-30-days-ago", "future-dated-login"])
def test_last_activity_means_the_same_everywhere(platform, days_ago, idle_days):
    pid = platform.patient(CODE, enrolled_days_ago=60)
    platform.activity(pid, days_ago)
    platform.message(pid, -1, "from_patient")  # future-dated: neither activity nor a message awaiting a reply
    platform.phq9(pid, -1, 12)  # future-dated: not a response yet
    s = surfaces(platform)
    last = NOW - timedelta(days=idle_days)  # enrolment when there is no activity
    assert s["my_patients"]["last_activity_at"] == last and s["my_patients"]["days_since_activity"] == idle_days
    assert s["page_summary"]["last_activity_at"] == last
    flags = same_flags(s)
    assert "inactive" in flags and "awaiting_reply" not in flags
    assert any(f"no activity for {idle_days} days" in r for r in s["triage_reasons"])
    assert headline(s, "active_recent") == (0, 1)
    assert s["lapsed"]["last_activity_at"].tolist() == [last] and s["lapsed"]["days_inactive"].tolist() == [idle_days]
    assert s["report_lapsed"] == 1


# ---------------------------------------------------------------- the patient's own programme


@pytest.mark.parametrize(
    "programme, counts", [("depression", True), ("anxiety", False)], ids=["own-programme", "another-programme"]
)
def test_a_module_counts_only_in_the_patients_own_programme(platform, programme, counts):
    pid = platform.patient(CODE, program="depression", enrolled_days_ago=60)
    platform.activity(pid, 1)
    platform.module(pid, programme, 1, started_days_ago=6, completed_days_ago=5)
    s = surfaces(platform)
    assert ("feedback_due" in same_flags(s)) is counts
    assert s["my_patients"]["modules_completed"] == int(counts)
    assert s["my_patients"]["progress"] == f"module {2 if counts else 1} of 8"
    assert int(s["page_rows"].modules["completed_at"].notna().sum()) == int(counts)
    assert headline(s, "feedback_in_time") == (0, int(counts))


# ---------------------------------------------------------------- in treatment


@pytest.mark.parametrize(
    "status, ended_days_ago, treated, open_in_figures",
    [
        ("active", None, True, 1),
        ("completed", 40, False, 0),
        ("withdrawn", None, False, 0),
        ("on hold", None, True, 0),  # unknown status: flags err towards showing, figures count only "active"
        ("active", 40, True, 0),  # an end date on an active episode: in treatment now, ended for the figures
    ],
)
def test_in_treatment_means_the_same_to_every_flag_surface(platform, status, ended_days_ago, treated, open_in_figures):
    pid = platform.patient(CODE, enrolled_days_ago=60, status=status, ended_days_ago=ended_days_ago)
    assert facts.in_treatment(status, None if ended_days_ago is None else platform.ago(ended_days_ago)) is treated
    s = surfaces(platform)
    assert bool({"inactive", "no_contact"} & same_flags(s)) is treated
    assert s["my_patients"]["status"] == status  # listed whatever the status
    assert headline(s, "open_episodes")[0] == open_in_figures
    # The SQL prefilter keeps everyone who may be in treatment.
    with platform.engine.connect() as conn:
        kept = conn.scalars(select(patients.c.id).where(facts.not_closed_before(NOW - timedelta(days=31)))).all()
    assert (pid in kept) or not treated
