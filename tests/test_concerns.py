"""A peer supporter's concern (issue 20, dashboard.concerns), on both backends: stored
once with its audit row, only by a supporter for a patient in their care; it raises
``peer_concern`` in the therapist's triage ranked with a risk answer (priority 1),
escalated to the lead after ``risk_escalation_working_days`` working days, handled only
with a note, and an acknowledgement covers only the concerns its screen showed."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from dashboard import audit, flags, peer_support, triage
from dashboard.acks import AckRefused, Choice, NewerEvidence, acknowledge_batch, evidence_keys
from dashboard.cli.queue import main as queue_main
from dashboard.concerns import ConcernRefused, record_concern
from dashboard.config import Settings
from dashboard.followups_due import due_list
from dashboard.scope import load_viewer
from dashboard.state_tables import concerns
from dashboard.timeutil import UTC_ZONE
from tests.conftest import PLATFORM_NOW as NOW  # a Friday
from tests.factory import Platform

SETTINGS = Settings()
WORRY = "She said she has stopped eating and feels hopeless."
HANDLED = "Phoned her; safety plan reviewed, GP seeing her today."


def in_care(platform: Platform, code: str = "CARE", therapist: int | None = 1) -> int:
    """A patient in peer.a's care with nothing else to flag this week."""
    pid = platform.patient(code, therapist=therapist, enrolled_days_ago=20)
    platform.care(pid, 11, started_days_ago=20)
    platform.module(pid, "depression", 1, 19, None)
    platform.phq9(pid, 19, 12, item9=0)
    platform.activity(pid, 1)
    platform.message(pid, 2, direction="to_patient", clinician=1)
    return pid


def record(platform: Platform, pid: int, note: str = WORRY, key: str = "k1", user: str = "peer.a", at=NOW) -> int:
    viewer = load_viewer(platform.engine, user)
    return record_concern(platform.engine, platform.engine, viewer, pid, note, key, at, SETTINGS)


def queue_of(platform: Platform, user: str = "ther.a", at=NOW) -> triage.Triage:
    return triage.triage(platform.engine, platform.engine, load_viewer(platform.engine, user), at, SETTINGS)


def stored(platform: Platform) -> int:
    with platform.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(concerns)))


def concern_rows(t: triage.Triage, pid: int):
    return t.open_flags[(t.open_flags["patient_id"] == pid) & (t.open_flags["flag"] == "peer_concern")]


def test_a_concern_reaches_the_therapists_triage_ranked_with_risk(platform):
    concerned = in_care(platform, "WORRIED")
    risky = platform.patient("ITEM9", enrolled_days_ago=20)
    platform.phq9(risky, 0.5, 14, item9=1)  # a risk answer of 1 (priority 1), newer than the concern
    slow = platform.patient("SLOW", enrolled_days_ago=20)
    platform.message(slow, 4)  # awaiting a reply for 4 days (priority 3)
    record(platform, concerned, at=NOW - timedelta(days=1))
    t = queue_of(platform)
    rows = concern_rows(t, concerned)
    assert len(rows) == 1 and rows["priority"].iloc[0] == flags.FLAG_KINDS["risk"].priority == 1
    assert rows["reason"].iloc[0] == f"Peer A recorded a concern on {NOW - timedelta(days=1):%d %b}: {WORRY}"
    # ranked with risk: the same grade, the longer wait first; both before a reply owed
    assert list(t.queue["code"])[:3] == ["WORRIED", "ITEM9", "SLOW"]
    # a team lead and the GP see it where they see risk
    assert not concern_rows(queue_of(platform, "lead.a"), concerned).empty
    # never a task on the supporter's own list
    mine = peer_support.contact_list(
        platform.engine, platform.engine, load_viewer(platform.engine, "peer.a"), NOW, SETTINGS
    )
    assert "peer_concern" not in set(mine.triage.open_flags["flag"])
    assert mine.concerns[concerned] == f"waiting for Therapist A's review since {NOW - timedelta(days=1):%d %b %Y}"


def test_the_gp_sees_the_concern_in_their_due_list(platform):
    pid = in_care(platform)
    platform.module(pid, "depression", 2, 10, 3)  # a module finished: the GP's follow-up is due
    record(platform, pid)
    due = due_list(platform.engine, platform.engine, load_viewer(platform.engine, "gp.a"), NOW, SETTINGS, UTC_ZONE).due
    assert due.loc[due["patient_id"] == pid, "concern"].tolist() == [True]


def test_the_morning_digest_carries_the_concern(platform, capsys, monkeypatch):
    pid = in_care(platform)
    record(platform, pid)
    monkeypatch.setattr("dashboard.cli.queue.utcnow", lambda: NOW)
    url = platform.engine.url.render_as_string(hide_password=False)
    assert queue_main(["--user", "ther.a", "--db", url, "--format", "json"]) == 0
    printed = {r["patient_code"]: r for r in json.loads(capsys.readouterr().out)}
    assert "peer_concern" in printed["CARE"]["flags"]
    assert any(WORRY in r for r in printed["CARE"]["reasons"])


