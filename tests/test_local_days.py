"""Every day shown is the service time zone's calendar day (issue 16, item 14): a PHQ-9
stored at 23:49 UTC on 30 Nov was answered at 00:49 on 01 Dec in Stockholm, and the
Triage reason, its latest-score column and the trajectory chart all say so. The rules
still compare naive UTC instants, but for a GP's pause: its end is a local day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from dashboard import charts, db
from dashboard.config import Settings
from dashboard.engine import make_engine
from dashboard.flags import evaluate, load_inputs
from dashboard.scope import load_viewer
from dashboard.triage import triage
from tests.apptest import logged_in
from tests.factory import Platform

NOW = datetime(2026, 12, 1, 9, 0, 0)
ANSWERED = datetime(2026, 11, 30, 23, 49, 0)  # 00:49 on 01 Dec in Stockholm (UTC+1)
SETTINGS = Settings()
ZONES = [("Europe/Stockholm", "01 Dec"), ("UTC", "30 Nov")]


def days_ago(at: datetime, now: datetime) -> float:
    return (now - at) / timedelta(days=1)


@pytest.fixture
def platform(db_url) -> Platform:
    p = Platform(make_engine(db_url), NOW)
    db.upgrade(p.engine)
    return p


def risky_patient(platform: Platform) -> int:
    pid = platform.patient("P-01357", enrolled_days_ago=20)
    platform.phq9(pid, 10, 14)
    platform.phq9(pid, days_ago(ANSWERED, NOW), 9, item9=1)
    return pid


@pytest.mark.parametrize(("zone", "day"), ZONES)
def test_risk_reason_names_the_service_zones_day(platform, zone, day):
    pid = risky_patient(platform)
    viewer = load_viewer(platform.engine, "ther.a")
    flags = evaluate(load_inputs(platform.engine, viewer, NOW, SETTINGS), NOW, SETTINGS, ZoneInfo(zone))
    reason = flags.loc[(flags["patient_id"] == pid) & (flags["flag"] == "risk"), "reason"].item()
    assert reason == f"PHQ-9 item 9 answered 1 on {day}"


def test_without_a_zone_the_domain_names_utc_days(platform):
    """Callers without a configuration (scripts, tests) get UTC days, as before."""
    risky_patient(platform)
    viewer = load_viewer(platform.engine, "ther.a")
    flags = evaluate(load_inputs(platform.engine, viewer, NOW, SETTINGS), NOW, SETTINGS)
    assert flags.loc[flags["flag"] == "risk", "reason"].item().endswith("on 30 Nov")


@pytest.mark.parametrize(("zone", "day"), ZONES)
def test_triage_reason_and_latest_score_name_the_service_zones_day(platform, zone, day):
    pid = risky_patient(platform)
    viewer = load_viewer(platform.engine, "ther.a")
    row = triage(platform.engine, platform.engine, viewer, NOW, SETTINGS, tz=ZoneInfo(zone)).queue.iloc[0]
    assert row["patient_id"] == pid
    assert row["reasons"][0] == f"PHQ-9 item 9 answered 1 on {day}"
    assert row["latest"] == f"9 · mild (PHQ-9, {day})"


@pytest.mark.parametrize(("zone", "day"), ZONES)
def test_trajectory_latest_label_names_the_service_zones_day(zone, day):
    episode = pd.DataFrame(
        {
            "instrument": "PHQ9",
            "administered_at": [ANSWERED - timedelta(days=10), ANSWERED],
            "score": [14.0, 9.0],
            "prorated": [False, False],
        }
    )
    spec = charts.trajectory_chart("PHQ9", episode, tz=ZoneInfo(zone))
    assert f"Latest 9 (mild), {day} 2026: no reliable change" in spec["title"]["subtitle"]
    assert f"to {day} 2026; baseline 14 (moderate)" in spec["description"]
    # the points themselves are wall times in the zone, so the axis and tooltips name its days too
    dates = {row["date"] for layer in spec["layer"] for row in layer["data"]["values"] if "date" in row}
    assert dates == {
        f"{(ANSWERED - timedelta(days=10)).replace(tzinfo=UTC).astimezone(ZoneInfo(zone)):%Y-%m-%dT%H:%M:%S}",
        f"{ANSWERED.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)):%Y-%m-%dT%H:%M:%S}",
    }


def test_triage_page_shows_stockholm_days(app_platform, monkeypatch):
    """The page passes the configured zone through the cached view: 23:49 UTC reads as the next day."""
    monkeypatch.setenv("DASHBOARD_TIMEZONE", "Europe/Stockholm")
    now = app_platform.now
    answered = datetime.combine(now.date() - timedelta(days=1), datetime.min.time()) + timedelta(hours=23, minutes=49)
    local_day = f"{answered.replace(tzinfo=UTC).astimezone(ZoneInfo('Europe/Stockholm')):%d %b}"
    assert local_day != f"{answered:%d %b}"
    pid = app_platform.patient("P-01357", enrolled_days_ago=20)
    app_platform.phq9(pid, 10, 14)
    app_platform.phq9(pid, days_ago(answered, now), 9, item9=1)
    at = logged_in("ther.a")
    table = at.dataframe[0].value
    assert table["why"].iloc[0].startswith(f"PHQ-9 item 9 answered 1 on {local_day}")
    assert table["latest"].iloc[0].endswith(f"(PHQ-9, {local_day})")


@pytest.mark.parametrize(
    ("zone", "wall"), [("Europe/Stockholm", "2026-12-01T00:49:00"), ("UTC", "2026-11-30T23:49:00")]
)
def test_module_timeline_draws_the_service_zones_wall_times(zone, wall):
    """A module completed at 23:49 UTC on 30 Nov ends on 01 Dec on a Stockholm service's timeline."""
    module = pd.DataFrame(
        {
            "position": [1],
            "title": ["Getting started"],
            "due_at": [pd.Timestamp("2026-12-05 09:00")],
            "started_at": [pd.Timestamp("2026-11-25 10:00")],
            "completed_at": [pd.Timestamp(ANSWERED)],
            "state": ["completed"],
        }
    )
    spec = charts.module_timeline_chart(module, NOW, ZoneInfo(zone))
    ends = {row["completed_at"] for layer in spec["layer"] for row in layer["data"]["values"] if "completed_at" in row}
    assert ends == {wall}


