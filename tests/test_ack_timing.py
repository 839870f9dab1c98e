"""Acknowledgements under real timing (issue 14, findings 1 and 2), on both backends.

A screen is a snapshot: an acknowledgement covers the platform rows the screen
showed, never a row that arrived while the form was open, reached a lagging
replica late, or was back-filled with an older timestamp. Escalation runs from
the earliest answer nobody has handled, and every list ranks risk the same way.
"""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from dashboard import audit
from dashboard.acks import NEWER_ROW, AckRefused, Choice, NewerEvidence, acknowledge_batch, evidence_keys, withdraw
from dashboard.config import Settings
from dashboard.scope import load_viewer
from dashboard.state_tables import acknowledgements
from dashboard.triage import triage
from tests.conftest import PLATFORM_NOW as NOW  # Friday 09:00
from tests.factory import Platform

SETTINGS = Settings()
NOTE = "Phoned the patient; safety plan reviewed together."


def days_before(at: datetime, then: datetime) -> float:
    return (at - then).total_seconds() / 86400


def risk_rows(platform: Platform, pid: int, at: datetime = NOW, user: str = "ther.a"):
    t = triage(platform.engine, platform.engine, load_viewer(platform.engine, user), at, SETTINGS)
    return t.open_flags[(t.open_flags["patient_id"] == pid) & (t.open_flags["flag"] == "risk")]


def ack_risk(platform: Platform, pid: int, seen: list[str], at: datetime = NOW, user: str = "ther.a", key=None) -> int:
    viewer, choice = load_viewer(platform.engine, user), Choice("risk", frozenset(seen), NOTE)
    return acknowledge_batch(platform.engine, platform.engine, viewer, pid, [choice], at, SETTINGS, key)["risk"]


def stored(platform: Platform) -> int:
    with platform.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(acknowledgements))


def test_tidy_order_the_acknowledged_answer_leaves_the_queue(platform):
    pid = platform.patient("R1", enrolled_days_ago=10)
    platform.phq9(pid, 2, 12, item9=1)
    seen = evidence_keys(risk_rows(platform, pid))
    ack_risk(platform, pid, seen)
    assert risk_rows(platform, pid).empty


def test_a_new_answer_while_the_form_is_open_is_refused_and_shown(platform):
    """Item 9 = 1 two days ago; the form opens at 09:00; an answer of 3 arrives at
    09:02; the 09:05 submission about the 1 must not cover the 3."""
    pid = platform.patient("R2", enrolled_days_ago=10)
    platform.phq9(pid, 2, 12, item9=1)
    seen = evidence_keys(risk_rows(platform, pid))  # the form as drawn at 09:00
    platform.phq9(pid, -2 / 1440, 20, item9=3)  # 09:02
    at = NOW + timedelta(minutes=5)
    with pytest.raises(NewerEvidence, match=NEWER_ROW):
        ack_risk(platform, pid, seen, at)
    assert stored(platform) == 0
    now_open = risk_rows(platform, pid, at)
    assert len(now_open) == 1 and "answered 3" in now_open.iloc[0]["reason"]
    assert now_open.iloc[0]["priority"] == 0  # item 9 of 3 is high priority (clinical-reference 1.5)


def test_a_back_filled_older_answer_reopens_the_reason(platform):
    """An answer that reaches the (lagging) database after the acknowledgement, stamped
    earlier than the acknowledged one, is still a row nobody saw."""
    pid = platform.patient("R3", enrolled_days_ago=10)
    platform.phq9(pid, 1, 12, item9=1)
    ack_risk(platform, pid, evidence_keys(risk_rows(platform, pid)))
    assert risk_rows(platform, pid).empty
    platform.phq9(pid, 3, 22, item9=2)  # administered three days ago, arrived now
    reopened = risk_rows(platform, pid)
    assert len(reopened) == 1
    row = reopened.iloc[0]
    assert row["since"] == platform.ago(3) and "answered 2" in row["reason"] and row["priority"] == 0
    assert bool(row["escalated"])  # waiting three days: past one working day


