"""GP follow-ups: validation, exactly-once, corrections with history, scope, concurrency."""

import threading
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from dashboard import audit, db, i18n
from dashboard.config import Settings
from dashboard.engine import make_engine
from dashboard.gp_followups import (
    FollowupForm,
    FollowupRefused,
    correct_followup,
    current_followups,
    enrolment_bound,
    history,
    log_followup,
    validate,
    withdraw_followup,
)
from dashboard.schema import patients
from dashboard.scope import load_viewer
from dashboard.state_tables import followups as table
from tests.conftest import PLATFORM_NOW as NOW
from tests.factory import Platform, followup_form

TODAY = NOW.date()
ENROLLED = TODAY - timedelta(days=30)


def form(**changes) -> FollowupForm:
    return followup_form(**{"held_on": TODAY, "module_position": 2, **changes})


def rows(platform: Platform) -> int:
    with platform.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(table))


# Validation matrix: (changes, field with an error or None). Quoting the rules.
CASES = [
    ({}, None),
    ({"held_on": TODAY + timedelta(days=1)}, "held_on"),  # not in the future
    ({"held_on": ENROLLED - timedelta(days=1)}, "held_on"),  # not before enrolment
    ({"held_on": ENROLLED}, None),
    ({"minutes": 0}, "minutes"),
    ({"minutes": 1}, None),
    ({"minutes": 120}, None),
    ({"minutes": 121}, "minutes"),
    ({"clinic_phq9": -1}, "clinic_phq9"),
    ({"clinic_phq9": 0}, None),
    ({"clinic_phq9": 27}, None),
    ({"clinic_phq9": 28}, "clinic_phq9"),
    ({"modality": "letter"}, "modality"),
    ({"modality": "video"}, None),
    ({"action": "discharge"}, "action"),
    ({"action": "pause"}, "pause_until"),
    ({"action": "pause", "pause_until": TODAY}, "pause_until"),
    ({"action": "pause", "pause_until": TODAY + timedelta(days=1)}, None),
    ({"action": "pause", "pause_until": TODAY + timedelta(weeks=12)}, None),  # max_pause_weeks (12) is the bound
    ({"action": "pause", "pause_until": TODAY + timedelta(weeks=12, days=1)}, "pause_until"),
    ({"action": "pause", "pause_until": TODAY.replace(year=TODAY.year + 10)}, "pause_until"),  # a typo in the year
    ({"pause_until": TODAY + timedelta(days=5)}, "pause_until"),  # only a pause has an end date
    ({"next_on": TODAY}, "next_on"),
    ({"next_on": TODAY + timedelta(days=1)}, None),
    ({"note": "x" * 1000}, None),
    ({"note": "x" * 1001}, "note"),
    ({"module_position": 0}, "module_position"),
    ({"module_position": 8}, None),
    ({"module_position": 9}, "module_position"),
]


@pytest.mark.parametrize("changes,field", CASES)
def test_validation_rules(changes, field):
    errors = validate(form(**changes), ENROLLED, TODAY, n_modules=8)
    assert list(errors) == ([field] if field else [])


def test_refusal_stores_nothing_and_names_the_field(platform):
    pid = platform.patient("G1", gp=3, enrolled_days_ago=30)
    gp = load_viewer(platform.engine, "gp.a")
    with pytest.raises(FollowupRefused) as refused:
        log_followup(platform.engine, platform.engine, gp, pid, form(minutes=500, next_on=TODAY), "k1", NOW)
    assert set(refused.value.errors) == {"minutes", "next_on"}
    assert "between 1 and 120" in refused.value.errors["minutes"]
    assert rows(platform) == 0 and audit.read(platform.engine).empty


