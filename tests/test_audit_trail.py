"""The team lead's audit trail: scope, filters and the page (both backends)."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert

from dashboard import audit, db
from dashboard.engine import make_engine
from dashboard.nav import PAGES_DIR
from dashboard.scope import load_viewer
from dashboard.state import audit as audit_table
from tests.apptest import logged_in
from tests.factory import Platform

NOW = datetime(2026, 11, 20, 9, 0, 0)
DAY = timedelta(days=1)


@pytest.fixture
def platform(db_url) -> Platform:
    p = Platform(make_engine(db_url), NOW)
    db.upgrade(p.engine)
    return p


def add(platform: Platform, actor: str, action: str, patient_id: int | None, days_ago: float) -> None:
    with platform.engine.begin() as conn:
        conn.execute(insert(audit_table).values(occurred_at=NOW - timedelta(days=days_ago), actor=actor, action=action,
                                                patient_id=patient_id, detail=None))


def trail(platform: Platform, user: str = "lead.a", **filters):
    return audit.team_trail(platform.engine, platform.engine, load_viewer(platform.engine, user),
                            NOW - 7 * DAY, NOW + DAY, **filters)


def test_a_team_lead_sees_their_teams_clinicians_and_patients_only(platform):
    mine = platform.patient("T1-P", team=1, therapist=1)
    theirs = platform.patient("T2-P", team=2, therapist=7)
    add(platform, "ther.a", "open_record", mine, 1)
    add(platform, "cli:ther.a", "cli_report", None, 1)
    add(platform, "ther.c", "open_record", theirs, 1)  # team 2's therapist, team 2's patient
    add(platform, "ther.c", "denied", mine, 1)  # an outsider trying a team 1 patient
    add(platform, "ther.a", "login", None, 30)  # outside the period
    got = trail(platform)
    assert sorted(zip(got["actor"], got["action"])) == [("cli:ther.a", "cli_report"), ("ther.a", "open_record"),
                                                        ("ther.c", "denied")]
    assert set(got["patient"].dropna()) == {"T1-P"}
    assert set(trail(platform, "lead.b")["actor"]) == {"ther.c"}
    assert trail(platform, "ther.a").empty  # only team leads have an audit trail


def test_filters_by_clinician_and_patient(platform):
    a = platform.patient("A", team=1)
    b = platform.patient("B", team=1)
    add(platform, "ther.a", "open_record", a, 1)
    add(platform, "ther.b", "open_record", b, 1)
    add(platform, "cli:ther.a", "cli_report", None, 2)
    assert set(trail(platform, actor="ther.a")["actor"]) == {"ther.a", "cli:ther.a"}
    assert list(trail(platform, patient_code="B")["patient"]) == ["B"]


def test_audit_page_for_team_leads_only(app_platform):
    pid = app_platform.patient("AUD-P", team=1)
    audit.record(app_platform.engine, "ther.a", "open_record", pid)
    at = logged_in("lead.a")
    at.switch_page(str(PAGES_DIR / "audit.py")).run()
    assert not at.exception and at.title[0].value == "Audit trail"
    table = at.dataframe[0].value
    assert "AUD-P" in set(table["patient"]) and "ther.a" in set(table["actor"])
    therapist = logged_in("ther.a")
    with pytest.raises(ValueError):
        therapist.switch_page(str(PAGES_DIR / "audit.py"))
