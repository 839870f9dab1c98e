"""The command-line Caseload report: every figure in JSON, rates as
{numerator, denominator, rate}, team leads only, always audited (both backends)."""

import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from dashboard import audit, db, report
from dashboard import caseload as cl
from dashboard.cli import report as report_cli
from dashboard.config import Settings
from dashboard.engine import make_engine
from dashboard.exports import frame_csv
from dashboard.scope import load_viewer
from tests.factory import Platform

NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)  # the CLI reads the wall clock


@pytest.fixture
def platform(db_url) -> Platform:
    p = Platform(make_engine(db_url), NOW)
    db.upgrade(p.engine)
    for i in range(5):
        pid = p.patient(f"DONE-{i}", therapist=1, enrolled_days_ago=80, status="completed", ended_days_ago=10)
        for k in (1, 2):
            p.module(pid, "depression", k, 80 - 7 * k, 76 - 7 * k)
        p.phq9(pid, 79, 16)
        p.phq9(pid, 11, 6 if i < 3 else 14)
        p.gad7(pid, 79, 12)
        p.gad7(pid, 11, 5)
    small = p.patient("SMALL-B", therapist=2, enrolled_days_ago=80, status="completed", ended_days_ago=10)
    for k in (1, 2):
        p.module(small, "depression", k, 80 - 7 * k, 76 - 7 * k)
    p.phq9(small, 79, 16)
    p.phq9(small, 11, 6)
    p.gad7(small, 79, 12)
    p.gad7(small, 11, 5)
    p.patient("ACTIVE-1", therapist=2, enrolled_days_ago=20)
    return p


def run_cli(platform: Platform, tmp_path, *args: str) -> tuple[int, str]:
    out = tmp_path / "report.out"
    code = report_cli.main(
        ["--db", platform.engine.url.render_as_string(hide_password=False), "--out", str(out), *args]
    )
    return code, out.read_text() if out.exists() else ""


def test_json_report_holds_every_figure_with_rate_parts(platform, tmp_path):
    code, text = run_cli(platform, tmp_path, "--user", "lead.a", "--format", "json")
    assert code == 0
    body = json.loads(text)
    assert body["team"] == "North"
    for table in report.REPORT_TABLES:
        assert table in body
    depression = body["outcomes"]["Depression"]
    # six finished courses, all at caseness: recovered when PHQ-9 < 10 and GAD-7 < 8 at the end (4 of 6)
    assert depression["recovery"] == {"numerator": 4, "denominator": 6, "rate": pytest.approx(4 / 6)}
    assert depression["in_progress"] == 1
    by_therapist = body["outcomes_by_therapist"]
    assert by_therapist["Therapist B"]["recovery"] == {"numerator": 1, "denominator": 1, "rate": None}  # too few
    assert by_therapist["Therapist A"]["reliable_improvement"]["denominator"] == 5
    headline = {row["figure"]: row for row in body["headline"]}
    assert headline["open_episodes"]["value"] == 1 and "open_triage_items" in headline
    assert body["lapsed_not_closed"] == 0 and "DONE-0" not in text  # aggregates only: no patient codes
    trail = audit.read(platform.engine, actor="cli:lead.a")
    assert list(trail["action"]) == ["cli_report"]


def test_report_period_comes_from_whole_local_days(platform, tmp_path, monkeypatch):
    monkeypatch.setenv("DASHBOARD_TIMEZONE", "UTC")  # the service's zone decides the days; here UTC's
    first, last = NOW.date() - timedelta(days=60), NOW.date() - timedelta(days=30)
    code, text = run_cli(
        platform,
        tmp_path,
        "--user",
        "lead.a",
        "--format",
        "json",
        "--from",
        first.isoformat(),
        "--to",
        last.isoformat(),
    )
    body = json.loads(text)
    assert code == 0
    assert body["period"]["start"].startswith(first.isoformat())
    assert body["period"]["end"].startswith((last + timedelta(days=1)).isoformat())
    assert body["outcomes"]["Depression"]["finished"] == 0  # the courses ended after this period
    assert "open_triage_items" not in {row["figure"] for row in body["headline"]}  # a past period has no queue


@pytest.mark.parametrize("user", ["ther.a", "gp.a", "nobody"])
def test_only_team_leads_get_a_report_and_refusals_are_audited(platform, tmp_path, capsys, user):
    code, text = run_cli(platform, tmp_path, "--user", user)
    assert code == 2 and text == ""
    assert "not a team lead" in capsys.readouterr().err
    assert list(audit.read(platform.engine, actor=f"cli:{user}")["action"]) == ["denied"]


