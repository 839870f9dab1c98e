"""NHS-style outcomes with an anxiety-disorder-specific measure (ADSM, clinical-reference 3.3):
the programme -> problem descriptor -> measure settings with the reference's defaults, the
registry's ADSM fields, and a hand-built cohort on both backends whose paired outcomes use
PHQ-9 + the configured ADSM, GAD-7 the back-up when the ADSM has no pair, named on the
Caseload page, in the report's JSON and HTML and in the CSV."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from dashboard import caseload as cl
from dashboard import db, measures, report
from dashboard.caseload.page import anxiety_definition
from dashboard.caseload.tables import outcomes_table
from dashboard.config import DEFAULTS, REFERENCE_ANXIETY_MEASURES, ConfigError, load_config, parse_settings
from dashboard.engine import make_engine
from dashboard.instruments import InstrumentFileError, load_registry, rci_criterion
from dashboard.outcomes import anxiety_plan, nhs_outcome
from dashboard.scope import load_viewer
from dashboard.team_snapshot import settings_hash
from dashboard.ui.nav import PAGES_DIR
from tests.apptest import logged_in, open_patient, table_with
from tests.factory import Platform

NOW = datetime(2026, 3, 10, 12, 0, 0)
PERIOD = cl.Filters(NOW - timedelta(days=90), NOW)
ZONE = ZoneInfo("UTC")

# A service's instrument file: SPIN's ADSM caseness at the reference's cut-off (>= 19, 4 [S36])
# and a Jacobson-Truax criterion 1.96 x 10 x sqrt(2 x (1 - 0.875)) = 9.8 points (1.7); OCI-R's
# caseness at its "likely OCD" cut-off (>= 21, 4 [S35]) and a fixed criterion of 12 points.
SERVICE_FILE = """
[overrides.SPIN]
adsm_caseness = 19
adsm_source = "SPIN >= 19, clinical-reference 4 [S36]"
rci_sd = 10.0
rci_reliability = 0.875
rci_source = "service baseline sample"

