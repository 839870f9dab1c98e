"""Languages (issue 21): complete catalogs, local formats, plural rules, the
per-login choice in the state database, and the app switching language."""

import sqlite3
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from babel.messages import pofile
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from sqlalchemy import inspect
from streamlit.testing.v1 import AppTest

from dashboard import charts, db, i18n, preferences
from dashboard.cli import main as cli_main
from dashboard.config import ConfigError, load_config
from dashboard.engine import make_engine
from tests.apptest import logged_in

ROOT = Path(__file__).resolve().parents[1]
TRANSLATED = [code for code in i18n.LANGUAGES if code != i18n.SOURCE]
NBSP = "\xa0"


def code_messages() -> set[str]:
    """Every msgid the code marks, extracted with babel.cfg's mapping and ``N_``, as pybabel does."""
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    with (ROOT / "babel.cfg").open() as fp:
        from babel.messages.frontend import parse_mapping_cfg

        method_map, options_map = parse_mapping_cfg(fp)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def read_catalog(code: str):
    with i18n.catalog_path(code).open("rb") as fp:
        return pofile.read_po(fp, locale=code)


@pytest.fixture(scope="module")
def marked() -> set[str]:
    return code_messages()


def test_the_first_slice_is_marked(marked):
    """The login page, menu, sidebar and faults are what this slice marks."""
    assert {"Username", "Login", "Log out", "Language", "Triage", "My patients", "Retry"} <= marked


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_marked_string_is_translated_and_nothing_is_fuzzy_or_obsolete(code, marked):
    catalog = read_catalog(code)
    ids = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    missing = sorted(marked - set(ids))
    untranslated = sorted(i for i, m in ids.items() if not m.string or not all(m.string))
    fuzzy = sorted(i for i, m in ids.items() if m.fuzzy)
    obsolete = sorted(set(ids) - marked) + sorted(catalog.obsolete)
    assert (missing, untranslated, fuzzy, obsolete) == ([], [], [], []), code
    assert "UNREVIEWED" in i18n.catalog_path(code).read_text(encoding="utf-8").splitlines()[0]


def test_the_template_holds_what_the_code_marks(marked):
    with (i18n.LOCALE_DIR / "caseboard.pot").open("rb") as fp:
        template = pofile.read_po(fp)
    assert {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id} == marked


@pytest.mark.parametrize("code", TRANSLATED)
def test_placeholders_survive_translation(code):
    """A msgstr that drops or renames {minutes} would raise KeyError on the page."""
    import string

    for m in read_catalog(code):
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        wanted = {f for _t, f, _s, _c in string.Formatter().parse(ids[-1]) if f}
        for s in strings:
            assert {f for _t, f, _s, _c in string.Formatter().parse(s) if f} <= wanted | set(), (code, m.id, s)


FORMATS = [  # (language, 1 Dec 2026, without its year, 09:05 that day, 1234.5 with one decimal, 0.518 in %)
    ("en", "01 Dec 2026", "01 Dec", "01 Dec 2026 09:05", "1,234.5", "51.8%"),
    ("sv", "1 dec. 2026", "1 dec.", "1 dec. 2026 09:05", f"1{NBSP}234,5", f"51,8{NBSP}%"),
    ("nb", "1. des. 2026", "1. des.", "1. des. 2026, 09:05", f"1{NBSP}234,5", f"51,8{NBSP}%"),
    ("fi", "1.12.2026", "1.12.", "1.12.2026 9.05", f"1{NBSP}234,5", f"51,8{NBSP}%"),
    ("fr_CA", "1 déc. 2026", "1 déc.", "1 déc. 2026, 09 h 05", f"1{NBSP}234,5", f"51,8{NBSP}%"),
]


@pytest.mark.parametrize(("code", "day", "short_day", "day_time", "number", "percent"), FORMATS)
def test_dates_numbers_and_percentages_follow_the_language(code, day, short_day, day_time, number, percent):
    with i18n.language(code):
        assert i18n.format_day(date(2026, 12, 1)) == day
        assert i18n.format_day(date(2026, 12, 1), year=False) == short_day
        assert i18n.format_day_time(datetime(2026, 12, 1, 9, 5), ZoneInfo("UTC")) == day_time
        assert i18n.format_number(1234.5, 1) == number
        assert i18n.format_percent(0.518, 1) == percent


