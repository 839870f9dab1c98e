"""The phone-sized list beside each wide patient table (dashboard/ui/components/compact_list.py),
in AppTest on both backends: the same patients in the same order, each code a link to
that patient's record, codes escaped. Which of the two a window shows is CSS, checked in
Chromium (tests/test_browser_columns.py)."""

from urllib.parse import parse_qs

import pytest

from tests.apptest import logged_in

HOSTILE = "P*1_[x](y)"


@pytest.fixture
def platform(app_platform):
    return app_platform


def links(at) -> list[tuple[str, dict[str, list[str]]]]:
    return [(link.proto.label, parse_qs(link.proto.query_string)) for link in at.page_link]


def test_triage_list_matches_the_queue_and_links_each_record(platform):
    risky = platform.patient(HOSTILE, enrolled_days_ago=20)
    platform.phq9(risky, 3, 12, item9=2)
    quiet = platform.patient("QUIET1", enrolled_days_ago=40)
    platform.activity(quiet, 30)
    at = logged_in("ther.a")
    assert at.title[0].value == "Triage"
    queue = at.dataframe[0].value
    assert list(queue.columns[:3]) == ["code", "escalated", "waiting_days"]  # safety first
    shown = links(at)
    assert [q["patient"] for _label, q in shown] == [[c] for c in queue["code"]]
    assert shown[0][1]["record"] == [str(risky)]
    label = shown[0][0]
    assert label == r"**P\*1\_\[x\](y)** · waiting 3 d · escalated"  # escaped: no link, no emphasis
    risk_link = next(link for link in at.page_link if parse_qs(link.proto.query_string)["patient"] == [HOSTILE])
    assert risk_link.proto.icon == ":material/emergency_home:"


def test_gp_list_says_when_due_and_the_alerts(platform):
    pid = platform.patient("DUE1", gp=3, enrolled_days_ago=20)
    platform.module(pid, "depression", 1, 18, 3)
    platform.phq9(pid, 2, 15, item9=1)
    at = logged_in("gp.a")
    assert at.title[0].value == "Follow-ups due"
    table = at.dataframe[0].value
    assert list(table.columns[:3]) == ["code", "alerts", "status"]
    assert table["alerts"].iloc[0] == "risk answer"
    (label, query), *_ = links(at)
    assert query == {"patient": ["DUE1"], "record": [str(pid)]}
    assert label == "**DUE1** · due 3 d ago"
    assert "risk answer" in [c.value for c in at.caption]


def test_a_long_list_sends_its_first_entries_and_says_so(platform, monkeypatch):
    """A phone gets at most COMPACT_MAX entries, the table's first, and is told how many
    it does not show (a team lead's queue of 2,000 took 0.7 s of every run to send)."""
    monkeypatch.setattr("dashboard.ui.components.compact_list.COMPACT_MAX", 2)
    for code in ("LONG1", "LONG2", "LONG3"):
        platform.phq9(platform.patient(code, enrolled_days_ago=20), 3, 12, item9=1)
    at = logged_in("ther.a")
    queue = at.dataframe[0].value
    assert len(queue) == 3
    assert [q["patient"] for _label, q in links(at)] == [[c] for c in queue["code"][:2]]
    assert "The first 2 of 3 patients, in the table's order; a wider window shows them all." in [
        c.value for c in at.caption
    ]
