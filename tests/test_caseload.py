"""Caseload figures on hand-built cases whose answers are worked out by hand
(both backends), and the outcome aggregates against clinical-reference 3.4's
published counts. A randomised comparison with plain pandas lives in
test_caseload_oracle.py."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from dashboard import caseload as cl
from dashboard import db
from dashboard.config import Settings, parse_settings
from dashboard.engine import make_engine
from dashboard.gp_followups import FollowupForm, log_followup
from dashboard.report import follow_up_rows
from dashboard.scope import load_viewer
from tests.factory import Platform

NOW = datetime(2026, 3, 10, 12, 0, 0)
UTC = ZoneInfo("UTC")
PERIOD = cl.Filters(NOW - timedelta(days=90), NOW)


@pytest.fixture
def platform(db_url) -> Platform:
    p = Platform(make_engine(db_url), NOW)
    db.upgrade(p.engine)
    return p


def lead(platform: Platform, username: str = "lead.a"):
    return load_viewer(platform.engine, username)


def run(platform: Platform, fn, *args, f: cl.Filters = PERIOD, user: str = "lead.a"):
    with platform.engine.connect() as conn:
        return fn(conn, lead(platform, user), f, *args)


# ---------------------------------------------------------------- clinical-reference 3.4


def synthetic(finished: int, not_at_caseness: int, **true_counts: int) -> pd.DataFrame:
    """Paired finished courses: the first ``not_at_caseness`` start below caseness; each
    outcome column is true for the first n courses at caseness (improvement and
    deterioration may also be true for courses not at caseness; here they are not)."""
    at_case = finished - not_at_caseness
    frame = pd.DataFrame({"paired": [True] * finished, "case_start": [False] * not_at_caseness + [True] * at_case})
    for col in cl.OUTCOME_RATES:
        n = true_counts.get(col, 0)
        frame[col] = (
            [None] * not_at_caseness + [i < n for i in range(at_case)]
            if col in ("recovery", "reliable_recovery")
            else [False] * not_at_caseness + [i < n for i in range(at_case)]
        )
    return frame


@pytest.mark.parametrize(
    "finished, not_case, rate, numerator, expected",
    [
        # [S8] June 2020: 27,884 / (57,060 - 3,200) = 51.8 %
        (57060, 3200, "recovery", 27884, 0.518),
        # [S8] Dec 2020: 23,291 / (48,111 - 2,957) = 51.6 %
        (48111, 2957, "recovery", 23291, 0.516),
        # [S8] June 2020: 39,417 / 57,060 = 69.1 % (all finished courses)
        (57060, 3200, "reliable_improvement", 39417, 0.691),
        # [S19] April 2025: 26,457 / 54,672 = 48.4 % (finished courses that started at caseness)
        (54672, 0, "reliable_recovery", 26457, 0.484),
    ],
)
def test_outcome_rates_reproduce_the_published_national_figures(finished, not_case, rate, numerator, expected):
    got = cl.outcome_rates(synthetic(finished, not_case, **{rate: numerator}), min_cell=5)[rate]
    denominator = finished - not_case if rate in ("recovery", "reliable_recovery") else finished
    assert (got.numerator, got.denominator) == (numerator, denominator)
    assert round(got.rate, 3) == expected


def test_reliable_deterioration_is_over_all_finished_courses():
    got = cl.outcome_rates(synthetic(100, 10, reliable_deterioration=7), min_cell=5)["reliable_deterioration"]
    assert (got.numerator, got.denominator, got.rate) == (7, 100, 0.07)


@pytest.mark.parametrize("denominator, shown", [(0, None), (1, None), (4, None), (5, 0.6)])
def test_small_cells_are_suppressed_below_five(denominator, shown):
    rate = cl.Rate.of(min(3, denominator), denominator, min_cell=5)
    assert rate.rate == shown and rate.denominator == denominator  # the counts stay visible


# ---------------------------------------------------------------- finished courses and outcomes


def finished(
    platform: Platform,
    code: str,
    phq: tuple[int, int],
    gad: tuple[int, int] | None,
    modules: int = 2,
    status: str = "completed",
    therapist: int | None = 1,
    ended_days_ago: float = 10.5,
) -> int:
    pid = platform.patient(
        code, therapist=therapist, enrolled_days_ago=80.5, status=status, ended_days_ago=ended_days_ago
    )
    for k in range(1, modules + 1):
        platform.module(pid, "depression", k, 80 - 7 * k, 75 - 7 * k)
    platform.phq9(pid, 79.5, phq[0])
    platform.phq9(pid, 12.5, phq[1])
    if gad is not None:
        platform.gad7(pid, 79.5, gad[0])
        platform.gad7(pid, 12.5, gad[1])
    return pid


# clinical-reference section 8, outcome-rule vectors
VECTORS = [
    (
        "V1",
        (15, 8),
        (12, 6),
        dict(recovery=True, reliable_improvement=True, reliable_recovery=True, reliable_deterioration=False),
    ),
    (
        "V2",
        (15, 10),
        (12, 7),
        dict(recovery=False, reliable_improvement=True, reliable_recovery=False, reliable_deterioration=False),
    ),
    (
        "V3",
        (12, 9),
        (9, 7),
        dict(recovery=True, reliable_improvement=False, reliable_recovery=False, reliable_deterioration=False),
    ),
    (
        "V4",
        (8, 5),
        (6, 4),
        dict(recovery=None, reliable_improvement=False, reliable_recovery=None, reliable_deterioration=False),
    ),
    (
        "V5",
        (14, 7),
        (8, 12),
        dict(recovery=False, reliable_improvement=False, reliable_recovery=False, reliable_deterioration=True),
    ),
    (
        "V6",
        (11, 17),
        (9, 9),
        dict(recovery=False, reliable_improvement=False, reliable_recovery=False, reliable_deterioration=True),
    ),
]


def test_finished_courses_follow_the_section_8_vectors(platform):
    ids = {code: finished(platform, code, phq, gad) for code, phq, gad, _ in VECTORS}
    episodes = run(platform, cl.finished_episodes, Settings(), PERIOD.start).set_index("patient_id")
    for code, _phq, _gad, expected in VECTORS:
        got = episodes.loc[ids[code]]
        assert got["paired"], code
        assert {k: got[k] for k in expected} == expected, code
    rates = cl.outcome_rates(episodes.reset_index(), min_cell=1)
    # five of six at caseness at the start (V4 is not): recovery 2/5 (V1, V3), reliable recovery 1/5 (V1)
    assert (rates["recovery"].numerator, rates["recovery"].denominator) == (2, 5)
    assert (rates["reliable_recovery"].numerator, rates["reliable_recovery"].denominator) == (1, 5)
    assert (rates["reliable_improvement"].numerator, rates["reliable_improvement"].denominator) == (2, 6)
    assert (rates["reliable_deterioration"].numerator, rates["reliable_deterioration"].denominator) == (2, 6)


def test_a_finished_course_needs_two_sessions_and_paired_scores(platform):
    one = finished(platform, "ONE-MODULE", (15, 5), (12, 3), modules=1)
    unpaired = finished(platform, "NO-GAD", (15, 5), None)
    withdrawn = finished(platform, "WITHDRAWN", (15, 5), (12, 3), status="withdrawn")
    earlier = finished(platform, "ENDED-BEFORE", (15, 5), (12, 3), ended_days_ago=95)
    active = platform.patient("IN-TREATMENT", enrolled_days_ago=60)
    platform.module(active, "depression", 1, 59, 52)
    platform.module(active, "depression", 2, 52, 45)
    platform.phq9(active, 59, 20)
    platform.phq9(active, 1, 2)
    episodes = run(platform, cl.finished_episodes, Settings(), PERIOD.start).set_index("patient_id")
    assert one not in episodes.index  # one completed module is one session (clinical-reference 3.1)
    assert earlier not in episodes.index and active not in episodes.index
    assert not episodes.loc[unpaired, "paired"]  # counted as "no paired scores", left out of the rates
    assert episodes.loc[withdrawn, "paired"] and episodes.loc[withdrawn, "recovery"]
    # a clinician message as the session event: two messages make ONE-MODULE a finished course
    for days in (70, 60):
        platform.message(one, days, "to_patient", clinician=1)
    by_message = run(
        platform, cl.finished_episodes, parse_settings({"treatment_session_event": "clinician_message"}), PERIOD.start
    )
    assert set(by_message["patient_id"]) == {one}


def test_outcome_table_keeps_patients_in_treatment_apart(platform):
    for i in range(5):
        finished(platform, f"DONE-{i}", (15, 5), (12, 3))
    finished(platform, "SMALL-B", (15, 5), (12, 3), therapist=2)
    active = platform.patient("IN-TREATMENT", therapist=2, enrolled_days_ago=30)
    platform.phq9(active, 29, 20)
    result = cl.caseload(platform.engine, platform.engine, lead(platform), PERIOD, Settings(), UTC)
    depression = result.outcomes.set_index("name").loc["Depression"]
    assert (depression["finished"], depression["in_progress"]) == (6, 1)
    assert (depression["recovery_numerator"], depression["recovery_denominator"], depression["recovery_rate"]) == (
        6,
        6,
        1.0,
    )
    by_therapist = result.outcomes_by_therapist.set_index("name")
    assert by_therapist.loc["Therapist A", "recovery_rate"] == 1.0
    b = by_therapist.loc["Therapist B"]
    assert (b["finished"], b["in_progress"], b["recovery_denominator"]) == (1, 1, 1)
    assert pd.isna(b["recovery_rate"])  # one course: "too few"


# ---------------------------------------------------------------- headline pieces


def test_median_reply_time_counts_only_answered_messages(platform):
    pid = platform.patient("MSG", enrolled_days_ago=60)
    for sent, reply in ((20, 2), (15, 4), (10, 30)):
        platform.message(pid, sent, "from_patient")
        platform.message(pid, sent, "to_patient", clinician=1, hours_ago=-reply)
    platform.message(pid, 5, "from_patient")  # still open
    platform.message(pid, 4, "to_patient", clinician=None)  # an automated reminder is not a reply
    by, overall = run(platform, cl.reply_times)
    assert overall == {"messages": 4, "answered": 3, "median_reply_hours": pytest.approx(4.0, abs=1e-3)}
    row = by.set_index("therapist_id").loc[1]
    assert (row["messages"], row["answered"]) == (4, 3)


def test_feedback_within_48_hours_at_the_boundary(platform):
    pid = platform.patient("FB", enrolled_days_ago=60)
    platform.module(pid, "depression", 1, 50, 40)
    platform.message(pid, 38, "to_patient", clinician=1)  # exactly 48 h: in time
    platform.module(pid, "depression", 2, 40, 30)
    platform.message(pid, 30, "to_patient", clinician=1, hours_ago=-49)  # 49 h: late
    platform.module(pid, "depression", 3, 30, 20)  # never answered
    platform.module(pid, "depression", 4, 20, 1)  # completed a day ago: not judged yet
    _by, overall = run(platform, cl.feedback_within, 48)
    assert overall == {"completions": 3, "in_time": 1, "pending": 1}


def test_headline_counts_active_and_contacted_patients_against_the_previous_period(platform):
    a = platform.patient("ACTIVE", enrolled_days_ago=200)
    platform.activity(a, 3)
    platform.message(a, 2, "to_patient", clinician=1)
    quiet = platform.patient("QUIET", enrolled_days_ago=200)
    platform.activity(quiet, 100)
    platform.patient("NEW", enrolled_days_ago=10)  # enrolled in the period: open now, not before
    platform.patient("OTHER-TEAM", team=2, therapist=7, enrolled_days_ago=200)
    settings = Settings()
    with platform.engine.connect() as conn:
        now = cl.period_inputs(conn, lead(platform), PERIOD, settings)
        before = cl.period_inputs(conn, lead(platform), PERIOD.previous, settings)
    table = cl.headline(now, before, None, settings).set_index("figure")
    assert table.loc["open_episodes", ["numerator", "previous"]].tolist() == [3, 2]
    assert table.loc["active_recent", ["numerator", "denominator"]].tolist() == [1, 3]
    assert table.loc["contact_recent", ["numerator", "denominator"]].tolist() == [1, 3]


# ---------------------------------------------------------------- adherence


def test_funnel_censors_patients_who_could_not_have_reached_a_module_yet(platform):
    # module k counts a patient once the episode ended or k x 7 + 28 days have passed
    young = platform.patient("YOUNG", enrolled_days_ago=34.5)  # not yet counted even for module 1 (35 days)
    platform.module(young, "depression", 1, 30)
    one = platform.patient("ONE", enrolled_days_ago=41.5)  # counted for module 1 only (module 2 needs 42)
    ended = platform.patient("ENDED", enrolled_days_ago=20, status="withdrawn", ended_days_ago=5)  # counted for all 8
    platform.module(ended, "depression", 1, 19)
    stages = run(platform, cl.funnel, Settings()).set_index("position")
    assert stages.loc[1, ["eligible", "started"]].tolist() == [2, 1]  # ONE did not start, ENDED did
    assert stages.loc[2, ["eligible", "started"]].tolist() == [1, 0]
    assert stages.loc[8, "eligible"] == 1 and one  # only ENDED


def test_dropout_completion_and_lapsed(platform):
    full = platform.patient("FULL", enrolled_days_ago=100, status="completed", ended_days_ago=20)
    for k in range(1, 9):
        platform.module(full, "depression", k, 99 - 8 * k, 95 - 8 * k)
    early = platform.patient("EARLY", enrolled_days_ago=100, status="withdrawn", ended_days_ago=50)
    platform.module(early, "depression", 1, 95, 90)
    platform.module(early, "depression", 2, 88)
    lapsed = platform.patient("LAPSED", therapist=2, enrolled_days_ago=80)
    platform.module(lapsed, "depression", 1, 75, 70)
    platform.activity(lapsed, 29)  # 29 days ago: beyond the 28-day drop-out threshold
    busy = platform.patient("BUSY", enrolled_days_ago=80)
    platform.activity(busy, 27)
    per_programme, by_module = run(platform, cl.adherence, Settings())
    row = per_programme.set_index("program_id").loc[1]
    assert row[["enrolled", "ended", "full_completers", "withdrawn_early", "lapsed_early", "dropouts"]].tolist() == [
        4,
        2,
        1,
        1,
        1,
        2,
    ]
    assert dict(zip(by_module["position"], by_module["dropouts"])) == {k: int(k in (1, 2)) for k in range(1, 9)}
    codes = run(platform, cl.lapsed_patients, Settings())
    assert list(codes["code"]) == ["LAPSED"] and codes["days_inactive"].iloc[0] == 29


# clinical-reference 5.1: "dropout | ended (`withdrawn`) or inactive beyond the inactivity
# threshold before completing". Each case: (code, programme, modules started (completed if
# the second number is set), status, last activity days ago). A drop-out counts at the last
# module they started; the rate is over the patients who started that module.
DROPOUT_CASES = [
    ("FULL", "depression", [(k, True) for k in range(1, 9)], "completed", None),  # completed all 8: never a drop-out
    ("W-AT-2", "depression", [(1, True), (2, False)], "withdrawn", None),  # withdrawn: drop-out at 2
    ("L-AT-1", "depression", [(1, True)], "active", 29),  # 29 days idle, beyond 28: drop-out at 1
    ("BUSY-1", "depression", [(1, False)], "active", 27),  # 27 days: still in treatment
    ("W-NONE", "depression", [], "withdrawn", None),  # withdrew before starting a module
    ("A-AT-1", "anxiety", [(1, False)], "withdrawn", None),
    ("A-GO-1", "anxiety", [(1, True), (2, True)], "active", 1),
]
# (programme id, module) -> (started, completed, drop-outs); a module with no drop-out is listed too
DROPOUT_EXPECTED = {
    (1, 1): (4, 3, 1),  # FULL, W-AT-2, L-AT-1, BUSY-1 started; BUSY-1 has not completed; L-AT-1 dropped out
    (1, 2): (2, 1, 1),  # FULL completed, W-AT-2 dropped out: 1 of 2 who started module 2
    (1, 3): (1, 1, 0),  # only FULL: zero drop-out, still listed
    **{(1, k): (1, 1, 0) for k in range(4, 9)},
    (2, 1): (2, 1, 1),  # anxiety: A-AT-1 dropped out at 1 of 2 who started
    (2, 2): (1, 1, 0),
    **{(2, k): (0, 0, 0) for k in range(3, 8)},  # nobody started yet: listed, with no rate
}


def test_dropout_by_module_counts_every_module_over_those_who_started_it(platform):
    for code, programme, started, status, idle in DROPOUT_CASES:
        ended = 20 if status != "active" else None
        pid = platform.patient(code, program=programme, enrolled_days_ago=100, status=status, ended_days_ago=ended)
        for k, done in started:
            platform.module(pid, programme, k, 99 - 8 * k, (95 - 8 * k) if done else None)
        if idle is not None:
            platform.activity(pid, idle)
    per_programme, by_module = run(platform, cl.adherence, Settings())
    got = {(r.program_id, r.position): (r.started, r.completed, r.dropouts) for r in by_module.itertuples()}
    assert got == DROPOUT_EXPECTED
    per = per_programme.set_index("program_id")
    assert per.loc[1, ["enrolled", "dropouts", "dropouts_not_started"]].tolist() == [5, 3, 1]  # W-NONE before module 1
    assert per.loc[2, ["enrolled", "dropouts", "dropouts_not_started"]].tolist() == [2, 1, 0]
    page = cl.caseload(platform.engine, platform.engine, lead(platform), PERIOD, Settings(), UTC).dropout_by_module
    rates = page.set_index(["programme", "position"])
    # the two programmes side by side at module 1: 1 of 4 (25 %) against 1 of 2 (50 %)
    assert rates.loc[("Depression", 1), ["dropout_rate", "completion_rate"]].tolist() == [0.25, 0.75]
    assert rates.loc[("Generalised anxiety", 1), ["dropout_rate", "completion_rate"]].tolist() == [0.5, 0.5]
    assert rates.loc[("Depression", 3), "dropout_rate"] == 0.0
    assert pd.isna(rates.loc[("Generalised anxiety", 5), "dropout_rate"])  # nobody started: no rate, not 0 %
    assert rates.loc[("Depression", 2), "title"] == "Depression module 2"


def test_workload_lists_a_therapist_with_no_patients(platform):
    pid = platform.patient("ONLY-A", therapist=1, enrolled_days_ago=30)
    platform.activity(pid, 1)
    result = cl.caseload(platform.engine, platform.engine, lead(platform), PERIOD, Settings(), UTC)
    work = result.workload.set_index("therapist")
    assert work.loc["Therapist A", "caseload"] == 1
    assert work.loc["Therapist B", ["caseload", "messages", "feedback_completions"]].tolist() == [0, 0, 0]
    assert "Therapist C" not in work.index  # another team's therapist
    only_b = cl.caseload(
        platform.engine,
        platform.engine,
        lead(platform),
        cl.Filters(PERIOD.start, PERIOD.end, therapist_id=2),
        Settings(),
        UTC,
    )
    assert list(only_b.workload["therapist"]) == ["Therapist B"]
    assert (
        only_b.adherence.empty
        and only_b.lapsed.empty
        and only_b.headline.set_index("figure").loc["open_episodes", "value"] == 0
    )


# ---------------------------------------------------------------- GP follow-up compliance


@pytest.mark.parametrize(
    "completions, held, expected",
    [
        # no follow-up yet: one open cycle from the first completion
        (["03-01", "03-05"], [], [("03-01", None)]),
        # a follow-up the same day covers the completion
        (["03-01"], ["03-01"], [("03-01", "03-01")]),
        # completions before and after a follow-up: two cycles, the second still open
        (["03-01", "03-03", "03-10"], ["03-05"], [("03-01", "03-05"), ("03-10", None)]),
        # two follow-ups for one cycle: the first one closes it
        (["03-01"], ["03-04", "03-06"], [("03-01", "03-04")]),
        # a follow-up before any completion closes nothing
        (["03-08"], ["03-02"], [("03-08", None)]),
    ],
)
def test_followup_cycles(completions, held, expected):
    day = lambda s: date.fromisoformat(f"2026-{s}")  # noqa: E731
    cycles = cl.followup_cycles(
        pd.DataFrame({"patient_id": [1] * len(completions), "day": [day(c) for c in completions]}),
        pd.DataFrame({"patient_id": [1] * len(held), "held_on": [day(h) for h in held]}),
    )
    got = [(s.date(), None if pd.isna(c) else c.date()) for s, c in zip(cycles["start"], cycles["closed_on"])]
    assert sorted(got) == [(day(s), None if c is None else day(c)) for s, c in expected]


def gp_held(platform: Platform, pid: int, days_ago: int, key: str, action: str = "continue") -> None:
    form = FollowupForm(
        held_on=(NOW - timedelta(days=days_ago)).date(),
        minutes=10,
        modality="face-to-face",
        module_position=None,
        clinic_phq9=None,
        action=action,
        pause_until=None,
        next_on=None,
    )
    log_followup(platform.engine, platform.engine, load_viewer(platform.engine, "gp.a"), pid, form, key, NOW)


def test_gp_compliance_counts_due_held_in_time_and_overdue(platform):
    prompt = platform.patient("PROMPT", gp=3, enrolled_days_ago=80)
    platform.module(prompt, "depression", 1, 70, 60)
    gp_held(platform, prompt, 55, "k1")  # 5 days after the completion
    late = platform.patient("LATE", gp=3, enrolled_days_ago=80)
    platform.module(late, "depression", 1, 70, 50)
    gp_held(platform, late, 30, "k2", action="step_up")  # 20 days: held, not in time
    waiting = platform.patient("WAITING", gp=3, enrolled_days_ago=80)
    platform.module(waiting, "depression", 1, 70, 20)  # never followed up: overdue
    platform.patient("GP-B", gp=4, enrolled_days_ago=80)
    with platform.engine.connect() as conn:
        table = cl.gp_compliance(conn, platform.engine, lead(platform), PERIOD, Settings(), UTC).set_index("gp")
    a = table.loc["Dr GP A"]
    assert a[["patients", "due", "held", "held_in_time", "overdue", "followups_held"]].tolist() == [3, 3, 2, 1, 1, 2]
    assert a["median_days"] == pytest.approx(12.5)  # days 5 and 20
    assert (a["action_continue"], a["action_step_up"]) == (1, 1)
    assert table.loc["Dr GP B", ["patients", "due"]].tolist() == [1, 0]


# ---------------------------------------------------------------- at follow-up (issue 20)


def followed_up(
    platform: Platform,
    code: str,
    at: tuple[int | None, int | None],
    weeks: float = 5,
    program: str = "depression",
    ended: float = 60,
):
    """A finished course ended ``ended`` days ago, section 8's first vector at the end (PHQ-9
    15 -> 8, GAD-7 12 -> 6: reliable improvement), and the follow-up scores ``at`` ``weeks`` after the end."""
    pid = platform.patient(code, program, enrolled_days_ago=ended + 80, status="completed", ended_days_ago=ended)
    for k in (1, 2):
        platform.module(pid, program, k, ended + 79 - 7 * k, ended + 75 - 7 * k)
    for days, phq, gad in ((ended + 79, 15, 12), (ended + 1, 8, 6)):
        platform.phq9(pid, days, phq)
        platform.gad7(pid, days, gad)
    phq, gad = at
    if phq is not None:
        platform.phq9(pid, ended - 7 * weeks, phq)
    if gad is not None:
        platform.gad7(pid, ended - 7 * weeks, gad)
    return pid


def test_follow_up_counts_and_the_maintained_share_per_programme_with_small_cells(platform):
    for i in range(4):
        followed_up(platform, f"KEPT-{i}", (7, 5))  # PHQ-9 -8, GAD-7 -7: still reliably improved
    followed_up(platform, "RELAPSE", (14, 10))  # -1 and -2: no reliable change, not maintained
    followed_up(platform, "PHQ-ONLY", (7, None))  # one measure: not assessable, not a follow-up measure
    followed_up(platform, "NONE", (None, None))
    followed_up(platform, "TOO-SOON", (7, 5), weeks=3)  # 3 weeks after the end: not in the window
    # ended before the period (90 days) but its window (4-26 weeks after) was open in it: counted
    followed_up(platform, "ENDED-EARLIER", (7, 5), ended=150)
    # ended 20 days ago: its window opens after the period end, so it is not yet due a follow-up
    followed_up(platform, "ENDED-RECENTLY", (None, None), ended=20)
    for i in range(2):
        followed_up(platform, f"INSOMNIA-{i}", (7, 5), program="insomnia")
    result = cl.caseload(platform.engine, platform.engine, lead(platform), PERIOD, Settings(), UTC)
    table = result.outcomes.set_index("name")
    got = {
        name: tuple(table.loc[name, c] for c in ("finished", "follow_up_courses", "followed_up", *MAINTAINED_PARTS))
        for name in ("Depression", "Insomnia")
    }
    assert got["Depression"] == (9, 9, 6, 5, 6, 5 / 6)
    assert got["Insomnia"][:5] == (2, 2, 2, 2, 2) and pd.isna(got["Insomnia"][5])  # 2 < small_cell_min 5
    shown = follow_up_rows(result.outcomes).set_index("name")["Improvement maintained at follow-up"]
    assert shown["Depression"] == "83% (5/6)" and shown["Insomnia"] == "too few to show"
    # the end-of-treatment rates are the period's episodes: the relapse is still a reliable improvement there
    assert (table.loc["Depression", "reliable_improvement_numerator"], table.loc["Depression", "paired"]) == (9, 9)


MAINTAINED_PARTS = [f"improvement_maintained_{part}" for part in ("numerator", "denominator", "rate")]
