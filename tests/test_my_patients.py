"""My patients over hand-built rows, on both backends."""

from datetime import datetime

import pandas as pd
import pytest

from dashboard.engine import make_engine
from dashboard.my_patients import my_patients, progress_label
from dashboard.scope import load_viewer
from tests.factory import Platform, module_id

NOW = datetime(2026, 11, 20, 9, 0, 0)


@pytest.fixture
def platform(db_url) -> Platform:
    return Platform(make_engine(db_url), NOW)


def row(platform: Platform, code: str, username: str = "ther.a"):
    frame = my_patients(platform.engine, load_viewer(platform.engine, username), NOW)
    return frame.set_index("code").loc[code]


def test_progress_and_latest_primary_score(platform):
    pid = platform.patient("A1", "depression", enrolled_days_ago=30)
    platform.module(pid, "depression", 1, 28, 21)
    platform.module(pid, "depression", 2, 20, 14)
    platform.module(pid, "depression", 3, 13)
    platform.phq9(pid, 29, 18)
    platform.phq9(pid, 14, 12)
    platform.gad7(pid, 2, 15)  # not the programme's instrument
    r = row(platform, "A1")
    assert (r.modules_completed, r.modules_total, r.current_module, r.progress) == (2, 8, 3, "module 3 of 8")
    assert (r.latest_score, r.latest_band, r.latest_prorated) == (12, "moderate", False)
    assert r.days_since_activity == 2  # the GAD-7 two days ago is activity too (docs/design.md)


def test_future_dated_rows_are_ignored(platform):
    pid = platform.patient("F1", enrolled_days_ago=20)
    platform.phq9(pid, 10, 16)
    platform.phq9(pid, -3, 2)  # three days in the future: a platform error
    platform.activity(pid, -1)
    platform.activity(pid, 9)
    r = row(platform, "F1")
    assert r.latest_score == 16
    assert r.days_since_activity == 9


def test_prorated_latest_score_keeps_its_unrounded_value(platform):
    pid = platform.patient("P1", enrolled_days_ago=10)
    platform.response(pid, "PHQ9", 1, [2, 1, 1, 1, 1, 1, 1, None, 0])  # 8 answered, sum 8 -> 9.0
    platform.response(pid, "PHQ9", 0.5, [2, 2, 1, 1, 1, 1, 1, None, None])  # 7 answered, sum 9 -> 11.57
    r = row(platform, "P1")
    assert r.latest_prorated and r.latest_score == pytest.approx(9 * 9 / 7)
    assert (r.latest_score_display, r.latest_band) == (12, "moderate")


def test_invalid_latest_falls_back_to_latest_valid(platform):
    pid = platform.patient("V1", "anxiety", enrolled_days_ago=10)
    platform.gad7(pid, 9, 11)
    platform.response(pid, "GAD7", 1, [1, 1, 1, None, 1, 1, 1])  # a missing GAD-7 item: not scored (2.4)
    r = row(platform, "V1")
    assert r.latest_score == 11 and r.latest_band == "moderate"


def test_module_progress_of_another_programme_is_not_counted(platform):
    pid = platform.patient("M1", "insomnia", enrolled_days_ago=40)
    platform.module(pid, "insomnia", 1, 35, 30)
    platform.module(pid, "depression", 2, 25, 20)  # orphan-ish row: not this patient's programme
    r = row(platform, "M1")
    assert (r.modules_completed, r.modules_total, r.current_module) == (1, 6, 2)
    assert module_id("depression", 2) != module_id("insomnia", 2)


def test_patient_with_no_events_counts_from_enrolment(platform):
    platform.patient("N1", enrolled_days_ago=7.5)
    r = row(platform, "N1")
    assert r.days_since_activity == 7 and r.progress == "module 1 of 8"
    assert r.latest_score != r.latest_score  # NaN: no valid score yet


def test_all_modules_completed_label(platform):
    pid = platform.patient("C1", "insomnia", enrolled_days_ago=60, status="completed", ended_days_ago=2)
    for k in range(1, 7):
        platform.module(pid, "insomnia", k, 60 - 7 * k, 56 - 7 * k)
    assert row(platform, "C1").progress == "all 6 completed"
    assert progress_label(0, 0, None) == "no modules"


def test_scope_by_role(platform):
    platform.patient("S1", therapist=1, gp=3)
    platform.patient("S2", therapist=2, gp=4)
    platform.patient("S3", therapist=7, gp=3, team=2)
    platform.patient("S4", therapist=None, gp=None)  # unassigned: only the team lead sees it

    def codes(user):
        return sorted(my_patients(platform.engine, load_viewer(platform.engine, user), NOW)["code"])

    assert codes("ther.a") == ["S1"] and codes("ther.b") == ["S2"] and codes("ther.c") == ["S3"]
    assert codes("gp.a") == ["S1", "S3"] and codes("gp.b") == ["S2"]
    assert codes("lead.a") == ["S1", "S2", "S4"] and codes("lead.b") == ["S3"]


# Issue 16, item 10: (programmes, statuses, search) -> (codes shown, a note says matches are hidden)
SEARCH_CASES = [
    ([], ["active"], "", {"P-00042", "P-00043"}, False),
    ([], ["active"], "0044", {"P-00044"}, False),  # a completed patient: found across statuses
    ([], ["active"], "p-0004", {"P-00042", "P-00043", "P-00044"}, False),  # part of the code, any case
    (["Insomnia"], ["active"], "0042", set(), True),  # the programme filter hides it, and says so
    (["Depression"], [], "", {"P-00042", "P-00044"}, False),
    ([], ["active"], "nobody", set(), False),
]


@pytest.mark.parametrize(("programmes", "statuses", "search", "codes", "note"), SEARCH_CASES)
def test_finding_a_patient_by_part_of_the_code_across_statuses(programmes, statuses, search, codes, note):
    from dashboard.my_patients import filter_patients

    rows = pd.DataFrame(
        {
            "code": ["P-00042", "P-00043", "P-00044"],
            "programme": ["Depression", "Insomnia", "Depression"],
            "status": ["active", None, "completed"],
        }
    )  # a missing status counts as active
    shown, hidden = filter_patients(rows, programmes, statuses, search)
    assert set(shown["code"]) == codes
    assert (hidden is not None) == note
    if note:
        assert hidden.startswith("1 more patient matches “0042” in other programmes")


def test_the_page_finds_a_completed_patient_by_part_of_the_code(app_platform):
    from dashboard.ui.nav import PAGES_DIR
    from tests.apptest import logged_in, table_with

    app_platform.patient("P-00077", status="completed", enrolled_days_ago=90, ended_days_ago=5)
    app_platform.patient("P-00078", enrolled_days_ago=10)
    at = logged_in("ther.a").switch_page(str(PAGES_DIR / "my_patients.py")).run()
    assert list(table_with(at, "code", "progress")["code"]) == ["P-00078"]  # the default "Active" filter
    next(t for t in at.text_input if t.label == "Find patient code").input("p-00077").run()
    assert list(table_with(at, "code", "progress")["code"]) == ["P-00077"]
    assert any("searching every status" in c.value for c in at.caption)