@given(
    held=st.integers(-40, 5),
    minutes=st.integers(-5, 200),
    phq=st.one_of(st.none(), st.integers(-3, 30)),
    action=st.sampled_from(["continue", "step_up", "refer_on", "pause", "bogus"]),
    pause=st.one_of(st.none(), st.integers(-3, 30)),
    nxt=st.one_of(st.none(), st.integers(-3, 30)),
    note=st.text(max_size=1100),
    module=st.one_of(st.none(), st.integers(-1, 10)),
)
def test_every_input_is_stored_as_typed_or_refused_with_nothing_written(
    tmp_path_factory, held, minutes, phq, action, pause, nxt, note, module
):
    url = f"sqlite:///{tmp_path_factory.mktemp('prop')}/p.sqlite"
    platform = Platform(make_engine(url), NOW)
    db.upgrade(platform.engine)
    pid = platform.patient("H1", gp=3, enrolled_days_ago=30)
    held_on = TODAY + timedelta(days=held)
    f = FollowupForm(
        held_on=held_on,
        minutes=minutes,
        modality="phone",
        module_position=module,
        clinic_phq9=phq,
        action=action,
        pause_until=None if pause is None else held_on + timedelta(days=pause),
        next_on=None if nxt is None else held_on + timedelta(days=nxt),
        note=note,
    )
    expected_errors = validate(f, ENROLLED, TODAY, 8)
    gp = load_viewer(platform.engine, "gp.a")
    try:
        log_followup(platform.engine, platform.engine, gp, pid, f, "key", NOW)
    except FollowupRefused as exc:
        assert expected_errors and set(exc.errors) == set(expected_errors)
        assert rows(platform) == 0
        return
    assert not expected_errors
    stored = current_followups(platform.engine, [pid]).iloc[0]
    assert (stored["held_on"], stored["minutes"], stored["action"]) == (held_on, minutes, action)
    assert (None if pd_na(stored["clinic_phq9"]) else stored["clinic_phq9"]) == phq
    assert (stored["note"] or "") == note.strip()


def pd_na(value) -> bool:
    import pandas as pd

    return value is None or pd.isna(value)


def test_same_submission_twice_gives_one_row(platform):
    pid = platform.patient("I1", gp=3, enrolled_days_ago=30)
    gp = load_viewer(platform.engine, "gp.a")
    first = log_followup(platform.engine, platform.engine, gp, pid, form(), "form-123", NOW)
    again = log_followup(platform.engine, platform.engine, gp, pid, form(), "form-123", NOW)
    assert first == again and rows(platform) == 1
    assert audit.read(platform.engine)["action"].tolist() == ["followup"]


def test_corrections_keep_history_and_only_the_author_may_change(platform):
    pid = platform.patient("C1", gp=3, enrolled_days_ago=30)
    gp_a, gp_b = load_viewer(platform.engine, "gp.a"), load_viewer(platform.engine, "gp.b")
    entry = log_followup(platform.engine, platform.engine, gp_a, pid, form(minutes=10), "k1", NOW)
    correct_followup(platform.engine, platform.engine, gp_a, entry, form(minutes=15), "typed 10, it was 15", "k2", NOW)
    with pytest.raises(FollowupRefused, match="No such follow-up of yours"):
        correct_followup(platform.engine, platform.engine, gp_b, entry, form(minutes=20), "not mine", "k3", NOW)
    with pytest.raises(FollowupRefused, match="Say why"):
        correct_followup(platform.engine, platform.engine, gp_a, entry, form(minutes=20), "  ", "k4", NOW)
    assert current_followups(platform.engine, [pid])["minutes"].tolist() == [15]
    withdraw_followup(platform.engine, platform.engine, gp_a, entry, "logged for the wrong patient", "k5", NOW)
    assert current_followups(platform.engine, [pid]).empty
    h = history(platform.engine, entry)
    assert h["version"].tolist() == [1, 2, 3] and h["minutes"].tolist() == [10, 15, 15]
    assert h["change_reason"].tolist()[1:] == ["typed 10, it was 15", "logged for the wrong patient"]
    assert h["recorded_by"].tolist() == ["gp.a"] * 3
    assert audit.read(platform.engine)["action"].tolist()[::-1] == [
        "followup",
        "followup_correction",
        "followup_withdrawal",
    ]


def test_a_gp_cannot_log_for_another_gps_patient(platform):
    pid = platform.patient("S1", gp=4, enrolled_days_ago=30)
    with pytest.raises(FollowupRefused, match="No such patient in your caseload"):
        log_followup(platform.engine, platform.engine, load_viewer(platform.engine, "gp.a"), pid, form(), "k", NOW)
    with pytest.raises(FollowupRefused, match="Only GPs"):
        log_followup(platform.engine, platform.engine, load_viewer(platform.engine, "ther.a"), pid, form(), "k", NOW)
    assert rows(platform) == 0