[overrides.OCIR]
adsm_caseness = 21
adsm_source = "OCI-R >= 21, clinical-reference 4 [S35]"
reliable_change = 12
reliable_change_source = "service criterion"
"""
SERVICE_SETTINGS = {
    "programme_problem_descriptors": {"social_anxiety": "social anxiety disorder", "ocd": "OCD"},
    "anxiety_measure_by_descriptor": {"OCD": "OCIR"},  # 3.3 names "OCI": OCI-R only when configured
    "small_cell_min": 1,
}


@pytest.fixture
def service_registry(tmp_path, monkeypatch):
    """The process's registry with the service's file (as DASHBOARD_INSTRUMENTS makes it)."""
    path = tmp_path / "instruments.toml"
    path.write_text(SERVICE_FILE)
    monkeypatch.setattr(measures.INSTRUMENTS, "_registry", load_registry(path, DEFAULTS))
    return path


def service_settings():
    return parse_settings(SERVICE_SETTINGS)


# ---------------------------------------------------------------- the registry's ADSM fields


def test_the_criterion_of_the_service_file_is_the_reference_formula(service_registry):
    spin = measures.INSTRUMENTS["SPIN"]
    assert rci_criterion(10.0, 0.875) == pytest.approx(9.8)  # 1.96 x 10 x sqrt(0.25)
    assert (spin.adsm_caseness, spin.reliable_change) == (19, pytest.approx(9.8))
    assert spin.caseness == 19 and spin.caseness_label == "social phobia vs controls"  # the shipped cut-off line


def test_no_shipped_instrument_is_an_adsm():
    """3.3: "the ADSM values are not fixed by the sources cited here": none ships."""
    assert all(i.adsm_caseness is None for i in load_registry(None, DEFAULTS).values())


ADSM_REFUSALS = [
    ("no reliable-change criterion", "[overrides.SPIN]\nadsm_caseness = 19\nadsm_source = 'x'\n", "SPIN",
     "adsm_caseness", "needs a reliable-change criterion too"),
    ("no source", "[overrides.OCIR]\nadsm_caseness = 21\nreliable_change = 12\n", "OCIR", "adsm_source",
     "say where adsm_caseness comes from"),
    ("a source alone", "[overrides.OCIR]\nadsm_source = 'x'\n", "OCIR", "adsm_source", "given without adsm_caseness"),
    ("outside the total", "[overrides.OCIR]\nadsm_caseness = 73\nadsm_source = 'x'\nreliable_change = 12\n", "OCIR",
     "adsm_caseness", "ADSM caseness 73 is outside 1-72"),
    ("not a number", "[overrides.OCIR]\nadsm_caseness = 'high'\n", "OCIR", "adsm_caseness", "must be a number"),
    ("GAD-7", "[overrides.GAD7]\nadsm_caseness = 8\nadsm_source = 'x'\n", "GAD7", "adsm_caseness",
     "GAD-7 is the default anxiety measure"),
    ("PHQ-9", "[overrides.PHQ9]\nadsm_caseness = 10\nadsm_source = 'x'\n", "PHQ9", "adsm_caseness",
     "PHQ-9 is the depression measure"),
    ("AUDIT", "[overrides.AUDIT]\nadsm_caseness = 8\nadsm_source = 'x'\n", "AUDIT", "adsm_caseness",
     "not a change instrument"),
]  # fmt: skip


@pytest.mark.parametrize("case,text,code,field,words", ADSM_REFUSALS, ids=[r[0] for r in ADSM_REFUSALS])
def test_an_adsm_is_refused_naming_its_field(tmp_path, case, text, code, field, words):
    path = tmp_path / "instruments.toml"
    path.write_text(text)
    with pytest.raises(InstrumentFileError) as caught:
        load_registry(path, DEFAULTS)
    assert str(caught.value).startswith(f"{path}: instrument {code!r}, field {field!r}: "), caught.value
    assert words in str(caught.value)


# ---------------------------------------------------------------- the settings


def test_the_measure_table_defaults_to_clinical_reference_3_3():
    assert DEFAULTS["programme_problem_descriptors"] == {}
    assert REFERENCE_ANXIETY_MEASURES == {
        "depression": "GAD7",
        "GAD": "GAD7",
        "mixed anxiety/depression": "GAD7",
        "none recorded": "GAD7",
        "social anxiety disorder": "SPIN",
        "PTSD": "IESR",  # IES-R
        "agoraphobia": "MI",  # Mobility Inventory
        "OCD": "OCI",  # "OCI", not OCI-R
        "panic disorder": "PDSS",
        "health anxiety": "HAI",
    }


def test_a_service_table_replaces_only_the_descriptors_it_lists():
    measures_ = service_settings().anxiety_measure_by_descriptor
    assert measures_["OCD"] == "OCIR" and measures_["social anxiety disorder"] == "SPIN"
    assert DEFAULTS["anxiety_measure_by_descriptor"]["OCD"] == "OCI"  # the default is not changed


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"programme_problem_descriptors": "social anxiety"}, "must be a table"),
        ({"programme_problem_descriptors": {"ocd": 3}}, "'ocd' must be text"),
        ({"anxiety_measure_by_descriptor": {"OCD": ""}}, "'OCD' must be text"),
    ],
)
def test_a_table_setting_of_the_wrong_kind_is_refused(overrides, words):
    with pytest.raises(ConfigError, match=words):
        parse_settings(overrides)


@pytest.mark.parametrize(
    "settings_toml, words",
    [
        (
            'programme_problem_descriptors = { ocd = "obsessions" }',
            "Setting 'programme_problem_descriptors': programme 'ocd' has descriptor 'obsessions', which "
            "'anxiety_measure_by_descriptor' does not list",
        ),
        (
            'anxiety_measure_by_descriptor = { OCD = "OCRI" }',
            "Setting 'anxiety_measure_by_descriptor': descriptor 'OCD' names instrument 'OCRI', which the "
            "instrument registry does not have",
        ),
        ('anxiety_measure_by_descriptor = { OCD = "PHQ9" }', "names PHQ-9, the depression measure"),
    ],
)
def test_start_up_refuses_a_mapping_that_cannot_work(settings_toml, words):
    with pytest.raises(ConfigError) as caught:
        load_config(env={"DASHBOARD_SETTINGS": settings_toml}, secrets={})
    assert words in str(caught.value)


def test_the_settings_load_from_the_environment_and_the_defaults_may_name_absent_instruments():
    config = load_config(
        env={"DASHBOARD_SETTINGS": 'programme_problem_descriptors = { ptsd = "PTSD", ocd = "OCD" }'}, secrets={}
    )
    assert config.settings.programme_problem_descriptors == {"ptsd": "PTSD", "ocd": "OCD"}
    assert "IESR" not in config.instruments  # IES-R is named by 3.3, not shipped: GAD-7 until a service adds it


def test_the_snapshot_hash_follows_the_new_settings():
    """A change of mapping rebuilds the team's kept Caseload (dashboard/team_snapshot.py)."""
    base = settings_hash(parse_settings({}), ZONE)
    assert settings_hash(parse_settings({"programme_problem_descriptors": {"ocd": "OCD"}}), ZONE) != base
    assert settings_hash(parse_settings({"anxiety_measure_by_descriptor": {"OCD": "OCIR"}}), ZONE) != base
    assert settings_hash(parse_settings({}), ZONE) == base


