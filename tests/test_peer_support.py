"""The peer supporter's view (issue 20), on both backends: their list holds the
engagement reasons only, ranked as triage ranks; their acknowledgements carry their
role and cover their own list, never the therapist's reason (nor the therapist's
theirs); a risk answer is never their task, only a status; no FHIR export."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from dashboard import audit, fhir, peer_support, schema, triage
from dashboard.acks import AckRefused, Choice, acknowledge_batch, evidence_keys
from dashboard.cli.queue import main as queue_main
from dashboard.cli.queue import queue_records
from dashboard.config import Settings
from dashboard.facts import contacts_between
from dashboard.schema import metadata
from dashboard.scope import load_viewer
from dashboard.state_tables import acknowledgements
from tests.conftest import PLATFORM_NOW as NOW
from tests.factory import Platform

SETTINGS = Settings()
RISK_NOTE = "Phoned the patient; safety plan reviewed together."


def contacts(platform: Platform, user: str = "peer.a") -> peer_support.ContactList:
    return peer_support.contact_list(
        platform.engine, platform.engine, load_viewer(platform.engine, user), NOW, SETTINGS
    )


def open_of(t: triage.Triage, pid: int) -> dict[str, frozenset[str]]:
    rows = t.open_flags[t.open_flags["patient_id"] == pid]
    return {k: frozenset(evidence_keys(g)) for k, g in rows.groupby("flag")}


def therapist_view(platform: Platform) -> triage.Triage:
    return triage.triage(platform.engine, platform.engine, load_viewer(platform.engine, "ther.a"), NOW, SETTINGS)


def ack(platform: Platform, user: str, pid: int, seen: dict[str, frozenset[str]], note: str | None = None):
    viewer = load_viewer(platform.engine, user)
    choices = [Choice(k, v, note) for k, v in seen.items()]
    return acknowledge_batch(platform.engine, platform.engine, viewer, pid, choices, NOW, SETTINGS)


def quiet_with_risk(platform: Platform, code: str = "QUIET", therapist: int | None = 1) -> int:
    """In peer.a's care: a risk answer, a message waiting, a module with no feedback, no contact."""
    pid = platform.patient(code, therapist=therapist, enrolled_days_ago=40)
    platform.care(pid, 11, started_days_ago=40)
    platform.module(pid, "depression", 1, 39, 30)
    platform.phq9(pid, 20, 18, item9=2)
    platform.activity(pid, 20)
    platform.message(pid, 3)
    return pid


def test_the_list_holds_engagement_reasons_only_ranked_like_triage(platform):
    pid = quiet_with_risk(platform)
    other = platform.patient("NEW", enrolled_days_ago=20)  # enrolled, nothing started
    platform.care(other, 11, started_days_ago=20)
    mine = contacts(platform).triage
    assert set(mine.open_flags["flag"]) <= peer_support.PEER_REASONS
    assert set(open_of(mine, pid)) == {"awaiting_reply", "feedback_due", "no_contact"}  # no risk, no questionnaire
    assert "risk" in set(therapist_view(platform).open_flags["flag"])  # the risk stays with the therapist
    # the same order the therapist's triage gives the same reasons (flags.urgency)
    theirs = therapist_view(platform)
    same = theirs.open_flags[theirs.open_flags["flag"].isin(peer_support.PEER_REASONS)]
    expected = triage.flag_engine.rank_patients(same, theirs.patients)
    assert list(mine.queue["code"]) == [c for c in expected["code"] if c in set(mine.queue["code"])]
    assert not any("item 9" in r for reasons in mine.queue["reasons"] for r in reasons)


def test_a_supporters_acknowledgement_empties_their_list_only(platform):
    pid = quiet_with_risk(platform)
    seen = open_of(contacts(platform).triage, pid)
    ids = ack(platform, "peer.a", pid, seen, "Called her; she is on holiday this week.")
    assert set(ids) == set(seen)
    assert open_of(contacts(platform).triage, pid) == {}
    # the therapist's reasons stay open: a supporter's acknowledgement is never theirs
    assert {"awaiting_reply", "feedback_due", "no_contact"} <= set(open_of(therapist_view(platform), pid))
    with platform.engine.connect() as conn:
        roles = set(conn.scalars(select(acknowledgements.c.role)))
    assert roles == {"peer_supporter"}
    trail = audit.read(platform.engine, actor="peer.a")
    assert sorted(trail.loc[trail["action"] == "acknowledge", "patient_id"]) == [pid] * len(seen)