def test_concurrent_writers_lose_and_double_nothing(platform, backend):
    pids = [platform.patient(f"W{i}", gp=3, enrolled_days_ago=30) for i in range(5)]
    gp = load_viewer(platform.engine, "gp.a")
    writers, per_writer = 20, 50
    failures: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for k in range(per_writer):
                key = f"writer{n}-{k}"
                log_followup(platform.engine, platform.engine, gp, pids[k % len(pids)], form(), key, NOW)
                if k % 10 == 0:  # a double click now and then
                    log_followup(platform.engine, platform.engine, gp, pids[k % len(pids)], form(), key, NOW)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:3]
    assert rows(platform) == writers * per_writer
    with platform.engine.connect() as conn:
        assert conn.scalar(select(func.count(func.distinct(table.c.idempotency_key)))) == writers * per_writer


def therapist_flags(platform: Platform, user: str, at: datetime = NOW) -> dict[int, dict[str, str]]:
    from dashboard.config import Settings
    from dashboard.triage import triage

    t = triage(platform.engine, platform.engine, load_viewer(platform.engine, user), at, Settings())
    out: dict[int, dict[str, str]] = {}
    for row in t.open_flags.itertuples():
        out.setdefault(row.patient_id, {})[row.flag] = row.reason
    return out


def test_gp_action_reaches_the_patients_therapist_with_action_and_note(platform):
    pid = platform.patient("L1", therapist=1, gp=3, enrolled_days_ago=10)
    other = platform.patient("L2", therapist=2, gp=3, enrolled_days_ago=10)
    gp = load_viewer(platform.engine, "gp.a")
    log_followup(
        platform.engine,
        platform.engine,
        gp,
        pid,
        form(action="step_up", note="Low mood worse; add sessions"),
        "a1",
        NOW,
    )
    log_followup(platform.engine, platform.engine, gp, other, form(action="continue"), "a2", NOW)
    mine = therapist_flags(platform, "ther.a")
    assert mine[pid]["gp_action"] == "GP Dr GP A asked on 20 Nov to step up care: “Low mood worse; add sessions”"
    assert "gp_action" not in therapist_flags(platform, "ther.b").get(other, {})
    assert pid not in therapist_flags(platform, "ther.b")


def test_pause_suppresses_inactive_and_no_contact_until_it_ends(platform):
    pid = platform.patient("P1", therapist=1, gp=3, enrolled_days_ago=40)
    platform.activity(pid, 20)
    platform.message(pid, 20, "to_patient", clinician=1)
    assert {"inactive", "no_contact"} <= set(therapist_flags(platform, "ther.a")[pid])
    gp = load_viewer(platform.engine, "gp.a")
    log_followup(
        platform.engine,
        platform.engine,
        gp,
        pid,
        form(action="pause", pause_until=TODAY + timedelta(days=5), note="Hospital stay"),
        "p1",
        NOW,
    )
    during = therapist_flags(platform, "ther.a")[pid]
    assert "inactive" not in during and "no_contact" not in during
    assert "until 25 Nov" in during["gp_action"]
    on_last_day = therapist_flags(platform, "ther.a", NOW + timedelta(days=5))[pid]
    assert "inactive" not in on_last_day
    after = therapist_flags(platform, "ther.a", NOW + timedelta(days=6))[pid]
    assert {"inactive", "no_contact"} <= set(after)


def test_a_pause_beyond_the_bound_is_refused_on_the_server_and_says_the_year(platform):
    pid = platform.patient("PB", enrolled_days_ago=40)
    gp = load_viewer(platform.engine, "gp.a")
    with pytest.raises(FollowupRefused) as refused:
        log_followup(
            platform.engine,
            platform.engine,
            gp,
            pid,
            form(action="pause", pause_until=TODAY.replace(year=2036)),
            "pb1",
            NOW,
        )
    assert refused.value.errors["pause_until"] == "A pause can last at most 12 weeks: until 12 Feb 2027 at the latest."
    assert rows(platform) == 0
    log_followup(
        platform.engine,
        platform.engine,
        gp,
        pid,
        form(action="pause", pause_until=TODAY + timedelta(days=20)),
        "pb2",
        NOW,
    )
    assert "until 10 Dec 2026" in therapist_flags(platform, "ther.a")[pid]["gp_action"]


