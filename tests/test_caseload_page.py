"""The Caseload page in AppTest: the team lead's landing page, and each filter
that changes the query path (period end, programme, therapist, cohort, nobody)."""

import json
from datetime import timedelta

import pytest

from dashboard.ui.nav import PAGES_DIR
from tests.apptest import logged_in, table_with

CASELOAD = str(PAGES_DIR / "caseload.py")


def caseload_team(p):
    """Finished courses with scores, an anxious patient with a message, a lapsed patient,
    and another team's patient (also the team of tests/test_i18n_caseload.py)."""
    for i in range(6):
        pid = p.patient(f"DONE-{i}", therapist=1, enrolled_days_ago=80, status="completed", ended_days_ago=10)
        for k in (1, 2):
            p.module(pid, "depression", k, 80 - 7 * k, 76 - 7 * k)
        p.phq9(pid, 79, 16)
        p.phq9(pid, 11, 6)
        p.gad7(pid, 79, 12)
        p.gad7(pid, 11, 5)
    anxious = p.patient("ANX-1", program="anxiety", therapist=2, enrolled_days_ago=40)
    p.module(anxious, "anxiety", 1, 39, 30)
    p.message(anxious, 5, "from_patient")
    lapsed = p.patient("LAPSED-1", therapist=2, enrolled_days_ago=70)
    p.activity(lapsed, 40)
    p.patient("SOUTH-1", team=2, therapist=7, enrolled_days_ago=30)
    return p


@pytest.fixture
def team(app_platform):
    return caseload_team(app_platform)


NOBODY = "No patients in this period: nobody enrolled by its end matches the filters."