def test_the_therapists_acknowledgement_does_not_empty_the_supporters_list(platform):
    pid = quiet_with_risk(platform)
    theirs = open_of(therapist_view(platform), pid)
    ack(platform, "ther.a", pid, {k: v for k, v in theirs.items() if k == "no_contact"}, "Known: on leave.")
    assert "no_contact" not in open_of(therapist_view(platform), pid)
    assert "no_contact" in open_of(contacts(platform).triage, pid)
    with platform.engine.connect() as conn:
        assert set(conn.scalars(select(acknowledgements.c.role))) == {"therapist"}


@pytest.mark.parametrize("flag", ["risk", "questionnaire_overdue"])
def test_a_supporter_cannot_mark_a_therapists_reason(platform, flag):
    pid = quiet_with_risk(platform)
    seen = open_of(therapist_view(platform), pid)
    with pytest.raises(AckRefused, match="only the reasons of their own list"):
        ack(platform, "peer.a", pid, {flag: seen[flag]}, RISK_NOTE)
    assert flag in open_of(therapist_view(platform), pid)


def test_the_risk_status_says_what_is_true(platform):
    waiting = quiet_with_risk(platform, "WAITING")
    reviewed = quiet_with_risk(platform, "REVIEWED")
    nobody = quiet_with_risk(platform, "NOBODY", therapist=None)
    calm = platform.patient("CALM", enrolled_days_ago=40)
    platform.care(calm, 11, started_days_ago=40)
    platform.phq9(calm, 10, 8, item9=0)
    risk_seen = open_of(therapist_view(platform), reviewed)["risk"]
    ack(platform, "ther.a", reviewed, {"risk": risk_seen}, RISK_NOTE)
    status = contacts(platform).risk
    day = f"{(NOW - timedelta(days=20)):%d %b %Y}"
    assert status[waiting] == f"waiting for Therapist A's review since {day}"
    assert status[reviewed] == f"reviewed by Therapist A on {NOW:%d %b %Y}"
    assert status[nobody] == peer_support.NO_THERAPIST == "no therapist assigned: tell the team lead"
    assert calm not in status
    assert not any(ch.isdigit() for ch in status[nobody])  # no score, no item answer


def test_a_risk_answer_at_follow_up_has_its_status_while_the_care_row_is_open(platform):
    """Issue 20, risk at follow-up: 12 weeks after a completed episode ended, an item 9
    above 0 (clinical-reference 1.5) waits for the therapist's review, and the supporter
    whose care_team row is still open reads that status; one whose row ended does not
    (scope is unchanged). Nothing else of an ended episode is on the supporter's list."""
    still = platform.patient("FU-OPEN", status="completed", enrolled_days_ago=150, ended_days_ago=12 * 7 + 2)
    platform.care(still, 11, started_days_ago=150)
    platform.phq9(still, 2, 15, item9=1)
    left = platform.patient("FU-LEFT", status="completed", enrolled_days_ago=150, ended_days_ago=12 * 7 + 2)
    platform.care(left, 11, started_days_ago=150, ended_days_ago=12 * 7)
    platform.phq9(left, 2, 15, item9=1)
    got = contacts(platform)
    assert got.risk == {still: f"waiting for Therapist A's review since {(NOW - timedelta(days=2)):%d %b %Y}"}
    assert got.triage.queue.empty  # no engagement reason after the end


def test_scope_follows_the_open_care_team_rows(platform):
    ended = platform.patient("ENDED", enrolled_days_ago=40)
    platform.care(ended, 11, started_days_ago=40, ended_days_ago=2)
    later = platform.patient("LATER", enrolled_days_ago=40)
    platform.care(later, 11, started_days_ago=-1)
    theirs = platform.patient("THEIRS", enrolled_days_ago=40)
    platform.care(theirs, 12, started_days_ago=40)
    mine = platform.patient("MINE", enrolled_days_ago=40)
    platform.care(mine, 11, started_days_ago=40, ended_days_ago=-5)  # ends next week: open today
    t = contacts(platform).triage
    assert set(t.patients["code"]) == {"MINE"}