def test_a_time_is_the_service_zones_wall_time_and_day():
    late = datetime(2026, 11, 30, 23, 49)  # stored as naive UTC: already 1 Dec in Stockholm
    with i18n.language("sv"):
        assert i18n.format_day(late, ZoneInfo("Europe/Stockholm")) == "1 dec. 2026"
        assert i18n.format_day_time(late, ZoneInfo("Europe/Stockholm")) == "1 dec. 2026 00:49"
    with i18n.language("fi"):
        assert i18n.format_day_time(late, ZoneInfo("Europe/Helsinki"), seconds=True) == "1.12.2026 1.49.00"


@pytest.mark.parametrize(
    ("value", "code", "shown"),
    [
        (None, "en", "—"),
        (pd.NaT, "fi", "—"),  # a platform date that could not be read
        (pd.Timestamp("2026-11-30 23:49"), "en", "01 Dec 2026"),  # naive UTC: already 1 Dec in Stockholm
        (datetime(2026, 11, 30, 23, 49), "fi", "1.12.2026"),
        (date(2026, 11, 30), "sv", "30 nov. 2026"),  # a calendar day is shown as it is
    ],
)
def test_a_day_of_the_record_or_a_dash(value, code, shown):
    """The patient pages' and the agenda's one rule for a day that may be missing."""
    with i18n.language(code):
        assert i18n.format_day_or_dash(value, ZoneInfo("Europe/Stockholm")) == shown


@pytest.mark.parametrize(
    ("code", "axis", "december"),
    [("en", "%d %b", "Dec"), ("sv", "%-d %b", "dec."), ("fi", "%-d.%-m.", "joulu"), ("fr_CA", "%-d %b", "déc.")],
)
def test_charts_write_days_and_months_in_the_language(code, axis, december):
    """A trajectory's axis and tooltips name days as the page does, with the language's months."""
    with i18n.language(code):
        spec = charts.legible({"mark": "point", "encoding": {"x": {"axis": charts.date_axis()}}})
    assert spec["encoding"]["x"]["axis"]["format"] == axis
    assert spec["config"]["locale"]["time"]["shortMonths"][11] == december
    assert len(spec["config"]["locale"]["time"]["days"]) == 7
    number = spec["config"]["locale"]["number"]  # an axis's "50 %" and "2,5" as the page writes them
    assert (number["decimal"], number["percent"]) == ((".", "%") if code == "en" else (",", f"{NBSP}%"))


LOGGED_OUT = (
    "You were logged out after {minutes} minute without activity.",
    "You were logged out after {minutes} minutes without activity.",
)


@pytest.mark.parametrize(
    ("code", "n", "expected"),
    [
        ("fr_CA", 0, "après {minutes} minute d’inactivité"),  # French: 0 is singular
        ("fr_CA", 1, "après {minutes} minute d’inactivité"),
        ("fr_CA", 2, "après {minutes} minutes d’inactivité"),
        ("sv", 0, "efter {minutes} minuter utan"),  # Swedish follows English: 0 is plural
        ("sv", 1, "efter {minutes} minut utan"),
        ("sv", 2, "efter {minutes} minuter utan"),
    ],
)
def test_plural_forms_follow_each_languages_rule(code, n, expected):
    with i18n.language(code):
        assert expected in i18n.ngettext(*LOGGED_OUT, n)


def test_the_pseudo_locale_marks_every_translated_string():
    with i18n.language(i18n.PSEUDO):
        assert i18n.gettext("Log out") == "⟦Log out⟧"
        # the literal parts only: what fills a placeholder shows unmarked unless translated itself
        assert i18n.ngettext(*LOGGED_OUT, 2) == "⟦You were logged out after ⟧{minutes}⟦ minutes without activity.⟧"
        assert i18n.gettext("{score} on {date}").format(score="a band", date=2) == "a band⟦ on ⟧2"
        assert i18n.gettext("not a message of the template") == "not a message of the template"  # bare, caught
        assert i18n.format_percent(0.5) == "50%"  # formats as English


@pytest.mark.parametrize(
    ("candidates", "chosen"),
    [
        (("fi", "sv", "en-US"), "fi"),  # the login's stored choice first
        ((None, "nb", "sv-SE"), "nb"),  # then DASHBOARD_LANGUAGE
        ((None, None, "sv-SE"), "sv"),  # then the browser's
        ((None, None, "fr-CA"), "fr_CA"),
        ((None, None, "fr-FR"), "fr_CA"),  # the nearest catalog
        ((None, None, "no"), "nb"),
        ((None, None, "de-DE"), "en"),  # no catalog: English
        ((None, None, None), "en"),
    ],
)
def test_the_language_is_the_stored_choice_then_the_setting_then_the_browser(candidates, chosen):
    assert i18n.choose(*candidates) == chosen