def charts_of(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_team_lead_lands_on_caseload_with_every_section(team):
    at = logged_in("lead.a")
    assert at.title[0].value == "Caseload · North"
    shown = metrics(at)
    assert shown["Active patients"] == "2"  # ANX-1 and LAPSED-1; SOUTH-1 is another team's
    assert "Open triage items" in shown  # the period ends today, so the current queue is included
    headers = [h.value for h in at.subheader]
    assert headers[1:] == [
        "Where do we lose patients?",
        "Who is overloaded?",
        "Are we getting people better?",
        "Are GPs holding follow-ups?",
        "Trends · last 26 weeks",
    ]
    outcomes = table_with(at, "name", "Recovery").set_index("name")  # by programme comes first
    assert outcomes.loc["Depression", "Recovery"] == "100% (6/6)"
    assert outcomes.loc["Depression", "finished"] == 6
    lapsed = table_with(at, "code", "days_inactive")
    assert list(lapsed["code"]) == ["LAPSED-1"]
    assert "SOUTH-1" not in str([d.value for d in at.dataframe])


def test_a_past_period_leaves_out_the_current_queue(team):
    at = logged_in("lead.a")
    today = at.date_input(key="caseload_period").value[1]
    at.date_input(key="caseload_period").set_value((today - timedelta(days=60), today - timedelta(days=30))).run()
    assert not at.exception
    shown = metrics(at)
    assert "Open triage items" not in shown and "Active patients" in shown
    outcomes = table_with(at, "name", "Recovery").set_index("name")
    assert outcomes.loc["Depression", "finished"] == 0  # the six courses ended 10 days ago, after this period


def test_programme_and_therapist_filters_narrow_every_figure(team):
    at = logged_in("lead.a")
    at.selectbox(key="caseload_programme").set_value(2).run()  # Generalised anxiety
    assert not at.exception
    assert metrics(at)["Active patients"] == "1"
    at.selectbox(key="caseload_programme").set_value(0)
    at.selectbox(key="caseload_therapist").set_value(1).run()  # Therapist A: only finished courses
    assert not at.exception
    assert metrics(at)["Active patients"] == "0"
    workload = table_with(at, "therapist", "caseload")
    assert list(workload["therapist"]) == ["Therapist A"]


def test_a_cohort_that_matches_nobody_shows_empty_states(team):
    at = logged_in("lead.a")
    at.toggle(key="caseload_cohort_on").set_value(True).run()
    today = at.date_input(key="caseload_period").value[1]
    at.date_input(key="caseload_cohort").set_value((today - timedelta(days=3), today - timedelta(days=2))).run()
    assert not at.exception
    assert metrics(at) == {}  # no cards of zeros with "+0" beside them
    assert [i.value for i in at.info][:2] == [NOBODY, NOBODY]  # the headline and the adherence section


def test_caseload_is_for_team_leads_only(team):
    for user in ("ther.a", "gp.a"):
        at = logged_in(user)
        with pytest.raises(ValueError):
            at.switch_page(CASELOAD)


def test_an_empty_period_says_so_instead_of_zero_lines_and_plus_zero_cards(team):
    """Before: a period before anyone enrolled drew the four trend panels as flat lines at
    zero (axis labels "0.000000") and headline cards with "+0" deltas."""
    at = logged_in("lead.a")
    today = at.date_input(key="caseload_period").value[1]
    at.date_input(key="caseload_period").set_value((today - timedelta(days=900), today - timedelta(days=800))).run()
    assert not at.exception
    assert metrics(at) == {} and all(m.proto.delta == "" for m in at.metric)
    infos = [i.value for i in at.info]
    assert infos[:2] == [NOBODY, NOBODY]
    assert "No patients in these 26 weeks: no enrolments, module completions or active patients." in infos
    assert charts_of(at) == []  # no flat lines
    labels = {b.proto.label for b in at.get("download_button")}
    assert "Trends CSV" not in labels and {"Printable report (HTML)", "All tables (zip of CSVs)"} <= labels


def test_an_unchanged_figure_shows_no_plus_zero(team):
    """The six finished courses ended 10 days ago: over the last 7 days and the 7 before,
    Active patients is 2 both times; the card says "same as the previous period", not "+0"."""
    at = logged_in("lead.a")
    today = at.date_input(key="caseload_period").value[1]
    at.date_input(key="caseload_period").set_value((today - timedelta(days=6), today)).run()
    assert not at.exception
    card = next(m for m in at.metric if m.label == "Active patients")
    assert card.value == "2" and card.proto.delta == ""
    assert "same as the previous period" in [c.value for c in at.caption]


def test_drop_out_by_module_is_one_visible_section_with_a_programme_selector(team):
    at = logged_in("lead.a")
    assert not at.exception and len(at.expander) == 0  # nothing hidden behind an expander
    assert "##### Drop-out by module" in [m.value for m in at.markdown]
    control = at.segmented_control(key="dropout_programme")
    assert control.options == ["Depression", "Generalised anxiety"] and control.value == "Depression"
    dropout = next(c for c in charts_of(at) if c["description"].startswith("Drop-out rate at each module"))
    # every depression module is listed, those nobody dropped out at too; DONE-* started 1 and 2
    assert "module 1 · Depression module 1: 0 of 6 (0%)" in dropout["description"]
    assert "module 8 · Depression module 8: nobody started yet" in dropout["description"]
    table = table_with(at, "Module", "Drop-out (% of started)")
    assert list(table["Module"])[:2] == ["1 · Depression module 1", "2 · Depression module 2"] and len(table) == 8
    assert table["Completed"].iloc[0] == "6 of 6 who started module 1"
    assert table["Drop-out"].iloc[0] == "0 of 6 who started module 1"
    control.set_value("Generalised anxiety").run()
    assert not at.exception
    table = table_with(at, "Module", "Drop-out (% of started)")
    assert len(table) == 7 and table["Completed"].iloc[0] == "1 of 1 who started module 1"
    adherence = table_with(at, "programme", "completion").set_index("programme")
    # completion and drop-out say their different denominators
    assert adherence.loc["Depression", "completion"] == "0 of 6 whose episode ended"  # 2 of 8 modules each
    assert adherence.loc["Depression", "dropout"] == "1 of 7 enrolled"  # LAPSED-1: 40 days idle


def test_one_download_for_every_table_beside_the_per_table_csvs(team):
    at = logged_in("lead.a")
    buttons = {b.proto.label: b.proto for b in at.get("download_button")}
    every = buttons["All tables (zip of CSVs)"]
    assert every.url == "" and every.HasField("deferred_file_id")  # built and audited on click only
    assert {"Drop-out by module CSV", "Completion and drop-out CSV", "Workload CSV"} <= set(buttons)
    assert len(buttons) <= 11  # was 13: the funnel, headline and module-days CSVs are in the zip