def test_the_snapshot_hash_follows_an_adsm_in_the_registry(service_registry, monkeypatch):
    configured = settings_hash(parse_settings({}), ZONE)
    monkeypatch.setattr(measures.INSTRUMENTS, "_registry", load_registry(None, DEFAULTS))
    assert settings_hash(parse_settings({}), ZONE) != configured


# ---------------------------------------------------------------- which measure a programme uses


def test_without_configuration_every_programme_uses_gad7():
    for programme in ("depression", "social_anxiety", "ocd", None):
        plan = anxiety_plan(programme, parse_settings({}))
        assert (plan.descriptor, plan.measure.code, plan.uses_adsm) == ("none recorded", "GAD7", False)
        assert (plan.measure.caseness, plan.measure.reliable_change) == (8, 4)  # GAD-7, clinical-reference 2.2-2.3


def test_a_mapped_programme_keeps_gad7_until_its_adsm_is_configured():
    settings = service_settings()
    social = anxiety_plan("social_anxiety", settings)  # the shipped registry: SPIN has no ADSM values
    assert (social.named, social.measure.code) == ("SPIN", "GAD7")
    assert social.why_gad7 == "SPIN has no ADSM caseness and reliable change configured"
    ocd = anxiety_plan("ocd", parse_settings({"programme_problem_descriptors": {"ocd": "OCD"}}))
    assert (ocd.named, ocd.measure.code, ocd.why_gad7) == ("OCI", "GAD7", "OCI is not in the instrument registry")


def test_a_configured_adsm_is_used_and_oci_r_is_labelled_as_such(service_registry):
    settings = service_settings()
    social, ocd = anxiety_plan("social_anxiety", settings), anxiety_plan("ocd", settings)
    assert (social.measure.name, social.measure.caseness, social.measure.reliable_change) == (
        "SPIN",
        19,
        pytest.approx(9.8),
    )
    assert (ocd.named, ocd.measure.name, ocd.measure.caseness, ocd.measure.reliable_change) == ("OCIR", "OCI-R", 21, 12)
    assert anxiety_plan("depression", settings).measure.code == "GAD7"  # not mapped: "none recorded"
    assert "OCD (programme ocd): OCI-R, caseness >= 21 and reliable change of 12 points" in anxiety_definition(settings)


@pytest.mark.parametrize(
    "spin, phq, expected",
    [
        # SPIN -25 (>= 9.8) and below 19 at the end; PHQ-9 12 -> 8: recovered, reliably
        ((40, 15), (12, 8), dict(recovery=True, reliable_improvement=True, reliable_deterioration=False)),
        # SPIN -9 (< 9.8) to 19, still at caseness (>= 19 inclusive): not recovered, no reliable change
        ((28, 19), (11, 9), dict(recovery=False, reliable_improvement=False, reliable_deterioration=False)),
        # SPIN -10 (>= 9.8) to 18: recovered and reliably improved
        ((28, 18), (11, 9), dict(recovery=True, reliable_improvement=True, reliable_deterioration=False)),
        # SPIN 19 at the start is caseness though PHQ-9 is 8 (3.1: "or the ADSM cut-off"); +10 deteriorates
        ((19, 29), (8, 8), dict(recovery=False, reliable_improvement=False, reliable_deterioration=True)),
    ],
)
def test_the_section_3_2_rule_with_spin_as_the_anxiety_measure(service_registry, spin, phq, expected):
    o = nhs_outcome(
        phq[0], phq[1], spin[0], spin[1], anxiety=anxiety_plan("social_anxiety", service_settings()).measure
    )
    assert {k: getattr(o, k) for k in expected} == expected
    assert o.case_start