def test_dashboard_language_is_read_and_checked(monkeypatch):
    monkeypatch.setenv("DASHBOARD_LANGUAGE", "fi")
    assert load_config().language == "fi"
    monkeypatch.setenv("DASHBOARD_LANGUAGE", "sv-SE")
    assert load_config().language == "sv"
    monkeypatch.setenv("DASHBOARD_LANGUAGE", i18n.PSEUDO)  # for the coverage check, never offered in the UI
    assert load_config().language == i18n.PSEUDO
    monkeypatch.setenv("DASHBOARD_LANGUAGE", "klingon")
    with pytest.raises(ConfigError, match="DASHBOARD_LANGUAGE"):
        load_config()


def test_every_command_takes_lang(capsys):
    try:
        assert cli_main(["roles", "--lang", "sv", "--app", "caseboard_app"]) == 0
        assert i18n.current_language() == "sv"
        with pytest.raises(SystemExit):
            cli_main(["roles", "--lang", "xx", "--app", "caseboard_app"])
        assert "--lang" in capsys.readouterr().err
    finally:  # the CLI sets the language of this (the test) thread
        i18n.set_language(i18n.SOURCE)


# ---------------------------------------------------------------- the stored choice


def test_the_choice_is_kept_per_login(db_url):
    state = make_engine(db_url)
    db.upgrade(state)
    assert preferences.read_language(state, "therapist1") is None
    preferences.save_language(state, "therapist1", "sv")
    preferences.save_language(state, "therapist1", "fi")  # changed again: one row, the last choice
    preferences.save_language(state, "gp1", "nb")
    assert preferences.read_language(state, "therapist1") == "fi"
    assert preferences.read_language(state, "gp1") == "nb"
    with pytest.raises(ValueError):
        preferences.save_language(state, "gp1", "xx")


def test_migration_0012_up_and_down(db_url):
    from alembic import command

    state = make_engine(db_url)
    db.upgrade(state, "0012")
    preferences.save_language(state, "therapist1", "sv")
    assert "dash_preferences" in inspect(state).get_table_names()
    with state.begin() as conn:
        command.downgrade(db._alembic_config(conn), "-1")
    assert "dash_preferences" not in inspect(state).get_table_names()
    db.upgrade(state, "0012")
    assert preferences.read_language(state, "therapist1") is None


# ---------------------------------------------------------------- the app


@pytest.fixture
def app_env(monkeypatch, demo_db):
    monkeypatch.setenv("DASHBOARD_DB_URL", demo_db)
    monkeypatch.setenv("DASHBOARD_MODE", "demo")
    return demo_db


def menu_and_sidebar(at: AppTest) -> str:
    return "\n".join([*(m.value for m in at.sidebar.markdown), *(b.label for b in at.sidebar.button)])


def test_a_therapist_switches_to_swedish_and_a_new_session_opens_in_it(app_platform):
    at = logged_in("ther.a")
    assert [b.label for b in at.sidebar.button] == ["Log out"]
    at.sidebar.selectbox(key="language_select").set_value("sv").run()
    assert not at.exception, at.exception
    assert [b.label for b in at.sidebar.button] == ["Logga ut"]
    assert at.sidebar.selectbox(key="language_select").label == "Språk"
    assert "Behandlare" in menu_and_sidebar(at)  # the role under the name
    again = logged_in("ther.a")  # another browser session of the same login
    assert [b.label for b in again.sidebar.button] == ["Logga ut"]
    assert logged_in("ther.b").sidebar.button[0].label == "Log out"  # a colleague keeps English


def test_dashboard_language_sets_the_login_page(app_env, monkeypatch):
    monkeypatch.setenv("DASHBOARD_LANGUAGE", "fi")
    at = AppTest.from_file("../dashboard/ui/app.py", default_timeout=60).run()
    assert not at.exception, at.exception
    assert [t.label for t in at.text_input] == ["Käyttäjätunnus", "Salasana"]
    assert at.button[0].label == "Kirjaudu sisään"