def test_a_replica_that_lags_at_submit_covers_only_what_it_showed(platform):
    """The fresh read on submit may itself lag: then the acknowledgement is stored for
    the rows shown, and the row that arrives afterwards opens the reason again."""
    pid = platform.patient("R4", enrolled_days_ago=10)
    platform.phq9(pid, 1, 12, item9=1)
    ack_risk(platform, pid, evidence_keys(risk_rows(platform, pid)))
    platform.phq9(pid, 0.5, 12, item9=1)
    assert len(risk_rows(platform, pid)) == 1


def test_two_clinicians_at_once_store_one_acknowledgement(platform):
    pid = platform.patient("R5", enrolled_days_ago=10)
    platform.phq9(pid, 1, 12, item9=1)
    seen = evidence_keys(risk_rows(platform, pid))
    ack_risk(platform, pid, seen, user="ther.a")
    with pytest.raises(AckRefused, match="no longer open"):
        ack_risk(platform, pid, seen, user="lead.a")
    assert stored(platform) == 1


def test_a_double_submit_with_one_idempotency_key_stores_once(platform):
    pid = platform.patient("R6", enrolled_days_ago=10)
    platform.phq9(pid, 1, 12, item9=1)
    seen = evidence_keys(risk_rows(platform, pid))
    first = ack_risk(platform, pid, seen, key="k-1")
    assert ack_risk(platform, pid, seen, key="k-1") == first
    assert stored(platform) == 1
    assert audit.read(platform.engine, actor="ther.a")["action"].tolist() == ["acknowledge"]


def test_every_reason_follows_the_rule_a_new_message_while_the_form_is_open(platform):
    pid = platform.patient("M1", enrolled_days_ago=10)
    platform.message(pid, 9, "to_patient", clinician=1)
    platform.message(pid, 3, "from_patient")
    viewer = load_viewer(platform.engine, "ther.a")
    t = triage(platform.engine, platform.engine, viewer, NOW, SETTINGS)
    seen = evidence_keys(t.open_flags[t.open_flags["flag"] == "awaiting_reply"])
    platform.message(pid, 0.001, "from_patient")
    reply = Choice("awaiting_reply", frozenset(seen))
    with pytest.raises(NewerEvidence, match="review it first"):
        acknowledge_batch(platform.engine, platform.engine, viewer, pid, [reply], NOW, SETTINGS)
    assert stored(platform) == 0


def test_withdrawal_reopens_the_reason_with_its_original_since(platform):
    pid = platform.patient("W1", enrolled_days_ago=10)
    platform.phq9(pid, 2, 12, item9=1)
    before = risk_rows(platform, pid).iloc[0]
    ack_id = ack_risk(platform, pid, evidence_keys(risk_rows(platform, pid)))
    with pytest.raises(AckRefused, match="No such acknowledgement"):  # another caseload: not even there
        withdraw(platform.engine, platform.engine, load_viewer(platform.engine, "ther.b"), ack_id, "wrong", NOW)
    with pytest.raises(AckRefused, match="Say why"):
        withdraw(platform.engine, platform.engine, load_viewer(platform.engine, "ther.a"), ack_id, " ", NOW)
    withdraw(
        platform.engine,
        platform.engine,
        load_viewer(platform.engine, "lead.a"),
        ack_id,
        "Acknowledged on the wrong patient's record",
        NOW,
    )
    again = risk_rows(platform, pid)
    assert len(again) == 1 and again.iloc[0]["since"] == before["since"]
    with pytest.raises(AckRefused, match="already withdrawn"):
        withdraw(platform.engine, platform.engine, load_viewer(platform.engine, "ther.a"), ack_id, "twice", NOW)
    assert "acknowledgement_withdrawn" in audit.read(platform.engine, actor="lead.a")["action"].tolist()
    assert stored(platform) == 1  # appended, never deleted


def test_an_acknowledgement_stored_before_evidence_covers_up_to_its_trigger(platform):
    """Rows from before revision 0005 have no evidence: they keep their old rule and
    cover the answers up to the trigger they were made for, never a newer one."""
    pid = platform.patient("L1", enrolled_days_ago=10)
    platform.phq9(pid, 3, 12, item9=1)
    with platform.engine.begin() as conn:
        conn.execute(
            insert(acknowledgements).values(
                patient_id=pid,
                flag="risk",
                trigger_at=platform.ago(3),
                acked_at=platform.ago(2),
                actor="ther.a",
                note=NOTE,
            )
        )
    assert risk_rows(platform, pid).empty
    platform.phq9(pid, 1, 12, item9=1)
    assert risk_rows(platform, pid).iloc[0]["since"] == platform.ago(1)