def test_fhir_export_is_refused_for_a_peer_supporter(platform):
    pid = quiet_with_risk(platform)
    viewer = load_viewer(platform.engine, "peer.a")
    with pytest.raises(fhir.FhirRefused, match="GP and therapist"):
        fhir.export_patient(platform.engine, platform.engine, viewer, pid, NOW, SETTINGS, "https://example.org/ids")
    assert fhir.scoped_patient_ids(platform.engine, viewer) == []


def test_without_a_care_team_table_a_peer_supporter_has_no_viewer(platform):
    metadata.tables["care_team"].drop(platform.engine)
    assert load_viewer(platform.engine, "peer.a") is None
    assert load_viewer(platform.engine, "ther.a") is not None


def test_the_morning_digest_prints_the_supporters_own_list_in_the_queue_shape(platform, capsys, monkeypatch):
    pid = quiet_with_risk(platform)
    url = platform.engine.url.render_as_string(hide_password=False)
    monkeypatch.setattr("dashboard.cli.queue.utcnow", lambda: NOW)
    assert queue_main(["--user", "peer.a", "--db", url, "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == queue_records(contacts(platform).triage.queue)
    assert [r["patient_code"] for r in printed] == ["QUIET"]
    assert set(printed[0]["flags"]) == set(open_of(contacts(platform).triage, pid)) <= peer_support.PEER_REASONS
    assert audit.read(platform.engine)["actor"].tolist() == ["cli:peer.a"]


def test_peer_contact_is_its_own_fact(platform):
    """A supporter's message answers the supporter's list, never the therapist's reasons,
    and is no treatment session (clinical-reference 3.1: sessions are clinician messages)."""
    pid = quiet_with_risk(platform)
    platform.message(pid, 1, "to_patient", clinician=11)  # peer.a writes back
    assert not {"awaiting_reply", "feedback_due", "no_contact"} & set(open_of(contacts(platform).triage, pid))
    assert {"awaiting_reply", "feedback_due", "no_contact"} <= set(open_of(therapist_view(platform), pid))
    with platform.engine.connect() as conn:
        sessions = conn.scalar(
            select(contacts_between(NOW - timedelta(days=60), NOW)).where(schema.patients.c.id == pid)
        )
    assert sessions == 0
    platform.message(pid, 0.5, "to_patient", clinician=1)  # the therapist's own reply clears theirs
    assert "awaiting_reply" not in open_of(therapist_view(platform), pid)
    ther = load_viewer(platform.engine, "ther.a")
    assert [name for name, _ in peer_support.supporters(platform.engine, ther, pid, NOW)] == ["Peer A"]
    ((_, last),) = peer_support.supporters(platform.engine, ther, pid, NOW)
    assert last == NOW - timedelta(days=1)
    assert peer_support.supporters(platform.engine, load_viewer(platform.engine, "ther.c"), pid, NOW) == []


def test_the_team_leads_workload_has_the_supporters_caseloads_and_reply_times(platform):
    pid = quiet_with_risk(platform)  # wrote 3 days ago
    platform.message(pid, 2.5, "to_patient", clinician=1)  # the therapist's message is not the supporter's reply
    platform.message(pid, 2, "to_patient", clinician=11)  # peer.a answers 24 h later
    calm = platform.patient("CALM", enrolled_days_ago=40)
    platform.care(calm, 11, started_days_ago=40)
    platform.module(calm, "depression", 1, 39)
    platform.activity(calm, 0.5)  # active, but nobody has contacted them for 40 days
    lead = load_viewer(platform.engine, "lead.a")
    w = peer_support.supporter_workload(
        platform.engine, platform.engine, lead, NOW - timedelta(days=30), NOW, SETTINGS, triage.UTC_ZONE
    )
    assert w.to_dict("records") == [
        {"supporter": "Peer A", "in_care": 2, "to_contact": 1, "messages": 1, "answered": 1, "median_reply_hours": 24.0}
    ]  # Peer C is team 2's
    other = load_viewer(platform.engine, "lead.b")
    w2 = peer_support.supporter_workload(
        platform.engine, platform.engine, other, NOW - timedelta(days=30), NOW, SETTINGS, triage.UTC_ZONE
    )
    assert w2.to_dict("records") == [
        {"supporter": "Peer C", "in_care": 0, "to_contact": 0, "messages": 0, "answered": 0, "median_reply_hours": None}
    ]
