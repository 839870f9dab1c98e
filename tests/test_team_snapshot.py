"""A team's kept Caseload (dashboard/team_snapshot.py) on SQLite and PostgreSQL: it
equals the live computation at its "as of", every frame; platform rows that arrive
later wait for the next build; what the state database holds (follow-ups,
acknowledgements) counts at once; other settings, an old snapshot or a filtered view
are computed live; the page says "as of" when it shows one. The live path
(``caseload.caseload`` with the lead's queue) is the oracle."""

from __future__ import annotations

import dataclasses
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from dashboard import caseload as caseload_mod
from dashboard import db, team_snapshot
from dashboard.acks import Choice, acknowledge_batch, evidence_keys, withdraw
from dashboard.config import DEFAULTS, Settings
from dashboard.engine import make_engine
from dashboard.gp_followups import log_followup
from dashboard.measures import INSTRUMENTS
from dashboard.quality import data_quality
from dashboard.scope import load_viewer
from dashboard.state_tables import team_snapshots
from dashboard.triage import triage
from dashboard.ui import cached
from dashboard.ui.nav import PAGES_DIR
from tests.apptest import logged_in
from tests.conftest import DEMO_NOW
from tests.factory import Platform, followup_form

STOCKHOLM = ZoneInfo("Europe/Stockholm")
NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
CASELOAD = str(PAGES_DIR / "caseload.py")


def live(engine, team_id: int, at: datetime, settings: Settings, tz: ZoneInfo) -> caseload_mod.Caseload:
    """What a lead of the team sees live at ``at`` (dashboard.ui.cached.caseload's default period)."""
    viewer = team_snapshot.lead_of(team_id)
    first, last = team_snapshot.default_days(at, settings, tz)
    start, end = caseload_mod.period(first, last, at, tz, int(settings.report_period_days))
    queue = triage(engine, engine, viewer, at, settings, None, tz)
    return caseload_mod.caseload(engine, engine, viewer, caseload_mod.Filters(start, end), settings, tz, queue)


def assert_same(
    shown: caseload_mod.Caseload, expected: caseload_mod.Caseload, settings: Settings | None = None
) -> None:
    """Equal figures; a kept Caseload holds no words, so it is compared in the run's language
    as the page shows it (caseload.in_language)."""
    shown = caseload_mod.in_language(shown, settings or Settings())
    for f in fields(caseload_mod.Caseload):
        a, b = getattr(shown, f.name), getattr(expected, f.name)
        if isinstance(b, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b, obj=f.name)
        else:
            assert a == b, f.name


def figure(result: caseload_mod.Caseload, name: str):
    return result.headline.set_index("figure").loc[name, "numerator"]


# ---------------------------------------------------------------- the demo service


@pytest.fixture(scope="module")
def demo_engine(demo_db):
    engine = make_engine(demo_db)
    db.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("team_id", [1, 2])
def test_a_snapshot_equals_the_live_caseload_at_its_as_of_every_frame(demo_engine, team_id):
    built = team_snapshot.build(demo_engine, demo_engine, team_id, DEMO_NOW, Settings(), STOCKHOLM)
    kept = team_snapshot.load(demo_engine, team_id)
    expected = live(demo_engine, team_id, DEMO_NOW, Settings(), STOCKHOLM)
    assert not expected.lapsed.empty and not expected.triage_flags.empty  # a service with something to keep
    assert_same(kept.caseload, expected)  # stored and read back: every frame, dtype and value
    assert_same(built.caseload, expected)
    assert kept.as_of == DEMO_NOW and kept.version == built.version
    # the page's data-quality note comes with it, as the live page reads it at the as-of
    expected_quality = data_quality(demo_engine, team_snapshot.lead_of(team_id), DEMO_NOW, Settings())
    assert not expected_quality.empty
    pd.testing.assert_frame_equal(kept.quality, expected_quality)
    # nothing stored since: the page shows the kept figures as they are
    assert team_snapshot.current(demo_engine, demo_engine, kept, Settings(), STOCKHOLM) is kept.caseload


def test_a_snapshot_keeps_figures_never_words(demo_engine):
    """Issue 21: a payload in no language; the page puts the words in the reader's."""
    built = team_snapshot.build(demo_engine, demo_engine, 1, DEMO_NOW, Settings(), STOCKHOLM)
    payload = team_snapshot.dumps(built.caseload, built.gp, built.quality)
    for words in ("Active patients", "enrolled and not ended", "clinical-reference 5.1", "unassigned"):
        assert words not in payload
    assert team_snapshot.load(demo_engine, 1).caseload.definitions == {}