def test_a_later_continue_ends_a_pause_from_any_gp(platform):
    pid = platform.patient("PC", therapist=1, gp=3, enrolled_days_ago=40)
    platform.activity(pid, 20)
    platform.message(pid, 20, "to_patient", clinician=1)
    log_followup(
        platform.engine,
        platform.engine,
        load_viewer(platform.engine, "gp.a"),
        pid,
        form(held_on=TODAY - timedelta(days=3), action="pause", pause_until=TODAY + timedelta(days=30)),
        "c1",
        NOW,
    )
    assert "inactive" not in therapist_flags(platform, "ther.a")[pid]
    with platform.engine.begin() as conn:  # the patient moved to another GP, who saw them today
        conn.execute(patients.update().where(patients.c.id == pid).values(gp_id=4))
    log_followup(
        platform.engine, platform.engine, load_viewer(platform.engine, "gp.b"), pid, form(action="continue"), "c2", NOW
    )
    assert {"inactive", "no_contact"} <= set(therapist_flags(platform, "ther.a")[pid])


def test_a_withdrawn_pause_holds_nothing(platform):
    pid = platform.patient("PW", therapist=1, gp=3, enrolled_days_ago=40)
    platform.activity(pid, 20)
    gp = load_viewer(platform.engine, "gp.a")
    entry = log_followup(
        platform.engine,
        platform.engine,
        gp,
        pid,
        form(action="pause", pause_until=TODAY + timedelta(days=30)),
        "w1",
        NOW,
    )
    withdraw_followup(platform.engine, platform.engine, gp, entry, "Logged for the wrong patient", "w2", NOW)
    assert "inactive" in therapist_flags(platform, "ther.a")[pid]


@pytest.mark.parametrize("enrolled", [None, "future"])
def test_a_follow_up_without_a_usable_enrolment_date_is_stored(db_url, enrolled):
    """No enrolment date once crashed the form (AttributeError); one in the future
    made every date "before enrolment". The bound is skipped, and the form says so."""
    from tests.baddata import BadPlatform

    platform = BadPlatform(make_engine(db_url), NOW)
    db.upgrade(platform.engine)
    pid = platform.patient("NE", enrolled_days_ago=10)
    platform.sql(
        "UPDATE patients SET enrolled_at = :e WHERE id = :i",
        i=pid,
        e=None if enrolled is None else NOW + timedelta(days=30),
    )
    log_followup(platform.engine, platform.engine, load_viewer(platform.engine, "gp.a"), pid, form(), "ne", NOW)
    assert rows(platform) == 1
    assert validate(form(), None, TODAY, 8) == {}
    assert enrolment_bound(None, TODAY) is None and enrolment_bound(TODAY + timedelta(days=1), TODAY) is None


def test_your_follow_ups_are_the_viewers_own(platform):
    from zoneinfo import ZoneInfo

    from dashboard.followups_due import due_list

    pid = platform.patient("MV", gp=3, enrolled_days_ago=40)
    log_followup(
        platform.engine,
        platform.engine,
        load_viewer(platform.engine, "gp.a"),
        pid,
        form(next_on=TODAY + timedelta(days=14)),
        "m1",
        NOW,
    )
    with platform.engine.begin() as conn:  # the patient changed GP
        conn.execute(patients.update().where(patients.c.id == pid).values(gp_id=4))
    new_gp = load_viewer(platform.engine, "gp.b")
    result = due_list(platform.engine, platform.engine, new_gp, NOW, Settings(), ZoneInfo("UTC"))
    assert result.followups.empty and result.planned.empty
    log_followup(platform.engine, platform.engine, new_gp, pid, form(), "m2", NOW)
    result = due_list(platform.engine, platform.engine, new_gp, NOW, Settings(), ZoneInfo("UTC"))
    assert result.followups["gp"].tolist() == ["gp.b"]


def test_the_gp_action_in_a_reason_speaks_the_language(platform):
    """The action is said in the therapist's language, as the form offers it (clinician_records.ACTIONS)."""
    pid = platform.patient("L1", therapist=1, gp=3, enrolled_days_ago=10)
    gp = load_viewer(platform.engine, "gp.a")
    log_followup(platform.engine, platform.engine, gp, pid, form(action="step_up"), "a1", NOW)
    with i18n.language("sv"):
        reason = therapist_flags(platform, "ther.a")[pid]["gp_action"]
        action = i18n.gettext("Step up care").lower()
    assert action != "step up care" and action in reason