# ---------------------------------------------------------------- finding 2: escalation and order


def test_escalation_runs_from_the_earliest_unhandled_answer(platform):
    """Item 9 = 2 unacknowledged since Wednesday 09:00, then 1 on Friday 07:48: on
    Friday 09:00 the patient is still escalated, dated from Wednesday."""
    wednesday, friday_early = datetime(2026, 11, 18, 9, 0), datetime(2026, 11, 20, 7, 48)
    pid = platform.patient("E1", enrolled_days_ago=20)
    platform.phq9(pid, days_before(NOW, wednesday), 18, item9=2)
    platform.phq9(pid, days_before(NOW, friday_early), 12, item9=1)
    row = risk_rows(platform, pid, user="lead.a").iloc[0]
    assert row["since"] == wednesday and bool(row["escalated"])
    assert row["priority"] == 0 and "(2 answers above 0, highest 2)" in row["reason"]


def test_a_handled_two_and_a_new_one_grade_by_the_open_answer(platform):
    pid = platform.patient("E2", enrolled_days_ago=20)
    platform.phq9(pid, 4, 18, item9=2)
    ack_risk(platform, pid, evidence_keys(risk_rows(platform, pid)))
    platform.phq9(pid, 0.1, 12, item9=1)
    row = risk_rows(platform, pid).iloc[0]
    assert row["priority"] != 0 and row["since"] == platform.ago(0.1)
    assert "answered 1" in row["reason"] and "highest this episode 2" in row["reason"]


def _three_risks(platform: Platform) -> dict[str, int]:
    """A: item 9 = 1, escalated (three days); B: item 9 = 2, not yet escalated (an hour);
    C: item 9 = 1, not escalated (an hour, but waited longer than B)."""
    ids = {c: platform.patient(c, enrolled_days_ago=20) for c in ("A", "B", "C")}
    platform.phq9(ids["A"], 3, 12, item9=1)
    platform.phq9(ids["B"], 1 / 24, 20, item9=2)
    platform.phq9(ids["C"], 1.5 / 24, 12, item9=1)
    return ids


@pytest.mark.parametrize("user", ["ther.a", "lead.a"])
def test_one_order_grade_then_escalated_then_waiting(platform, user):
    _three_risks(platform)
    t = triage(platform.engine, platform.engine, load_viewer(platform.engine, user), NOW, SETTINGS)
    assert t.queue["code"].tolist() == ["B", "A", "C"]


def test_the_gp_due_list_ranks_risk_the_same_way(platform):
    from zoneinfo import ZoneInfo

    from dashboard.followups_due import due_list

    ids = _three_risks(platform)
    for pid in ids.values():
        platform.module(pid, "depression", 1, 15, completed_days_ago=10)
    waiting = platform.patient("D", enrolled_days_ago=20)
    platform.module(waiting, "depression", 1, 19, completed_days_ago=18)  # the longest wait, no risk
    due = due_list(
        platform.engine, platform.engine, load_viewer(platform.engine, "gp.a"), NOW, SETTINGS, ZoneInfo("UTC")
    ).due
    assert due["code"].tolist() == ["B", "A", "C", "D"]


def test_my_patients_default_order_is_the_queue_order(platform):
    from dashboard.my_patients import my_patients
    from dashboard.triage import ranked

    _three_risks(platform)
    platform.patient("0-NOTHING", enrolled_days_ago=1)
    viewer = load_viewer(platform.engine, "ther.a")
    rows = my_patients(platform.engine, viewer, NOW, SETTINGS)
    open_flags = triage(platform.engine, platform.engine, viewer, NOW, SETTINGS).open_flags
    assert ranked(rows, open_flags)["code"].tolist() == ["B", "A", "C", "0-NOTHING"]