def test_the_figures_do_not_hold_the_builds_timing(demo_engine):
    """Two builds of the same moment store the same payload (what a page reads is a function of the data)."""
    a = team_snapshot.build(demo_engine, demo_engine, 1, DEMO_NOW, Settings(), STOCKHOLM)
    b = team_snapshot.build(demo_engine, demo_engine, 1, DEMO_NOW, Settings(), STOCKHOLM)
    assert team_snapshot.dumps(a.caseload, a.gp, a.quality) == team_snapshot.dumps(b.caseload, b.gp, b.quality)


# ---------------------------------------------------------------- a hand-built team


@pytest.fixture
def team(db_url) -> Platform:
    """A lead's team with a risk answer, a module completion due a GP follow-up, a
    lapsed patient and nothing else (most frames small, some empty)."""
    p = Platform(make_engine(db_url), NOW)
    db.upgrade(p.engine)
    risky = p.patient("RISK-1", therapist=1, gp=3, enrolled_days_ago=30)
    p.phq9(risky, 2, 15, item9=2)
    due = p.patient("DUE-1", therapist=2, gp=3, enrolled_days_ago=40)
    p.module(due, "depression", 1, 39, 20)
    lapsed = p.patient("LAPSED-1", therapist=2, gp=3, enrolled_days_ago=70)
    p.activity(lapsed, 40)
    p.risky, p.due = risky, due
    return p


def test_a_small_teams_snapshot_round_trips_its_empty_frames(team):
    e = team.engine
    for team_id in (1, 2):  # team 2 has no patients: every frame empty
        team_snapshot.build(e, e, team_id, NOW, Settings(), STOCKHOLM)
        assert_same(team_snapshot.load(e, team_id).caseload, live(e, team_id, NOW, Settings(), STOCKHOLM))


def test_platform_rows_after_the_as_of_wait_for_the_next_build(team):
    e, as_of = team.engine, NOW - timedelta(minutes=10)
    kept = team_snapshot.build(e, e, 1, as_of, Settings(), STOCKHOLM)
    expected = live(e, 1, as_of, Settings(), STOCKHOLM)  # the live page at the as-of
    newcomer = team.patient("NEW-1", therapist=1, enrolled_days_ago=0)  # enrolled at NOW, after the as-of
    team.message(newcomer, 0, "from_patient")
    shown = team_snapshot.current(e, e, team_snapshot.load(e, 1), Settings(), STOCKHOLM)
    assert figure(shown, "open_episodes") == 3 == figure(kept.caseload, "open_episodes")
    assert figure(live(e, 1, NOW, Settings(), STOCKHOLM), "open_episodes") == 4  # the live page counts it
    assert_same(shown, expected)


def test_a_follow_up_logged_after_the_as_of_counts_at_once(team):
    e = team.engine
    kept = team_snapshot.build(e, e, 1, NOW, Settings(), STOCKHOLM)
    before = kept.caseload.gp_compliance.set_index("gp").loc["Dr GP A"]
    assert (before["due"], before["held"], before["followups_held"]) == (1, 0, 0)
    log_followup(e, e, load_viewer(e, "gp.a"), team.due, followup_form(NOW.date(), module_position=1), "fu-1", NOW)
    shown = team_snapshot.current(e, e, team_snapshot.load(e, 1), Settings(), STOCKHOLM)
    after = shown.gp_compliance.set_index("gp").loc["Dr GP A"]
    assert (after["due"], after["held"], after["followups_held"]) == (1, 1, 1)
    assert_same(shown, live(e, 1, NOW, Settings(), STOCKHOLM))