@pytest.mark.parametrize(
    ("recorded", "now", "escalated"),
    [
        (NOW, NOW + timedelta(days=3) - timedelta(seconds=1), False),  # Friday 09:00 -> Monday 08:59:59
        (NOW, NOW + timedelta(days=3), True),  # Friday 09:00 -> Monday 09:00: one working day
        (NOW - timedelta(days=1), NOW, True),  # Thursday -> Friday
    ],
)
def test_an_unhandled_concern_is_escalated_after_one_working_day(platform, recorded, now, escalated):
    assert SETTINGS.risk_escalation_working_days == 1
    pid = in_care(platform)
    record(platform, pid, at=recorded)
    rows = concern_rows(queue_of(platform, "lead.a", at=now), pid)
    assert rows["escalated"].tolist() == [escalated]


def ack(platform: Platform, pid: int, seen: frozenset[str], note: str | None, key: str | None = None):
    viewer = load_viewer(platform.engine, "ther.a")
    return acknowledge_batch(
        platform.engine, platform.engine, viewer, pid, [Choice("peer_concern", seen, note)], NOW, SETTINGS, key
    )


def test_handling_a_concern_needs_a_note(platform):
    pid = in_care(platform)
    record(platform, pid)
    seen = frozenset(evidence_keys(concern_rows(queue_of(platform), pid)))
    short = "x" * (SETTINGS.risk_note_min_chars - 1)
    with pytest.raises(AckRefused, match=f"at least {SETTINGS.risk_note_min_chars} characters"):
        ack(platform, pid, seen, short)
    assert not concern_rows(queue_of(platform), pid).empty
    ack(platform, pid, seen, HANDLED)
    assert concern_rows(queue_of(platform), pid).empty
    mine = peer_support.contact_list(
        platform.engine, platform.engine, load_viewer(platform.engine, "peer.a"), NOW, SETTINGS
    )
    assert mine.concerns[pid] == f"reviewed by Therapist A on {NOW:%d %b %Y}"


def test_an_acknowledgement_drawn_before_a_newer_concern_does_not_cover_it(platform):
    pid = in_care(platform)
    record(platform, pid, "First: she said she feels trapped at home.", key="a", at=NOW - timedelta(hours=2))
    seen = frozenset(evidence_keys(concern_rows(queue_of(platform), pid)))  # the therapist's screen is drawn
    record(platform, pid, "Second: she mentioned pills she has kept.", key="b", at=NOW - timedelta(hours=1))
    with pytest.raises(NewerEvidence):  # submitted on the older screen: nothing stored
        ack(platform, pid, seen, HANDLED)
    rows = concern_rows(queue_of(platform), pid)
    assert (
        "Second: she mentioned pills" in rows["reason"].iloc[0]
        and "(2 concerns not yet handled)" in rows["reason"].iloc[0]
    )
    # handled on that older screen's evidence (a form made before the second): the second stays open
    ack_rows = frozenset(evidence_keys(rows))
    ack(platform, pid, ack_rows, HANDLED)
    assert concern_rows(queue_of(platform), pid).empty
    record(platform, pid, "Third: she called again very upset.", key="c", at=NOW)
    rows = concern_rows(queue_of(platform), pid)
    assert len(rows) == 1 and rows["reason"].iloc[0].endswith("Third: she called again very upset.")
    assert rows["since"].iloc[0] == NOW  # the clock runs from the first concern not yet handled


def test_a_double_submit_stores_once_with_one_audit_row(platform):
    pid = in_care(platform)
    first = record(platform, pid, key="same-form")
    again = record(platform, pid, key="same-form")
    assert first == again and stored(platform) == 1
    trail = audit.read(platform.engine, actor="peer.a")
    assert trail["action"].tolist() == ["concern"] and trail["patient_id"].tolist() == [pid]
    other = in_care(platform, "OTHER")
    with pytest.raises(ConcernRefused, match="another patient"):
        record(platform, other, key="same-form")
    assert stored(platform) == 1


@pytest.mark.parametrize(
    ("user", "note", "message"),
    [
        ("peer.c", WORRY, "No such patient in your care"),  # another team's supporter
        ("ther.a", WORRY, "Only a peer supporter records a concern"),
        ("gp.a", WORRY, "Only a peer supporter records a concern"),
        ("lead.a", WORRY, "Only a peer supporter records a concern"),
        ("peer.a", "too short", f"at least {SETTINGS.risk_note_min_chars} characters"),
        ("peer.a", "   " + "x" * (SETTINGS.risk_note_min_chars - 1) + "   ", "at least"),
        ("peer.a", None, "at least"),
        ("peer.a", "x" * 1001, "longer than 1,000 characters"),
        ("peer.a", "Bad\x1b[31m control characters here", "control character"),
    ],
)
def test_a_refused_concern_says_why_and_writes_nothing(platform, user, note, message):
    pid = in_care(platform)
    with pytest.raises(ConcernRefused, match=message):
        record(platform, pid, note, user=user)
    assert stored(platform) == 0 and audit.read(platform.engine).empty
    assert concern_rows(queue_of(platform), pid).empty


def test_a_patient_whose_care_team_row_ended_is_out_of_scope(platform):
    pid = platform.patient("GONE", enrolled_days_ago=40)
    platform.care(pid, 11, started_days_ago=40, ended_days_ago=1)
    with pytest.raises(ConcernRefused, match="No such patient in your care"):
        record(platform, pid)
    assert stored(platform) == 0
