"""The team lead's Caseload page in another language (issue 21): its title, sections,
metric cards, definitions, column labels and buttons come from the catalogs, and in the
pseudo-locale nothing it shows bypasses them (words of other slices' modules aside)."""

import json
import re

import pytest
from sqlalchemy import select

from dashboard import i18n
from dashboard.schema import clinicians, modules, patients, programs, teams
from dashboard.ui.nav import PAGES_DIR
from tests.apptest import logged_in
from tests.pseudo import shown_texts, unmarked
from tests.test_caseload_page import caseload_team

CASELOAD = str(PAGES_DIR / "caseload.py")


@pytest.fixture
def team(app_platform):
    return caseload_team(app_platform)


def caseload_in(monkeypatch, code: str):
    monkeypatch.setenv("DASHBOARD_LANGUAGE", code)  # no stored choice: the setting decides
    at = logged_in("lead.a")  # a team lead lands on Caseload
    assert not at.exception, at.exception
    return at


def column_labels(at, *columns: str) -> dict[str, str]:
    """The header each data column shows (column_config's label), for the table holding these columns."""
    frame = next(d for d in at.dataframe if set(columns) <= set(d.value.columns))
    config = json.loads(frame.proto.columns)
    return {name: config[name]["label"] for name in columns if "label" in config.get(name, {})}


def platform_names(engine) -> set[str]:
    """Platform data shown as is: team, programme and module titles, clinicians' names, patient codes."""
    with engine.connect() as conn:
        rows = [
            *conn.execute(select(teams.c.name)),
            *conn.execute(select(programs.c.name)),
            *conn.execute(select(modules.c.title)),
            *conn.execute(select(clinicians.c.display_name)),
            *conn.execute(select(patients.c.code)),
        ]
    return {str(r[0]) for r in rows if r[0]}


def test_caseload_speaks_swedish(team, monkeypatch):
    at = caseload_in(monkeypatch, "sv")
    assert at.title[0].value == "Patientbelastning · North"
    assert [h.value for h in at.subheader] == [
        "Denna period",
        "Var tappar vi patienter?",
        "Vem är överbelastad?",
        "Blir människor bättre?",
        "Håller allmänläkarna uppföljningarna?",
        "Trender · senaste 26 veckorna",
    ]
    cards = {m.label: m.value for m in at.metric}
    assert cards["Aktiva patienter"] == "2"
    assert {"Mediantid till svar", "Öppna triageärenden", "Eskalerade risker"} <= set(cards)
    assert [w.label for w in at.selectbox][:2] == ["Program", "Behandlare"]  # then the sidebar's language
    assert at.selectbox[0].options[0] == "Alla program"
    assert at.date_input(key="caseload_period").label == "Rapportperiod"
    assert at.toggle[0].label == "Inskrivningskohort"
    captions = [c.value for c in at.caption]
    # definitions, with the settings' numbers in them (the small-cell note capitalised as a sentence)
    assert any("Avhopp: avbröt innan alla moduler slutförts, eller ingen aktivitet på" in c for c in captions)
    assert any(c.startswith("Definitioner enligt NHS Talking Therapies (clinical-reference 3).") for c in captions)
    assert any("Andelar över färre än" in c and 'visas som "för få"' in c for c in captions)
    assert any(" · period " in c for c in captions)  # the period line after the freshness
    assert column_labels(at, "programme", "enrolled", "dropout_rate", "completion_rate", "withdrawn_early") == {
        "programme": "Program",
        "enrolled": "Inskrivna",
        "dropout_rate": "Avhopp",
        "completion_rate": "Fullföljande",
        "withdrawn_early": "Avbröt i förtid",
    }
    assert column_labels(at, "code", "last_activity_at", "days_inactive") == {
        "code": "Patient",
        "last_activity_at": "Senaste aktivitet",
        "days_inactive": "Inaktiv",
    }
    assert column_labels(at, "name", "Recovery", "Reliable deterioration", "finished", "in_progress") == {
        "name": "",
        "Recovery": "Återhämtning",
        "Reliable deterioration": "Tillförlitlig försämring",
        "finished": "Avslutade förlopp",
        "in_progress": "Pågående",
    }
    workload = column_labels(at, "therapist", "open_items", "caseload", "reasons")
    assert workload == {
        "therapist": "Behandlare",
        "open_items": "Öppna ärenden",
        "caseload": "Patientbelastning",
        "reasons": "Orsaker",
    }
    buttons = {b.proto.label for b in at.get("download_button")}
    assert {"Utskrivbar rapport (HTML)", "Alla tabeller (zip med CSV)", "Arbetsbelastning (CSV)"} <= buttons
    # the data codes stay English: the outcome tables' columns, the workload's figures
    assert "Recovery" in next(d.value for d in at.dataframe if "Recovery" in d.value.columns).columns


def test_caseload_headline_and_lapsed_in_finnish(team, monkeypatch):
    at = caseload_in(monkeypatch, "fi")
    assert at.title[0].value == "Potilaskuorma · North"
    cards = {m.label for m in at.metric}
    assert {"Aktiiviset potilaat", "Vastausajan mediaani", "Avoimet triage-asiat"} <= cards
    assert any(m.value.endswith("%") and "\xa0" in m.value for m in at.metric)  # 50 % in Finnish, a space before %
    lapsed = next(d.value for d in at.dataframe if "days_inactive" in d.value.columns)
    assert list(lapsed["progress"]) == ["0/8 moduulia"]


# Words other slices translate, shown on Caseload before their slices merge (tighten after):
# timeutil.freshness_line's "Data as of {time} on {day}" ("domain" helper).
OTHER_SLICES = {"Data as of on"}
# Shown as is: the national figures' source, a service's name (caseload.NATIONAL).
NAMES = {"NHS Talking Therapies"}
INNERMOST = re.compile(re.escape(i18n.PSEUDO_OPEN) + r"[^⟦⟧]*" + re.escape(i18n.PSEUDO_CLOSE))


def without_nested_markers(text: str) -> str:
    """A translated sentence with a translated definition inside it is ⟦…⟦…⟧…⟧; tests.pseudo's
    non-greedy marker stops at the inner ⟧, so the markers are removed innermost first."""
    while (stripped := INNERMOST.sub(" ", text)) != text:
        text = stripped
    return text


def test_caseload_goes_through_the_catalogs(team, monkeypatch):
    """In the pseudo-locale every word the lead's Caseload shows is inside ⟦…⟧, apart from
    platform names and the words of other slices' modules (OTHER_SLICES)."""
    at = caseload_in(monkeypatch, i18n.PSEUDO)
    assert at.title[0].value.startswith(i18n.PSEUDO_OPEN)
    names = platform_names(team.engine) | NAMES
    left = [w for w in (unmarked(without_nested_markers(t), names) for t in shown_texts(at)) if w]
    assert [w for w in left if w not in OTHER_SLICES] == [], left