def test_an_acknowledgement_after_the_as_of_leaves_the_counts_at_once_and_its_withdrawal_brings_it_back(team):
    e = team.engine
    kept = team_snapshot.build(e, e, 1, NOW, Settings(), STOCKHOLM)
    risk_rows = kept.caseload.triage_flags[kept.caseload.triage_flags["flag"] == "risk"]
    assert list(risk_rows["patient_id"]) == [team.risky]
    items = figure(kept.caseload, "open_triage_items")
    therapist = load_viewer(e, "ther.a")
    shown_flags = triage(e, e, therapist, NOW, Settings(), None, STOCKHOLM).open_flags
    seen = evidence_keys(shown_flags[(shown_flags["patient_id"] == team.risky) & (shown_flags["flag"] == "risk")])
    choice = Choice("risk", frozenset(seen), "Called; safety plan reviewed.")
    ack = acknowledge_batch(e, e, therapist, team.risky, [choice], NOW, Settings())["risk"]
    shown = team_snapshot.current(e, e, team_snapshot.load(e, 1), Settings(), STOCKHOLM)
    assert figure(shown, "open_triage_items") == items - 1
    assert "risk" not in set(shown.triage_flags["flag"])
    workload = shown.workload.set_index("therapist")
    assert workload.loc["Therapist A", "items_risk"] == 0
    assert_same(shown, live(e, 1, NOW, Settings(), STOCKHOLM))
    withdraw(e, e, load_viewer(e, "lead.a"), ack, "Wrong patient", NOW)
    again = team_snapshot.current(e, e, team_snapshot.load(e, 1), Settings(), STOCKHOLM)
    assert figure(again, "open_triage_items") == items
    assert_same(again, live(e, 1, NOW, Settings(), STOCKHOLM))


def test_other_settings_an_old_snapshot_or_another_day_are_computed_live(team):
    e, settings = team.engine, Settings()
    lead = load_viewer(e, "lead.a")
    team_snapshot.build(e, e, 1, NOW, settings, STOCKHOLM)
    first, last = team_snapshot.default_days(NOW, settings, STOCKHOLM)
    assert team_snapshot.shown(e, e, lead, NOW, first, last, settings, STOCKHOLM) is not None
    other = Settings({**DEFAULTS, "recent_days": 14})
    assert team_snapshot.shown(e, e, lead, NOW, first, last, other, STOCKHOLM) is None
    shorter_risk_window = Settings({**DEFAULTS, "follow_up_to_weeks": 12})  # the queue the Caseload counts changes
    assert team_snapshot.shown(e, e, lead, NOW, first, last, shorter_risk_window, STOCKHOLM) is None
    assert team_snapshot.shown(e, e, lead, NOW, first, last, settings, ZoneInfo("UTC")) is None  # another zone
    # settings no figure depends on keep it
    quicker = Settings({**DEFAULTS, "cache_ttl_seconds": 5})
    assert team_snapshot.shown(e, e, lead, NOW, first, last, quicker, STOCKHOLM) is not None
    max_age = timedelta(seconds=DEFAULTS["team_snapshot_max_age_seconds"])
    assert team_snapshot.shown(e, e, lead, NOW + max_age, first, last, settings, STOCKHOLM) is not None
    later = NOW + max_age + timedelta(seconds=1)
    assert team_snapshot.shown(e, e, lead, later, first, last, settings, STOCKHOLM) is None
    assert team_snapshot.shown(e, e, lead, NOW, first - timedelta(days=1), last, settings, STOCKHOLM) is None
    assert team_snapshot.shown(e, e, load_viewer(e, "ther.a"), NOW, first, last, settings, STOCKHOLM) is None


def test_a_changed_instrument_registry_computes_live_until_the_next_build(team, monkeypatch):
    """A service that edits its DASHBOARD_INSTRUMENTS file (here GAD-7's caseness) must
    not be shown figures made with the old bands and cut-offs."""
    e, settings = team.engine, Settings()
    lead = load_viewer(e, "lead.a")
    team_snapshot.build(e, e, 1, NOW, settings, STOCKHOLM)
    first, last = team_snapshot.default_days(NOW, settings, STOCKHOLM)
    assert team_snapshot.shown(e, e, lead, NOW, first, last, settings, STOCKHOLM) is not None
    edited = {**INSTRUMENTS, "GAD7": dataclasses.replace(INSTRUMENTS["GAD7"], caseness=10)}
    monkeypatch.setattr(team_snapshot, "INSTRUMENTS", edited)
    assert team_snapshot.shown(e, e, lead, NOW, first, last, settings, STOCKHOLM) is None
    team_snapshot.build(e, e, 1, NOW, settings, STOCKHOLM)  # the refresher's next build
    assert team_snapshot.shown(e, e, lead, NOW, first, last, settings, STOCKHOLM) is not None


def test_a_filtered_view_is_always_live(team):
    e, settings = team.engine, Settings()
    lead = load_viewer(e, "lead.a")
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    team_snapshot.build(e, e, 1, now, settings, ZoneInfo("UTC"))
    first, last = team_snapshot.default_days(now, settings, ZoneInfo("UTC"))
    url = str(e.url)

    def view(program_id=None, therapist_id=None, cohort=None):
        args = (settings, "UTC", first, last, program_id, therapist_id, cohort, ("filtered", program_id, therapist_id))
        return cached.caseload(e, e, url, lead, *args)

    assert view()[2] is not None  # from the snapshot, with its data-quality note
    assert view(program_id=1)[2] is None
    assert view(therapist_id=1)[2] is None
    assert view(cohort=(first, last))[2] is None


