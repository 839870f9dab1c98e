"""Every page x every role in AppTest: a page outside the role cannot be reached,
and no page shows a patient outside the viewer's scope (both backends). Deep
links cannot widen scope: a code outside it opens nothing."""

import pytest

from dashboard.ui.nav import PAGES, PAGES_DIR, ROLE_PAGES
from tests.apptest import logged_in, open_patient, shown_text

USERS = {"ther.a": "therapist", "gp.a": "gp", "lead.a": "team_lead", "peer.a": "peer_supporter"}
EVERYONE = {"MINE-THER", "MINE-GP", "TEAM-ONLY", "OTHER-TEAM", "MINE-PEER"}


@pytest.fixture
def caseloads(app_platform):
    """One patient in each viewer's scope only, and one in nobody's (team 2). The peer
    supporter's care_team rows: open for MINE-PEER, ended for TEAM-ONLY, another
    supporter's for OTHER-TEAM."""
    p = app_platform
    rows = {
        "MINE-THER": dict(therapist=1, gp=None),
        "MINE-GP": dict(therapist=None, gp=3),
        "TEAM-ONLY": dict(therapist=2, gp=4),
        "OTHER-TEAM": dict(therapist=7, gp=None, team=2),
        "MINE-PEER": dict(therapist=2, gp=None),
    }
    ids = {}
    for code, kw in rows.items():
        pid = ids[code] = p.patient(code, enrolled_days_ago=40, **kw)
        p.module(pid, "depression", 1, 39, 30)
        p.message(pid, 3, "from_patient")
        p.phq9(pid, 2, 15, item9=2)
    p.care(ids["MINE-PEER"], 11, started_days_ago=40)
    p.care(ids["TEAM-ONLY"], 11, started_days_ago=40, ended_days_ago=5)
    p.care(ids["OTHER-TEAM"], 12, started_days_ago=40)
    return {
        "ther.a": {"MINE-THER"},
        "gp.a": {"MINE-GP"},
        "lead.a": {"MINE-THER", "MINE-GP", "TEAM-ONLY", "MINE-PEER"},
        "peer.a": {"MINE-PEER"},
    }


@pytest.mark.parametrize("page", sorted(PAGES))
@pytest.mark.parametrize("user", sorted(USERS))
def test_page_by_role(caseloads, user, page):
    at = logged_in(user)
    target = str(PAGES_DIR / PAGES[page][0])
    if page not in ROLE_PAGES[USERS[user]]:
        with pytest.raises(ValueError):  # not registered for this role: no URL reaches it
            at.switch_page(target)
        return
    at.switch_page(target).run()
    assert not at.exception
    text = shown_text(at)
    leaked = {code for code in EVERYONE - caseloads[user] if code in text}
    assert not leaked, f"{page} shows {leaked} to {user}"


@pytest.mark.parametrize("user", sorted(USERS))
def test_deep_links_cannot_widen_scope(caseloads, user):
    for code in (*sorted(EVERYONE), "NO-SUCH-CODE"):
        at = open_patient(user, code)
        opened = any(t.value.startswith(code) for t in at.title)
        assert opened == (code in caseloads[user]), (user, code)


@pytest.mark.parametrize(
    "user, page, state",
    [
        ("ther.a", "triage.py", {"triage_therapist": "Therapist C"}),  # a lead's filter, set by hand
        ("lead.a", "triage.py", {"triage_therapist": "Therapist C"}),  # another team's therapist
        ("lead.a", "caseload.py", {"caseload_therapist": 7}),  # another team's therapist id
        (
            "gp.a",
            "my_patients.py",
            {"my_patients_table": {"selection": {"rows": [0, 1, 2, 3], "columns": [], "cells": []}}},
        ),
        ("peer.a", "contact.py", {"contact_patient": 1}),  # another patient's id, set by hand
    ],
)
def test_widget_state_cannot_widen_scope(caseloads, user, page, state):
    at = logged_in(user)
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(str(PAGES_DIR / page)).run()
    assert not at.exception, at.exception
    assert at.title, "the page rendered nothing"
    text = shown_text(at)
    assert not {code for code in EVERYONE - caseloads[user] if code in text}