# ---------------------------------------------------------------- a hand-built cohort, both backends


@pytest.fixture
def platform(db_url) -> Platform:
    p = Platform(make_engine(db_url), NOW)
    db.upgrade(p.engine)
    return p


def course(
    p: Platform,
    code: str,
    program: str,
    phq: tuple[int, int],
    gad: tuple[int, int] | None,
    adsm: tuple[int, ...] = (),
    therapist: int = 1,
) -> int:
    """A finished course (two modules, completed ten days ago) with these first and last scores."""
    pid = p.patient(code, program=program, therapist=therapist, enrolled_days_ago=80, status="completed",
                    ended_days_ago=10)  # fmt: skip
    for k in (1, 2):
        p.module(pid, program, k, 80 - 7 * k, 76 - 7 * k)
    p.phq9(pid, 79, phq[0])
    p.phq9(pid, 12, phq[1])
    if gad is not None:
        p.gad7(pid, 79, gad[0])
        p.gad7(pid, 12, gad[1])
    instrument = {"social_anxiety": "SPIN", "ocd": "OCIR"}.get(program)
    for days, total in zip((78, 13), adsm):
        p.questionnaire(pid, instrument, days, total)
    return pid


@pytest.fixture
def cohort(platform):
    p = platform
    ids = {
        # SPIN pairs: 40 -> 15 recovered and reliably improved (by GAD-7 10 -> 9 it would not be)
        "SA-1": course(p, "SA-1", "social_anxiety", (12, 8), (10, 9), (40, 15)),
        # SPIN 28 -> 19: still at caseness, no reliable change (by GAD-7 10 -> 3 it would be recovered)
        "SA-3": course(p, "SA-3", "social_anxiety", (11, 9), (10, 3), (28, 19)),
        # SPIN 19 -> 29: reliable deterioration (+10 >= 9.8)
        "SA-4": course(p, "SA-4", "social_anxiety", (8, 8), (6, 6), (19, 29)),
        # one SPIN only, no pair: GAD-7 the back-up, 12 -> 5 recovered and reliably improved
        "SA-2": course(p, "SA-2", "social_anxiety", (15, 5), (12, 5), (30,)),
        # OCI-R 30 -> 15 (-15 >= 12, below 21): recovered (by GAD-7 9 -> 8 still at caseness)
        "OCD-1": course(p, "OCD-1", "ocd", (10, 6), (9, 8), (30, 15), therapist=2),
        # a depression programme, not mapped: GAD-7 as today
        "DEP-1": course(p, "DEP-1", "depression", (16, 6), (12, 5), therapist=2),
    }
    return p, ids


def lead(p: Platform):
    return load_viewer(p.engine, "lead.a")


def episodes_of(p: Platform, settings) -> pd.DataFrame:
    period = cl.Filters(p.now - timedelta(days=90), p.now)  # the platform's clock (an app platform's is today)
    with p.engine.connect() as conn:
        episodes = cl.finished_episodes(conn, lead(p), period, settings, period.start)
    return episodes.set_index("patient_id")


def test_each_course_uses_its_programmes_adsm_with_gad7_as_the_back_up(cohort, service_registry):
    p, ids = cohort
    got = episodes_of(p, service_settings())
    expected = {  # measure, recovery, reliable improvement, reliable deterioration
        "SA-1": ("SPIN", True, True, False),
        "SA-3": ("SPIN", False, False, False),
        "SA-4": ("SPIN", False, False, True),
        "SA-2": ("GAD7", True, True, False),
        "OCD-1": ("OCIR", True, True, False),  # OCI-R -15 >= 12, no reliable increase on PHQ-9
        "DEP-1": ("GAD7", True, True, False),
    }
    for code, (measure, recovery, improvement, deterioration) in expected.items():
        row = got.loc[ids[code]]
        assert row["paired"] and row["anxiety_measure"] == measure, code
        assert (row["recovery"], row["reliable_improvement"], row["reliable_deterioration"]) == (
            recovery,
            improvement,
            deterioration,
        ), code