def test_the_page_shows_the_kept_figures_with_their_as_of(app_platform):
    p = app_platform
    pid = p.patient("RISK-1", therapist=1, enrolled_days_ago=30)
    p.phq9(pid, 2, 15, item9=2)
    as_of = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(minutes=3)
    team_snapshot.build(p.engine, p.engine, 1, as_of, Settings(), ZoneInfo("UTC"))
    p.patient("NEW-1", therapist=1, enrolled_days_ago=0)  # after the as-of: not in the kept figures
    at = logged_in("lead.a")
    assert not at.exception
    captions = [c.value for c in at.caption]
    assert any(
        c.startswith(f"Team figures as of {as_of:%H:%M} on {as_of:%d %b %Y} (UTC), kept up to date")
        and "acknowledgements are live" in c
        for c in captions
    )
    assert {m.label: m.value for m in at.metric}["Active patients"] == "1"
    today = at.date_input(key="caseload_period").value[1]
    at.date_input(key="caseload_period").set_value((today - timedelta(days=30), today)).run()
    assert not any(c.value.startswith("Team figures as of") for c in at.caption)  # another period: live
    assert {m.label: m.value for m in at.metric}["Active patients"] == "2"


def test_the_refresher_rebuilds_only_the_snapshots_that_are_due(team):
    e, settings = team.engine, Settings()
    built = team_snapshot.build_due(e, e, NOW, settings, STOCKHOLM, every_seconds=300)
    assert sorted(s.team_id for s in built) == [1, 2]
    assert team_snapshot.build_due(e, e, NOW + timedelta(seconds=299), settings, STOCKHOLM, 300) == []
    assert len(team_snapshot.build_due(e, e, NOW + timedelta(seconds=299), settings, STOCKHOLM, 300, force=True)) == 2
    other = Settings({**DEFAULTS, "recent_days": 14})
    assert len(team_snapshot.build_due(e, e, NOW + timedelta(seconds=1), other, STOCKHOLM, 300)) == 2
    kept = team_snapshot.load(e, 1)
    assert kept.settings_hash == team_snapshot.settings_hash(other, STOCKHOLM)
    assert kept.as_of == NOW + timedelta(seconds=1)


def test_a_snapshot_another_version_wrote_is_computed_live(team):
    e, settings = team.engine, Settings()
    team_snapshot.build(e, e, 1, NOW, settings, STOCKHOLM)
    with e.begin() as conn:
        conn.execute(team_snapshots.update().values(payload='{"frames": {}}'))
    first, last = team_snapshot.default_days(NOW, settings, STOCKHOLM)
    assert team_snapshot.shown(e, e, load_viewer(e, "lead.a"), NOW, first, last, settings, STOCKHOLM) is None


def test_a_version_that_moved_without_a_new_row_keeps_the_figures(team):
    """A team's version can change with no row above the kept one (a patient with rows
    left the team): nothing to judge again, and the figures are still the live ones."""
    e = team.engine
    kept = team_snapshot.build(e, e, 1, NOW, Settings(), STOCKHOLM)
    moved = replace(kept, version=tuple(v + 100 for v in kept.version))
    assert_same(team_snapshot.current(e, e, moved, Settings(), STOCKHOLM), live(e, 1, NOW, Settings(), STOCKHOLM))


def test_more_changed_patients_than_judged_one_by_one_are_computed_live(team, monkeypatch):
    e, settings = team.engine, Settings()
    team_snapshot.build(e, e, 1, NOW, settings, STOCKHOLM)
    log_followup(e, e, load_viewer(e, "gp.a"), team.due, followup_form(NOW.date(), module_position=1), "fu-2", NOW)
    first, last = team_snapshot.default_days(NOW, settings, STOCKHOLM)
    lead = load_viewer(e, "lead.a")
    assert team_snapshot.shown(e, e, lead, NOW, first, last, settings, STOCKHOLM) is not None
    monkeypatch.setattr(team_snapshot, "MAX_REJUDGED", 0)
    assert team_snapshot.shown(e, e, lead, NOW, first, last, settings, STOCKHOLM) is None
