"""The GP's consultation agenda (dashboard/agenda.py, issue 20 item 3): its content for a
hand-built patient on both backends, who may build it, the printable page's audit and
escaping, and a platform without the optional ``modules.summary``."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from dashboard import agenda, audit, db
from dashboard.config import Settings
from dashboard.gp_followups import log_followup
from dashboard.scope import load_viewer
from tests import hostile
from tests.factory import Platform, followup_form

UTC = ZoneInfo("UTC")
SETTINGS = Settings()


def build_patient(p: Platform) -> int:
    """AG-1 of ther.a and gp.a, enrolled 40 days ago; gp.a's last follow-up 15 days ago.
    Modules 1-2 completed before it, 3-4 after (with summaries); one exercise before it,
    one exercise and two homework tasks after; PHQ-9 20 -> 17 (week 4) -> 11 with item 9
    answered 1; GAD-7 15 -> 8, both after the follow-up; the therapist's message 6 days ago, an automated reminder
    yesterday."""
    pid = p.patient("AG-1", therapist=1, gp=3, enrolled_days_ago=40)
    p.module(pid, "depression", 1, 39, 30)
    p.module(pid, "depression", 2, 29, 18)
    p.module(pid, "depression", 3, 17, 10)
    p.module(pid, "depression", 4, 9, 3)
    p.module(pid, "depression", 5, 3)
    p.summary("depression", 2, "Planning pleasant activities")
    p.summary("depression", 3, "Noticing thoughts and feelings")
    p.summary("depression", 4, "Weighing the evidence for a thought")
    p.activity(pid, 20, "exercise")
    p.activity(pid, 8, "exercise")
    p.activity(pid, 5, "homework")
    p.activity(pid, 4, "homework")
    p.activity(pid, 4, "login")
    p.phq9(pid, 38, 20)
    p.phq9(pid, 16, 17)  # elapsed 24 days: treatment week 4 (days 22-28)
    p.phq9(pid, 2, 11, item9=1)
    p.gad7(pid, 12, 15)  # after the follow-up: none by its day
    p.gad7(pid, 2, 8)
    p.message(pid, 6, "to_patient", clinician=1)
    p.message(pid, 1, "to_patient", clinician=None)
    gp = load_viewer(p.engine, "gp.a")
    held_on = (p.now - timedelta(days=15)).date()
    log_followup(p.engine, p.engine, gp, pid, followup_form(held_on), uuid.uuid4().hex, p.now - timedelta(days=15))
    return pid


def test_content_of_a_hand_built_patient(platform):
    pid = build_patient(platform)
    gp = load_viewer(platform.engine, "gp.a")
    a = agenda.build(platform.engine, platform.engine, gp, pid, platform.now, SETTINGS, UTC)

    assert a.last_followup == (platform.now - timedelta(days=15)).date()
    # Modules 3 and 4 were completed after the follow-up's day; 1 and 2 before it.
    assert [(m.position, m.summary) for m in a.modules] == [
        (3, "Noticing thoughts and feelings"),
        (4, "Weighing the evidence for a thought"),
    ]
    assert a.latest_completed == 4 and a.summaries_available
    assert (a.exercises, a.homework) == (1, 2)  # the exercise 20 days ago was before the follow-up
    # A clinician's message is contact; the automated reminder yesterday is not (facts.clinician_contact).
    assert a.last_contact == platform.now - timedelta(days=6)

    phq, gad = a.scores
    assert (phq.instrument, gad.instrument) == ("PHQ9", "GAD7")
    # PHQ-9 bands (clinical-reference 1.2): 20-27 severe, 15-19 moderately severe, 10-14 moderate;
    # reliable change 6 or more (1.6): -9 is a reliable improvement.
    assert (phq.latest, phq.band_latest) == (11, "moderate")
    assert (phq.at_followup, phq.band_at_followup, phq.since_followup) == (17, "moderately severe", -6)
    assert (phq.baseline, phq.band_baseline, phq.since_baseline) == (20, "severe", -9)
    assert phq.reliable_change == "reliable improvement"
    # GAD-7 (2.2): 15-21 severe, 5-9 mild; no GAD-7 by the follow-up's day.
    assert (gad.band_baseline, gad.band_latest, gad.since_baseline, gad.at_followup) == ("severe", "mild", -7, None)
    assert agenda.score_line(gad, a.last_followup, UTC)[1] == "no score by the last follow-up"
    assert agenda.score_line(phq, a.last_followup, UTC)[1] == "-6 from 17 (moderately severe)"

    # The flag engine's own reasons: item 9 answered above 0 (1.5) and PHQ-9 >= 17 in week 4 (6.2).
    assert [r.flag for r in a.reasons] == ["risk", "not_on_track"]
    assert all(r.handled_by is None for r in a.reasons)
    assert "week 4" in a.reasons[1].reason


def test_without_a_follow_up_everything_counts_since_enrolment(platform):
    pid = platform.patient("AG-2", enrolled_days_ago=20)
    platform.module(pid, "depression", 1, 19, 12)
    platform.phq9(pid, 19, 12)
    a = agenda.build(
        platform.engine, platform.engine, load_viewer(platform.engine, "gp.a"), pid, platform.now, SETTINGS, UTC
    )
    assert a.last_followup is None and [m.position for m in a.modules] == [1]
    assert a.modules[0].summary is None and a.reasons == [] and a.last_contact is None
    assert agenda.score_line(a.scores[0], None, UTC)[1:] == ("no follow-up yet", "only a baseline so far")
    assert "since enrolment" in agenda.to_html(a, UTC)


@pytest.mark.parametrize(
    ("username", "allowed"),
    [("gp.a", True), ("ther.a", True), ("gp.b", False), ("ther.b", False), ("lead.a", False)],
)
def test_scope_only_the_patients_gp_and_therapist(platform, username, allowed):
    """Another GP or therapist is refused in the data layer with the words an unknown
    patient gets; the team lead sees the record but gets no agenda; a refused
    download is audited as denied, naming the patient."""
    pid = build_patient(platform)
    viewer = load_viewer(platform.engine, username)
    build = lambda: agenda.export_html(  # noqa: E731
        platform.engine, platform.engine, viewer, pid, platform.now, SETTINGS, UTC
    )
    if allowed:
        assert "AG-1" in build()
    else:
        with pytest.raises(agenda.AgendaRefused) as refused:
            build()
        assert str(refused.value) == (agenda.NOT_FOR_ROLE if username == "lead.a" else agenda.DENIED)
    rows = audit.read(platform.engine, username)
    row = rows[rows["action"].isin(["export", "denied"])].iloc[0]
    assert (row["action"], int(row["patient_id"])) == ("export" if allowed else "denied", pid)
    assert json.loads(row["detail"])["export" if not allowed else "what"] == agenda.EXPORT_WHAT


def test_the_download_is_built_and_audited_only_on_click(platform):
    pid = build_patient(platform)
    gp = load_viewer(platform.engine, "gp.a")
    before = len(audit.read(platform.engine, "gp.a"))
    on_click = agenda.audited_download(platform.engine, platform.engine, gp, pid, SETTINGS, UTC, "Walk daily")
    assert len(audit.read(platform.engine, "gp.a")) == before
    page = on_click().decode()
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")  # offline: nothing fetched
    assert "Walk daily" in page and "Noticing thoughts and feelings" in page
    assert len(audit.read(platform.engine, "gp.a")) == before + 1


def test_the_page_escapes_hostile_text(platform):
    ids = hostile.build(platform)
    pid = ids[hostile.CODE]
    gp = load_viewer(platform.engine, "gp.a")
    a = agenda.build(platform.engine, platform.engine, gp, pid, platform.now, SETTINGS, UTC)
    assert a.modules[0].summary == hostile.FIELDS["SUMMARY"]  # module 2 completed after the follow-up
    assert a.reasons[0].handled_by is not None  # the risk answer was handled, with a hostile note
    page = agenda.to_html(a, UTC, agreed="<script>alert(1)</script>")
    body = page.split("<body>", 1)[1]
    assert "<img" not in body and "<script" not in body and "<http" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body and "&lt;script&gt;" in body
    for label in ("SUMMARY", "PATIENT", "THERAPIST", "GP", "PROGRAMME"):
        assert f"# {label} " in body, label


def test_a_platform_without_module_summaries(db_url, tmp_path):
    """The column is optional: the start-up check does not name it, and the agenda lists
    the modules without summaries."""
    from dashboard.engine import make_engine
    from tests.conftest import PLATFORM_NOW

    p = Platform(make_engine(db_url), PLATFORM_NOW)
    db.upgrade(p.engine)
    with p.engine.begin() as conn:
        conn.execute(text("ALTER TABLE modules DROP COLUMN summary"))
    assert db.check_platform_schema(p.engine) == []
    pid = p.patient("AG-3", enrolled_days_ago=20)
    p.module(pid, "depression", 1, 19, 12)
    a = agenda.build(p.engine, p.engine, load_viewer(p.engine, "gp.a"), pid, p.now, SETTINGS, UTC)
    assert not a.summaries_available and [(m.position, m.summary) for m in a.modules] == [(1, None)]


def test_a_missing_required_column_is_still_named(platform):
    with platform.engine.begin() as conn:
        conn.execute(text("ALTER TABLE modules DROP COLUMN title"))
    assert [(x.table, x.column) for x in db.check_platform_schema(platform.engine)] == [("modules", "title")]