def test_an_unconfigured_service_pairs_gad7_as_today(cohort):
    p, ids = cohort
    got = episodes_of(p, parse_settings({"small_cell_min": 1}))  # shipped registry, no mapping
    assert set(got["anxiety_measure"]) == {"GAD7"}
    # by GAD-7 (caseness 8, reliable change 4): SA-1 ends at 9 >= 8, not recovered; SA-3 10 -> 3 recovered
    assert not got.loc[ids["SA-1"], "recovery"] and got.loc[ids["SA-3"], "recovery"]
    assert not got.loc[ids["OCD-1"], "recovery"]  # GAD-7 8 at the end is caseness
    # the mapping alone changes nothing while SPIN and OCI-R have no ADSM values
    mapped = episodes_of(p, service_settings())
    assert mapped[["anxiety_measure", *cl.OUTCOME_RATES]].equals(got[["anxiety_measure", *cl.OUTCOME_RATES]])


def test_a_course_without_either_anxiety_pair_has_no_paired_scores(platform, service_registry):
    pid = course(platform, "SA-NONE", "social_anxiety", (15, 5), None, (30,))
    row = episodes_of(platform, service_settings()).loc[pid]
    assert not row["paired"] and row["anxiety_measure"] is None


def caseload_of(p: Platform, settings) -> cl.Caseload:
    return cl.caseload(p.engine, p.engine, lead(p), PERIOD, settings, ZONE)


def test_the_outcome_tables_name_the_measure_behind_each_rate(cohort, service_registry):
    p, _ = cohort
    result = caseload_of(p, service_settings())
    by_programme = result.outcomes.set_index("name")
    social = by_programme.loc["Social anxiety"]
    assert social["anxiety_measure"] == "SPIN 3 · GAD-7 back-up 1"
    assert social["anxiety_courses"] == {"SPIN": 3, "GAD7": 1}
    # SA-1 and SA-2 recovered of 4 at caseness; SA-4 deteriorated of 4 paired
    assert (social["recovery_numerator"], social["recovery_denominator"]) == (2, 4)
    assert (social["reliable_deterioration_numerator"], social["reliable_deterioration_denominator"]) == (1, 4)
    assert by_programme.loc["OCD", "anxiety_measure"] == "OCI-R"
    assert by_programme.loc["Depression", "anxiety_measure"] == "GAD-7"
    by_therapist = result.outcomes_by_therapist.set_index("name")
    assert by_therapist.loc["Therapist A", "anxiety_measure"] == "SPIN 3 · GAD-7 1"
    assert by_therapist.loc["Therapist B", "anxiety_measure"] == "GAD-7 1 · OCI-R 1"  # by courses, then code
    assert (
        "social anxiety disorder (programme social_anxiety): SPIN, caseness >= 19 and reliable change of 9.8"
        in (result.definitions["anxiety_measure"])
    )
    assert result.definitions["paired"].startswith(
        "first and last valid PHQ-9 and anxiety measure (GAD-7, or the programme's ADSM) of the episode"
    )
    csv = outcomes_table(result.outcomes, "Programme").set_index("Programme")
    assert csv.loc["Social anxiety", "Anxiety measure"] == "SPIN 3 · GAD-7 back-up 1"


def test_the_report_json_and_html_name_the_measure(cohort, service_registry):
    p, _ = cohort
    settings = service_settings()
    result = caseload_of(p, settings)
    body = report.to_json(result, settings)
    social = body["outcomes"]["Social anxiety"]
    assert social["anxiety_measure"] == "SPIN 3 · GAD-7 back-up 1"
    assert social["anxiety_measure_courses"] == {"SPIN": 3, "GAD7": 1}
    assert body["outcomes"]["OCD"]["anxiety_measure"] == "OCI-R"
    assert body["outcomes_by_therapist"]["Therapist B"]["anxiety_measure_courses"] == {"OCIR": 1, "GAD7": 1}
    html = report.to_html(result, settings, ZONE, datetime(2026, 3, 10, 12, 0))
    assert "<th>Anxiety measure</th>" in html
    assert "<td>SPIN 3 · GAD-7 back-up 1</td>" in html and "<td>OCI-R</td>" in html
    assert "SPIN, caseness &gt;= 19 and reliable change of 9.8 points" in html


