"""Handling several reasons of one patient in one action (issue 16, item 11), on both
backends: every reason is checked first against a fresh read, then all are stored or
none; a newer row in any reason refuses the whole batch and names that reason."""

import pytest
from sqlalchemy import func, select

from dashboard import audit
from dashboard.acks import NEWER_ROW, AckRefused, Choice, NewerEvidence, acknowledge_batch, evidence_keys
from dashboard.config import Settings
from dashboard.scope import load_viewer
from dashboard.state_tables import acknowledgements
from dashboard.triage import triage
from tests.conftest import PLATFORM_NOW as NOW
from tests.factory import Platform

SETTINGS = Settings()
RISK_NOTE = "Phoned the patient; safety plan reviewed together."


def open_rows(platform: Platform, pid: int):
    t = triage(platform.engine, platform.engine, load_viewer(platform.engine, "ther.a"), NOW, SETTINGS)
    return t.open_flags[t.open_flags["patient_id"] == pid]


def screen(platform: Platform, pid: int) -> dict[str, frozenset[str]]:
    """What the form showed: each open reason's evidence keys."""
    rows = open_rows(platform, pid)
    return {k: frozenset(evidence_keys(g)) for k, g in rows.groupby("flag")}


def batch(platform: Platform, pid: int, choices: list[Choice], key: str | None = None, user: str = "ther.a"):
    viewer = load_viewer(platform.engine, user)
    return acknowledge_batch(platform.engine, platform.engine, viewer, pid, choices, NOW, SETTINGS, key)


def stored(platform: Platform) -> int:
    with platform.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(acknowledgements))


def four_reasons(platform: Platform) -> int:
    """Risk answer, awaiting reply, no contact and questionnaire overdue: four reasons at once."""
    pid = platform.patient("FOUR", enrolled_days_ago=40)
    platform.phq9(pid, 20, 26, item9=2)
    platform.activity(pid, 20)
    platform.message(pid, 3)
    return pid


def test_several_reasons_are_stored_together_with_their_audit_rows(platform):
    pid = four_reasons(platform)
    seen = screen(platform, pid)
    assert {"risk", "awaiting_reply", "questionnaire_overdue", "no_contact"} <= set(seen)
    chosen = [Choice(k, v, RISK_NOTE if k == "risk" else "Messaged; agreed a plan.") for k, v in seen.items()]
    ids = batch(platform, pid, chosen)
    assert set(ids) == set(seen) and stored(platform) == len(seen)
    assert open_rows(platform, pid).empty
    trail = audit.read(platform.engine, actor="ther.a")
    assert sorted(trail.loc[trail["action"] == "acknowledge", "patient_id"]) == [pid] * len(seen)


def test_a_newer_row_in_one_reason_refuses_the_whole_batch_and_names_it(platform):
    pid = four_reasons(platform)
    seen = screen(platform, pid)  # the form as drawn
    platform.message(pid, hours_ago=1)  # a second message arrives while it is open
    chosen = [Choice(k, v, RISK_NOTE if k == "risk" else None) for k, v in seen.items()]
    with pytest.raises(NewerEvidence) as refused:
        batch(platform, pid, chosen)
    assert "Newer than your screen: Awaiting reply." in str(refused.value)
    assert "Risk answer" not in str(refused.value).split("Newer than your screen:")[1]
    assert stored(platform) == 0  # not even the reasons that had nothing new
    assert set(open_rows(platform, pid)["flag"]) == set(seen)


def test_a_newer_risk_answer_says_so_first(platform):
    pid = four_reasons(platform)
    seen = screen(platform, pid)
    platform.phq9(pid, 0.01, 27, item9=3)
    with pytest.raises(NewerEvidence, match=NEWER_ROW) as refused:
        batch(
            platform, pid, [Choice("risk", seen["risk"], RISK_NOTE), Choice("awaiting_reply", seen["awaiting_reply"])]
        )
    assert "Newer than your screen: Risk answer." in str(refused.value)
    assert stored(platform) == 0


def test_a_risk_reason_is_not_covered_by_the_shared_note(platform):
    """The shared note goes to the other reasons; risk needs its own, or nothing is stored."""
    pid = four_reasons(platform)
    seen = screen(platform, pid)
    with pytest.raises(AckRefused, match="needs a note of at least 10 characters"):
        batch(
            platform,
            pid,
            [
                Choice("risk", seen["risk"], ""),
                Choice("questionnaire_overdue", seen["questionnaire_overdue"], "Messaged."),
            ],
        )
    assert stored(platform) == 0
    batch(
        platform, pid, [Choice("questionnaire_overdue", seen["questionnaire_overdue"], "Messaged.")]
    )  # without risk: stored
    assert set(open_rows(platform, pid)["flag"]) == set(seen) - {"questionnaire_overdue"}


def test_a_double_submit_stores_the_batch_once(platform):
    pid = four_reasons(platform)
    seen = screen(platform, pid)
    chosen = [Choice("awaiting_reply", seen["awaiting_reply"]), Choice("no_contact", seen["no_contact"])]
    first = batch(platform, pid, chosen, key="batch-1")
    assert batch(platform, pid, chosen, key="batch-1") == first
    assert stored(platform) == 2


def test_the_same_form_sent_again_with_other_ticks_never_stores_half_a_batch(platform):
    """A replayed idempotency key with a different set of reasons: the ones stored the
    first time are not answered as if the whole new batch were stored."""
    pid = four_reasons(platform)
    seen = screen(platform, pid)
    batch(
        platform,
        pid,
        [Choice("awaiting_reply", seen["awaiting_reply"]), Choice("no_contact", seen["no_contact"])],
        key="form-1",
    )
    other = [
        Choice("awaiting_reply", seen["awaiting_reply"]),
        Choice("questionnaire_overdue", seen["questionnaire_overdue"]),
    ]
    with pytest.raises(AckRefused, match="already submitted with other reasons"):
        batch(platform, pid, other, key="form-1")
    assert stored(platform) == 2 and "questionnaire_overdue" in set(open_rows(platform, pid)["flag"])


def test_a_reason_a_colleague_handled_meanwhile_refuses_the_batch(platform):
    pid = four_reasons(platform)
    seen = screen(platform, pid)
    batch(platform, pid, [Choice("questionnaire_overdue", seen["questionnaire_overdue"])], user="lead.a")
    with pytest.raises(AckRefused, match="No longer open: Questionnaire overdue"):
        batch(
            platform,
            pid,
            [Choice("questionnaire_overdue", seen["questionnaire_overdue"]), Choice("no_contact", seen["no_contact"])],
        )
    assert stored(platform) == 1


def test_nothing_ticked_and_a_gp_are_refused(platform):
    pid = four_reasons(platform)
    seen = screen(platform, pid)
    with pytest.raises(AckRefused, match="Tick at least one reason"):
        batch(platform, pid, [])
    with pytest.raises(AckRefused, match="Only therapists and team leads"):
        batch(platform, pid, [Choice("questionnaire_overdue", seen["questionnaire_overdue"])], user="gp.a")
    assert stored(platform) == 0
