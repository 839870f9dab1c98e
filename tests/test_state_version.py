"""A write reaches every view of the patient it is about, in every session and app
instance, and only those (issue 16, item 2): the state version of a viewer's
patients is part of every cached page read's key. Both backends, then AppTest with
two sessions sharing one process's cache, as two browsers on one instance do."""

from datetime import UTC, datetime

import pytest

from dashboard import db
from dashboard.acks import Choice, acknowledge_batch, evidence_keys, withdraw
from dashboard.concerns import record_concern
from dashboard.config import Settings
from dashboard.engine import make_engine
from dashboard.gp_followups import log_followup
from dashboard.scope import load_viewer
from dashboard.state_version import changed_since, state_version, viewer_patient_ids
from dashboard.triage import triage
from tests.apptest import logged_in, table_with
from tests.factory import Platform, followup_form

NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@pytest.fixture
def platform(db_url) -> Platform:
    p = Platform(make_engine(db_url), NOW)
    db.upgrade(p.engine)
    return p


def version_of(platform: Platform, user: str) -> tuple:
    viewer = load_viewer(platform.engine, user)
    return state_version(platform.engine, viewer_patient_ids(platform.engine, viewer))


def test_each_write_changes_the_version_of_the_views_of_its_patient_only(platform):
    mine = platform.patient("MINE", therapist=1, gp=3, enrolled_days_ago=20)
    platform.phq9(mine, 1, 14, item9=1)
    other_team = platform.patient("THEIRS", therapist=7, gp=4, team=2, enrolled_days_ago=20)
    before = {u: version_of(platform, u) for u in ("ther.a", "gp.a", "lead.a", "lead.b", "ther.c")}
    log_followup(
        platform.engine,
        platform.engine,
        load_viewer(platform.engine, "gp.a"),
        mine,
        followup_form(NOW.date(), module_position=1),
        "k1",
        NOW,
    )
    after_followup = {u: version_of(platform, u) for u in before}
    assert {u for u in before if after_followup[u] != before[u]} == {"ther.a", "gp.a", "lead.a"}
    viewer = load_viewer(platform.engine, "ther.a")
    shown = triage(platform.engine, platform.engine, viewer, NOW, Settings()).open_flags
    called = Choice("risk", frozenset(evidence_keys(shown[shown["flag"] == "risk"])), "Called; safety plan reviewed.")
    ack = acknowledge_batch(platform.engine, platform.engine, viewer, mine, [called], NOW, Settings())["risk"]
    after_ack = {u: version_of(platform, u) for u in before}
    assert {u for u in before if after_ack[u] != after_followup[u]} == {"ther.a", "gp.a", "lead.a"}
    withdraw(platform.engine, platform.engine, load_viewer(platform.engine, "lead.a"), ack, "Wrong patient", NOW)
    assert version_of(platform, "ther.a") != after_ack["ther.a"]
    assert version_of(platform, "lead.b") == before["lead.b"] and other_team  # another team's views keep their cache


def test_a_concern_changes_the_version_of_its_patients_views_and_names_the_patient(platform):
    mine = platform.patient("MINE", therapist=1, gp=3, enrolled_days_ago=20)
    platform.care(mine, 11, started_days_ago=20)
    platform.patient("THEIRS", therapist=7, gp=4, team=2, enrolled_days_ago=20)
    users = ("ther.a", "gp.a", "lead.a", "peer.a", "lead.b", "ther.c")
    before = {u: version_of(platform, u) for u in users}
    peer = load_viewer(platform.engine, "peer.a")
    record_concern(platform.engine, platform.engine, peer, mine, "She said she feels unsafe.", "k", NOW, Settings())
    after = {u: version_of(platform, u) for u in users}
    assert {u for u in users if after[u] != before[u]} == {"ther.a", "gp.a", "lead.a", "peer.a"}
    lead = load_viewer(platform.engine, "lead.a")
    ids = viewer_patient_ids(platform.engine, lead)
    # a kept team snapshot made before it judges this patient again (dashboard.team_snapshot)
    assert changed_since(platform.engine, ids, before["lead.a"]) == [mine]
    assert changed_since(platform.engine, ids, after["lead.a"]) == []


def test_a_follow_up_saved_in_another_session_shows_at_the_next_run(app_platform):
    """gp.a has the Follow-ups page open (its data cached); the same GP (a second
    browser) or anyone else saves a follow-up; the first page's next run shows it:
    the patient leaves the due list and "Your follow-ups" lists it."""
    pid = app_platform.patient("DUE1", gp=3, enrolled_days_ago=30)
    app_platform.module(pid, "depression", 1, 25, 20)
    app_platform.patient("DUE2", gp=3, enrolled_days_ago=30)
    app_platform.module(pid + 1, "depression", 1, 25, 10)
    first = logged_in("gp.a")
    assert set(table_with(first, "code", "waiting")["code"]) == {"DUE1", "DUE2"}
    log_followup(
        app_platform.engine,
        app_platform.engine,
        load_viewer(app_platform.engine, "gp.a"),
        pid,
        followup_form(NOW.date(), module_position=1),
        "second-browser",
        NOW,
    )
    first.run()  # a reload of the first browser, well within the cache's TTL
    assert list(table_with(first, "code", "waiting")["code"]) == ["DUE2"]
    assert not any("You have not logged any follow-ups yet" in c.value for c in first.caption)