def test_an_unconfigured_report_says_gad7(cohort):
    p, _ = cohort
    settings = parse_settings({})
    body = report.to_json(caseload_of(p, settings), settings)
    assert {o["anxiety_measure"] for o in body["outcomes"].values()} == {"GAD-7"}
    assert body["definitions"]["anxiety_measure"] == "NHS-style outcomes pair PHQ-9 with GAD-7 (clinical-reference 3.3)"
    assert body["definitions"]["paired"].startswith("first and last valid PHQ-9 and GAD-7 of the episode")


# ---------------------------------------------------------------- the Caseload page (AppTest)


def caseload_page():
    at = logged_in("lead.a")  # a team lead lands on the Caseload
    at.switch_page(str(PAGES_DIR / "caseload.py"))
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_caseload_page_names_the_anxiety_measure_per_programme(app_platform, tmp_path, monkeypatch):
    p = app_platform
    path = tmp_path / "service-instruments.toml"
    path.write_text(SERVICE_FILE)
    monkeypatch.setenv("DASHBOARD_INSTRUMENTS", str(path))
    monkeypatch.setenv(
        "DASHBOARD_SETTINGS",
        'programme_problem_descriptors = { social_anxiety = "social anxiety disorder", ocd = "OCD" }\n'
        'anxiety_measure_by_descriptor = { OCD = "OCIR" }\n',
    )
    monkeypatch.setattr(measures.INSTRUMENTS, "_registry", load_config().instruments)
    course(p, "SA-1", "social_anxiety", (12, 8), (10, 9), (40, 15))
    course(p, "SA-2", "social_anxiety", (15, 5), (12, 5), (30,))
    course(p, "OCD-1", "ocd", (10, 6), (9, 8), (30, 15))
    course(p, "DEP-1", "depression", (16, 6), (12, 5))
    at = caseload_page()
    outcomes = table_with(at, "name", "anxiety_measure", "Recovery").set_index("name")
    assert outcomes.loc["Social anxiety", "anxiety_measure"] == "SPIN 1 · GAD-7 back-up 1"
    assert outcomes.loc["OCD", "anxiety_measure"] == "OCI-R"
    assert outcomes.loc["Depression", "anxiety_measure"] == "GAD-7"
    captions = " ".join(c.value for c in at.caption)
    assert "OCD (programme ocd): OCI-R, caseness >= 21 and reliable change of 12 points" in captions


def test_the_caseload_page_says_gad7_without_configuration(app_platform):
    course(app_platform, "SA-1", "social_anxiety", (12, 8), (10, 9), (40, 15))
    at = caseload_page()
    outcomes = table_with(at, "name", "anxiety_measure", "Recovery").set_index("name")
    assert outcomes.loc["Social anxiety", "anxiety_measure"] == "GAD-7"
    assert outcomes.loc["Social anxiety", "Recovery"] == "too few to show"  # one course, small_cell_min 5


# ---------------------------------------------------------------- the patient page agrees (AppTest)


def configure_service(tmp_path, monkeypatch) -> None:
    """The service's instrument file and mapping, as the Caseload page test sets them."""
    path = tmp_path / "service-instruments.toml"
    path.write_text(SERVICE_FILE)
    monkeypatch.setenv("DASHBOARD_INSTRUMENTS", str(path))
    monkeypatch.setenv(
        "DASHBOARD_SETTINGS",
        'programme_problem_descriptors = { social_anxiety = "social anxiety disorder", ocd = "OCD" }\n'
        'anxiety_measure_by_descriptor = { OCD = "OCIR" }\n',
    )
    monkeypatch.setattr(measures.INSTRUMENTS, "_registry", load_config().instruments)