def test_a_period_that_ends_before_it_starts_is_refused(platform, tmp_path, capsys):
    code, _ = run_cli(platform, tmp_path, "--user", "lead.a", "--from", "2026-03-10", "--to", "2026-03-01")
    assert code == 2 and "must start before it ends" in capsys.readouterr().err


def test_html_report_is_self_contained(platform, tmp_path):
    code, text = run_cli(platform, tmp_path, "--user", "lead.a")
    assert code == 0
    assert text.startswith("<!doctype html>") and "<svg" in text
    assert "<script" not in text and "<link" not in text and "@import" not in text
    # the only addresses are SVG's XML namespace names, which are never fetched
    assert set(re.findall(r"https?://[^\"' )]+", text)) <= {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    }
    assert "DONE-0" not in text


def test_csv_exports_read_back_with_the_same_numbers(platform):
    """The page exports ``exports.frame_csv(frame)``; reading it back gives the same figures."""
    viewer = load_viewer(platform.engine, "lead.a")
    result = cl.caseload(
        platform.engine, platform.engine, viewer, cl.Filters(NOW - timedelta(days=90), NOW), Settings(), ZoneInfo("UTC")
    )
    for name in ("headline", "adherence", "funnel", "workload", "outcomes", "outcomes_by_therapist", "gp_compliance"):
        frame = getattr(result, name)
        back = pd.read_csv(io.StringIO(frame_csv(frame)))
        assert list(back.columns) == list(frame.columns), name
        numeric = frame.select_dtypes("number").columns
        pd.testing.assert_frame_equal(
            back[numeric].astype(float), frame[numeric].astype(float), check_exact=False, obj=name
        )


def test_period_defaults_to_the_setting_and_caps_at_now():
    tz = ZoneInfo("Europe/London")
    now = datetime(2026, 6, 15, 10, 0)
    assert cl.period(None, None, now, tz, 90) == (now - timedelta(days=90), now)
    start, end = cl.period(date(2026, 6, 1), date(2026, 6, 30), now, tz, 90)
    assert (start, end) == (datetime(2026, 5, 31, 23, 0), now)  # London midnight is 23:00 UTC in summer


@pytest.mark.parametrize(
    ("numerator", "denominator", "rate", "shown"),
    [
        (2, 3, None, "too few to show"),  # issue 16: the counts a suppressed cell hides are not printed
        (0, 0, None, "none yet"),
        (26, 50, 0.52, "52% (26/50)"),
    ],
)
def test_outcome_rates_in_words(numerator, denominator, rate, shown):
    from dashboard.report import rate_text

    assert rate_text(numerator, denominator, rate) == shown


def test_headline_counts_say_what_they_count():
    from dashboard.caseload.tables import headline_text

    reply = {"value": 5.5, "unit": "hours", "numerator": 886, "denominator": 909}
    assert headline_text(reply) == ("5.5 h", "886 of 909 messages answered")
    share = {"value": 0.5, "unit": "share", "numerator": 3, "denominator": 6}
    assert headline_text(share) == ("50%", "3 of 6")


@pytest.mark.parametrize(
    "unit, value, previous, delta",
    [
        ("count", 12.0, 10.0, "+2"),
        ("count", 0.0, 0.0, None),  # an empty period against an empty one: no "+0" card
        ("count", 3.0, 3.0, None),  # unchanged: the caption says so, the card shows no arrow
        ("count", 3.0, None, None),  # nothing to compare
        ("share", 0.5, 0.25, "+25 points"),
        ("share", 0.501, 0.5, None),  # rounds to 0 points
        ("hours", 4.0, 5.5, "-1.5 h"),
        ("hours", None, 5.5, None),
    ],
)
def test_a_headline_delta_is_shown_only_when_there_is_a_change(unit, value, previous, delta):
    from dashboard.caseload.tables import headline_delta

    assert headline_delta({"unit": unit, "value": value, "previous": previous}) == delta


def test_quiet_weeks_are_told_in_words_not_drawn():
    weeks = pd.DataFrame(
        {c: [0] * 3 for c in ("enrolments", "module_completions", "open_episodes", "recovery_denominator")}
    )
    assert cl.quiet_weeks(weeks) and cl.quiet_weeks(weeks.iloc[0:0])
    assert not cl.quiet_weeks(weeks.assign(open_episodes=[0, 1, 0]))