# ---------------------------------------------------------------- a GP's pause ends with a local day

PAUSE_END = NOW.date() + timedelta(days=4)  # "pause until 05 Dec", chosen on the GP's calendar
LOCAL_NEXT_DAY = datetime(2026, 12, 5, 23, 30, 0)  # 00:30 on 06 Dec in Stockholm: the pause is over


def paused_patient(platform: Platform) -> int:
    from dashboard.gp_followups import FollowupForm, log_followup

    pid = platform.patient("P-02000", therapist=1, gp=3, enrolled_days_ago=40)
    platform.activity(pid, 20)
    platform.message(pid, 20, "to_patient", clinician=1)
    form = FollowupForm(
        held_on=NOW.date(),
        minutes=10,
        modality="face-to-face",
        module_position=1,
        clinic_phq9=None,
        action="pause",
        pause_until=PAUSE_END,
        next_on=None,
        note="Hospital stay",
    )
    log_followup(platform.engine, platform.engine, load_viewer(platform.engine, "gp.a"), pid, form, "pause-1", NOW)
    return pid


@pytest.mark.parametrize(("zone", "paused"), [("Europe/Stockholm", False), ("UTC", True)])
def test_a_pause_ends_when_its_last_day_ends_in_the_service_zone(platform, zone, paused):
    pid = paused_patient(platform)
    viewer = load_viewer(platform.engine, "ther.a")
    t = triage(platform.engine, platform.engine, viewer, LOCAL_NEXT_DAY, SETTINGS, tz=ZoneInfo(zone))
    open_kinds = set(t.open_flags.loc[t.open_flags["patient_id"] == pid, "flag"])
    assert ("inactive" in open_kinds) is not paused
    assert ("no_contact" in open_kinds) is not paused


def test_a_reason_open_on_a_local_screen_can_be_acknowledged_there(platform):
    """The acknowledgement judges the reason in the screen's zone: at 00:30 local the pause
    is over on the screen, and the same reason is open when the form is submitted."""
    from dashboard.acks import Choice, acknowledge_batch, evidence_keys

    pid = paused_patient(platform)
    viewer = load_viewer(platform.engine, "ther.a")
    zone = ZoneInfo("Europe/Stockholm")
    t = triage(platform.engine, platform.engine, viewer, LOCAL_NEXT_DAY, SETTINGS, tz=zone)
    rows = t.open_flags[(t.open_flags["patient_id"] == pid) & (t.open_flags["flag"] == "inactive")]
    called = Choice("inactive", frozenset(evidence_keys(rows)), "Phoned: back from hospital")
    acknowledge_batch(
        platform.engine,
        platform.engine,
        viewer,
        pid,
        [called],
        LOCAL_NEXT_DAY,
        SETTINGS,
        tz=zone,
    )
    after = triage(platform.engine, platform.engine, viewer, LOCAL_NEXT_DAY, SETTINGS, tz=zone)
    assert "inactive" not in set(after.open_flags.loc[after.open_flags["patient_id"] == pid, "flag"])