def patient_page_text(code: str) -> str:
    """The patient page's Markdown and captions as a reader sees them (md()'s escapes removed)."""
    at = open_patient("ther.a", code)
    return (
        " ".join([m.value for m in at.markdown] + [c.value for c in at.caption]).replace("\\", "").replace("\u2060", "")
    )


def status_words(row: pd.Series) -> str:
    """The patient page's words for an episodes-frame row's outcome (3.2)."""
    words = ["recovered" if row["recovery"] else "not recovered"]
    words.append("reliably improved" if row["reliable_improvement"] else "not reliably improved")
    if row["reliable_recovery"]:
        words.append("reliable recovery")
    if row["reliable_deterioration"]:
        words.append("**reliable deterioration**")
    return ", ".join(words)


PAGE_CASES = [
    # configured: SPIN 40 -> 15 recovered (by GAD-7 10 -> 9 the patient would not be)
    ("SPIN pair", True, "SA-1", "SPIN", "PHQ-9 and SPIN"),
    # configured: SPIN 19 -> 29, +10 >= 9.8: reliable deterioration
    ("SPIN deterioration", True, "SA-4", "SPIN", "PHQ-9 and SPIN"),
    # configured: one SPIN only, GAD-7 12 -> 5 the back-up (3.3)
    ("back-up", True, "SA-2", "GAD7", "PHQ-9 and GAD-7 (back-up: no SPIN pair)"),
    # configured: OCI-R 30 -> 15 (-15 >= 12)
    ("OCI-R pair", True, "OCD-1", "OCIR", "PHQ-9 and OCI-R"),
    # no configuration: GAD-7 for everyone, as before (SA-1 ends at GAD-7 9 >= 8: not recovered)
    ("unconfigured", False, "SA-1", "GAD7", "PHQ-9 and GAD-7"),
    ("unconfigured, mapped programme", False, "OCD-1", "GAD7", "PHQ-9 and GAD-7"),
]


@pytest.mark.parametrize("case,configured,code,measure,named", PAGE_CASES, ids=[c[0] for c in PAGE_CASES])
def test_the_patient_page_has_the_caseloads_paired_status_and_names_the_measure(
    app_platform, tmp_path, monkeypatch, case, configured, code, measure, named
):
    p = app_platform
    if configured:
        configure_service(tmp_path, monkeypatch)
    cohort_rows = {
        "SA-1": ("social_anxiety", (12, 8), (10, 9), (40, 15)),
        "SA-4": ("social_anxiety", (8, 8), (6, 6), (19, 29)),
        "SA-2": ("social_anxiety", (15, 5), (12, 5), (30,)),
        "OCD-1": ("ocd", (10, 6), (9, 8), (30, 15)),
    }
    program, phq, gad, adsm_scores = cohort_rows[code]
    pid = course(p, code, program, phq, gad, adsm_scores)
    row = episodes_of(p, load_config().settings).loc[pid]  # the settings the app runs with
    assert row["paired"] and row["anxiety_measure"] == measure
    text = patient_page_text(code)
    assert f"NHS Talking Therapies paired status, first and last {named}: {status_words(row)}." in text, text


def test_the_patient_page_and_caseload_disagree_with_gad7_where_spin_decides(app_platform, tmp_path, monkeypatch):
    """SA-1 by SPIN is recovered, by GAD-7 (ends at 9 >= 8) not: the page follows the programme."""
    configure_service(tmp_path, monkeypatch)
    course(app_platform, "SA-1", "social_anxiety", (12, 8), (10, 9), (40, 15))
    text = patient_page_text("SA-1")
    assert "first and last PHQ-9 and SPIN: recovered, reliably improved, reliable recovery." in text


def test_the_patient_page_names_the_planned_pair_before_any_is_paired(app_platform, tmp_path, monkeypatch):
    configure_service(tmp_path, monkeypatch)
    course(app_platform, "SA-NONE", "social_anxiety", (15, 5), None, (30,))
    course(app_platform, "DEP-NONE", "depression", (15, 5), None)
    assert "paired status (PHQ-9 + SPIN, GAD-7 the back-up): no paired scores yet." in patient_page_text("SA-NONE")
    assert "paired status (PHQ-9 + GAD-7): no paired scores yet." in patient_page_text("DEP-NONE")
