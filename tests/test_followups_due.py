"""The GP's due list: the clock, drop-outs kept 28 days, overdue, order (both backends)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dashboard.config import Settings
from dashboard.followups_due import due_list
from dashboard.gp_followups import log_followup
from dashboard.scope import load_viewer
from tests.conftest import PLATFORM_NOW as NOW
from tests.factory import Platform, followup_form

UTC = ZoneInfo("UTC")


def due(platform: Platform, at: datetime = NOW):
    return due_list(platform.engine, platform.engine, load_viewer(platform.engine, "gp.a"), at, Settings(), UTC).due


def held(platform: Platform, pid: int, days_ago: int, key: str, **changes) -> None:
    form = followup_form((NOW - timedelta(days=days_ago)).date(), **changes)
    log_followup(platform.engine, platform.engine, load_viewer(platform.engine, "gp.a"), pid, form, key, NOW)


def test_completion_after_the_last_follow_up_date_makes_a_patient_due(platform):
    before = platform.patient("BEFORE", gp=3, enrolled_days_ago=40)
    platform.module(before, "depression", 1, 35, 20)
    held(platform, before, 10, "k1")  # seen after the completion: not due
    after = platform.patient("AFTER", gp=3, enrolled_days_ago=40)
    platform.module(after, "depression", 1, 35, 30)
    held(platform, after, 25, "k2")
    platform.module(after, "depression", 2, 24, 12)  # completed after the visit: due, clock from here
    platform.module(after, "depression", 3, 11, 5)
    never = platform.patient("NEVER-SEEN", gp=3, enrolled_days_ago=40)
    platform.module(never, "depression", 1, 35, 3)
    other_gp = platform.patient("NOT-MINE", gp=4, enrolled_days_ago=40)
    platform.module(other_gp, "depression", 1, 35, 3)
    d = due(platform).set_index("code")
    assert set(d.index) == {"AFTER", "NEVER-SEEN"}
    assert d.loc["AFTER", "waiting_days"] == 12 and d.loc["AFTER", "modules_finished"].startswith("2 modules, latest 3")
    assert d.loc["AFTER", "latest_module"] == 3
    assert d.loc["NEVER-SEEN", "waiting_days"] == 3


def test_same_day_completion_is_not_after_the_follow_up_date(platform):
    pid = platform.patient("SAME", gp=3, enrolled_days_ago=40)
    platform.module(pid, "depression", 1, 35, 2.2)  # completed on the day of the visit
    held(platform, pid, 2, "k1")
    assert due(platform).empty


def test_overdue_from_14_days(platform):
    a = platform.patient("D14", gp=3, enrolled_days_ago=40)
    platform.module(a, "depression", 1, 35, 14)
    b = platform.patient("D13", gp=3, enrolled_days_ago=40)
    platform.module(b, "depression", 1, 35, 14 - 1 / 86400)
    d = due(platform).set_index("code")
    assert d.loc["D14", "overdue"] and not d.loc["D13", "overdue"]


def test_drop_outs_stay_28_days_after_the_end(platform):
    recent = platform.patient("WD-27", gp=3, status="withdrawn", enrolled_days_ago=60, ended_days_ago=27)
    platform.module(recent, "depression", 1, 55, 50)
    old = platform.patient("WD-29", gp=3, status="completed", enrolled_days_ago=90, ended_days_ago=29)
    platform.module(old, "depression", 1, 85, 80)
    assert set(due(platform)["code"]) == {"WD-27"}


def test_risk_then_deterioration_first_then_longest_waiting(platform):
    long_wait = platform.patient("LONG", gp=3, enrolled_days_ago=40)
    platform.module(long_wait, "depression", 1, 35, 30)
    risky = platform.patient("RISKY", gp=3, enrolled_days_ago=40)
    platform.module(risky, "depression", 1, 35, 2)
    platform.phq9(risky, 1, 14, item9=1)
    worse = platform.patient("WORSE", gp=3, enrolled_days_ago=40)
    platform.module(worse, "depression", 1, 35, 5)
    platform.phq9(worse, 39, 10)
    platform.phq9(worse, 1, 17)
    d = due(platform)
    # a risk answer before a deterioration that waited longer: the queue's order (flags.urgency)
    assert list(d["code"]) == ["RISKY", "WORSE", "LONG"]
    assert d.set_index("code").loc["WORSE", "change"] == "+7 since baseline"


def test_planned_follow_ups(platform):
    pid = platform.patient("PLAN", gp=3, enrolled_days_ago=40)
    held(platform, pid, 1, "k1", next_on=(NOW + timedelta(days=6)).date())
    past = platform.patient("PAST", gp=3, enrolled_days_ago=40)
    held(platform, past, 20, "k2", next_on=(NOW - timedelta(days=6)).date())
    result = due_list(platform.engine, platform.engine, load_viewer(platform.engine, "gp.a"), NOW, Settings(), UTC)
    assert list(result.planned["code"]) == ["PLAN"]


def test_the_latest_score_is_the_episodes_not_one_after_the_end(platform):
    """One episode definition (issue 20): a PHQ-9 after the end is not the due list's latest."""
    pid = platform.patient("WD-10", gp=3, status="withdrawn", enrolled_days_ago=60, ended_days_ago=10)
    platform.module(pid, "depression", 1, 55, 50)
    platform.phq9(pid, 58, 16)
    platform.phq9(pid, 12, 9)  # the episode's last
    platform.phq9(pid, 5, 22)  # after the end
    row = due(platform).set_index("code").loc["WD-10"]
    assert row["latest"].startswith("9") and row["change"] == "-7 since baseline"