def test_the_fault_banner_and_startup_refusals_speak_the_language(tmp_path):
    from sqlalchemy.exc import OperationalError

    from dashboard.ui import faults

    lost = OperationalError("SELECT 1", {}, ConnectionRefusedError())
    with i18n.language("sv"):
        assert faults.message(lost, 2.5).startswith("Caseboard når inte databasen just nu.")
    with i18n.language("fr_CA"):
        stopped = OperationalError("SELECT 1", {}, sqlite3.OperationalError("interrupted"))
        assert "plus de 2,5 s" in faults.message(stopped, 2.5)  # the number in the language's format too


def test_the_run_log_names_pages_in_english_whatever_the_language():
    from dashboard.ui.nav import log_title

    with i18n.language("fi"):
        assert log_title("patients", "therapist") == "My patients"
        assert log_title("caseload", "therapist") == "Caseload (not available)"
        assert log_title("patient", "gp") == "Patient"


# ---------------------------------------------------------------- slice 2: My patients and Audit


def column_labels(at: AppTest, *columns: str) -> dict[str, str]:
    """The header each data column shows (column_config's label), for the table holding these columns."""
    import json

    frame = next(d for d in at.dataframe if set(columns) <= set(d.value.columns))
    config = json.loads(frame.proto.columns)
    return {name: config[name]["label"] for name in columns if "label" in config.get(name, {})}


MY_PATIENTS_COLUMNS = ("code", "flags", "status", "display_name", "latest", "progress", "programme")
AUDIT_COLUMNS = ("occurred_at", "patient", "actor", "action", "detail")


def my_patients_and_audit(app_platform, monkeypatch, code: str) -> tuple[AppTest, AppTest]:
    from dashboard import audit
    from dashboard.ui.nav import PAGES_DIR

    monkeypatch.setenv("DASHBOARD_LANGUAGE", code)  # no stored choice: the setting decides
    pid = app_platform.patient("P-00042", enrolled_days_ago=10)
    audit.record(app_platform.engine, "ther.a", "open_record", pid)
    mine = logged_in("ther.a").switch_page(str(PAGES_DIR / "my_patients.py")).run()
    trail = logged_in("lead.a").switch_page(str(PAGES_DIR / "audit.py")).run()
    assert not mine.exception and not trail.exception, (mine.exception, trail.exception)
    return mine, trail


def test_my_patients_and_audit_speak_swedish(app_platform, monkeypatch):
    mine, trail = my_patients_and_audit(app_platform, monkeypatch, "sv")
    assert mine.title[0].value == "Mina patienter"
    assert [m.label for m in mine.multiselect] == ["Program", "Status"]
    assert list(mine.multiselect[1].options) == ["Aktiv", "Avslutad", "Avbruten"]
    assert any(t.label == "Sök patientkod" for t in mine.text_input)
    captions = [c.value for c in mine.caption]
    assert "1 av 1 patienter" in captions
    assert "Tryck på en kod för att öppna patienten." in captions  # the narrow list (compact_list)
    assert column_labels(mine, *MY_PATIENTS_COLUMNS) == {
        "code": "Patient",
        "flags": "Flaggor",
        "status": "Status",
        "display_name": "Namn",
        "latest": "Senaste poäng",
        "progress": "Framsteg",
        "programme": "Program",
    }
    assert list(next(d.value for d in mine.dataframe if "status" in d.value.columns)["status"]) == ["Aktiv"]

    assert trail.title[0].value == "Åtkomstlogg"
    assert [t.label for t in trail.text_input] == ["Kliniker (användarnamn)", "Patientkod"]
    assert column_labels(trail, *AUDIT_COLUMNS) == {
        "occurred_at": "När",
        "patient": "Patient",
        "actor": "Vem",
        "action": "Vad",
        "detail": "Detaljer",
    }
    assert trail.get("download_button")[0].proto.label == "Ladda ned som CSV"


def test_my_patients_and_audit_headings_and_columns_go_through_the_catalogs(app_platform, monkeypatch):
    """In the pseudo-locale a heading or column label without ⟦…⟧ bypassed gettext."""
    mine, trail = my_patients_and_audit(app_platform, monkeypatch, i18n.PSEUDO)
    for at, columns in ((mine, MY_PATIENTS_COLUMNS), (trail, AUDIT_COLUMNS)):
        labels = [at.title[0].value, *(w.label for w in (*at.multiselect, *at.text_input, *at.date_input))]
        labels += list(column_labels(at, *columns).values())
        unmarked = [t for t in labels if not (t.startswith(i18n.PSEUDO_OPEN) and t.endswith(i18n.PSEUDO_CLOSE))]
        assert len(labels) >= 5 and unmarked == [], unmarked
