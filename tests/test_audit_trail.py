"""The team lead's audit trail: scope, filters and the page (both backends)."""

from datetime import datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import insert

from dashboard import audit
from dashboard.scope import load_viewer
from dashboard.state_tables import audit as audit_table
from dashboard.ui.nav import PAGES_DIR
from tests.apptest import logged_in
from tests.conftest import PLATFORM_NOW as NOW
from tests.factory import Platform

DAY = timedelta(days=1)


def add(platform: Platform, actor: str, action: str, patient_id: int | None, days_ago: float) -> None:
    with platform.engine.begin() as conn:
        conn.execute(
            insert(audit_table).values(
                occurred_at=NOW - timedelta(days=days_ago),
                actor=actor,
                action=action,
                patient_id=patient_id,
                detail=None,
            )
        )


def trail(platform: Platform, user: str = "lead.a", **filters):
    return audit.team_trail(
        platform.engine, platform.engine, load_viewer(platform.engine, user), NOW - 7 * DAY, NOW + DAY, **filters
    )


def test_a_team_lead_sees_their_teams_clinicians_and_patients_only(platform):
    mine = platform.patient("T1-P", team=1, therapist=1)
    theirs = platform.patient("T2-P", team=2, therapist=7)
    add(platform, "ther.a", "open_record", mine, 1)
    add(platform, "cli:ther.a", "cli_report", None, 1)
    add(platform, "ther.c", "open_record", theirs, 1)  # team 2's therapist, team 2's patient
    add(platform, "ther.c", "denied", mine, 1)  # an outsider trying a team 1 patient
    add(platform, "ther.a", "login", None, 30)  # outside the period
    got = trail(platform)
    assert sorted(zip(got["actor"], got["action"])) == [
        ("cli:ther.a", "cli_report"),
        ("ther.a", "open_record"),
        ("ther.c", "denied"),
    ]
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
    assert "AUD-P" in set(table["patient"]) and "Therapist A (ther.a)" in set(
        table["actor"]
    )  # issue 16: names, not logins
    assert "opened the record" in set(table["action"])
    therapist = logged_in("ther.a")
    with pytest.raises(ValueError):
        therapist.switch_page(str(PAGES_DIR / "audit.py"))


def add_teamless_gp(platform: Platform, clinician_id: int = 8, username: str = "gp.x") -> int:
    """A GP as the platform has them: no team, patients in several teams."""
    from dashboard.schema import clinicians

    with platform.engine.begin() as conn:
        conn.execute(
            insert(clinicians).values(
                id=clinician_id, username=username, display_name="Dr GP X", role="gp", team_id=None
            )
        )
    return clinician_id


def test_a_lead_sees_the_logins_denials_and_exports_of_everyone_treating_the_team(platform):
    gp = add_teamless_gp(platform)
    south = platform.patient("T2-GP", team=2, therapist=7, gp=gp)
    shared = platform.patient("T2-A", team=2, therapist=1, gp=4)  # team 1's therapist treats a team 2 patient
    for action in ("login", "export", "denied", "logout"):
        add(platform, "gp.x", action, None, 1)
    add(platform, "gp.x", "open_record", south, 1)
    add(platform, "ther.a", "open_record", shared, 1)
    add(platform, "ther.a", "login", None, 1)
    add(platform, "ther.c", "login", None, 1)
    south_trail = trail(platform, "lead.b")
    assert sorted(zip(south_trail["actor"], south_trail["action"])) == sorted(
        [("gp.x", a) for a in ("login", "export", "denied", "logout", "open_record")]
        + [("ther.a", "open_record"), ("ther.a", "login"), ("ther.c", "login")]
    )
    north_trail = trail(platform, "lead.a")
    # team 1's own therapist: her login, but not what she did with team 2's patient; nothing of gp.x or ther.c
    assert sorted(zip(north_trail["actor"], north_trail["action"])) == [("ther.a", "login")]


def test_a_denied_deep_link_names_the_patient_and_reaches_that_teams_lead(app_platform):
    from tests.apptest import open_patient

    north = app_platform.patient("T1-ONLY", team=1, therapist=1, gp=3)
    at = open_patient("ther.c", "T1-ONLY")  # team 2's therapist probing a team 1 code
    assert [e.value for e in at.error] == ["No such patient in your caseload."]
    unknown = open_patient("ther.c", "NO-SUCH-CODE")
    assert [e.value for e in unknown.error] == ["No such patient in your caseload."]  # the same words
    rows = audit.read(app_platform.engine, actor="ther.c")
    denials = rows[rows["action"] == "denied"].sort_values("id")
    assert [None if pd.isna(p) else int(p) for p in denials["patient_id"]] == [north, None]
    lead = audit.team_trail(
        app_platform.engine,
        app_platform.engine,
        load_viewer(app_platform.engine, "lead.a"),
        datetime.now() - DAY,
        datetime.now() + DAY,
    )
    assert list(zip(lead["actor"], lead["action"], lead["patient"])) == [("ther.c", "denied", "T1-ONLY")]


def test_the_detail_names_stored_codes_as_the_pages_do():
    """A lead reads 'role: Team lead', 'reason: Risk answer', never the stored codes."""
    assert audit.detail_words('{"role": "team_lead"}') == "role: Team lead"
    assert audit.detail_words('{"ack": 12, "flag": "risk"}') == "acknowledgement: 12 · reason: Risk answer"
    assert audit.detail_words('{"gp_action": "refer_on"}') == "GP action: Refer on"
    assert audit.detail_words('{"what": "workload_csv", "rows": null}') == "what: workload_csv"
