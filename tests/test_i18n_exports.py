"""Issue 21, "CSV headers follow the language": the pages' downloads are built in the
language the clinician saw the page in, even when Streamlit runs the build later,
outside the run's language (both backends where a database is touched)."""

# ruff: noqa: F811 - caseload_result is the tests.test_exports fixture, taken as an argument
import csv
import io
import zipfile
from datetime import timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from dashboard import audit, exports, i18n
from dashboard.config import Settings
from dashboard.scope import load_viewer
from tests.test_exports import NOW, caseload_result, exports_of  # noqa: F401 - caseload_result is a fixture

UTC_ZONE = ZoneInfo("UTC")
FOLLOWUP_COLUMNS = [  # pages/followups.py's export, in its order
    "entry_id",
    "code",
    "held_on",
    "minutes",
    "modality",
    "module_position",
    "clinic_phq9",
    "action",
    "pause_until",
    "next_on",
    "note",
    "recorded_at",
]


def header_of(body: bytes | str) -> list[str]:
    text = body.decode() if isinstance(body, bytes) else body
    return next(csv.reader(io.StringIO(text)))


def audit_trail_download(engine):
    """The Audit trail page's download: the lead's team trail, headed in the run's language."""
    viewer = load_viewer(engine, "lead.a")
    return exports.audited_csv(
        engine,
        "lead.a",
        "audit_csv",
        lambda: exports.headed(
            audit.team_trail(engine, engine, viewer, NOW - timedelta(days=1), NOW + timedelta(days=1), None, None)
        ),
    )


def test_a_build_called_outside_the_language_keeps_the_language_it_was_drawn_in(caseload_result):
    engine, _ = caseload_result
    frame = pd.DataFrame({"occurred_at": ["2026-03-10"], "actor": ["ther.a"], "other": ["x"]})
    with i18n.language("sv"):
        on_click = exports.audited_csv(engine, "ther.a", "test_csv", lambda: exports.headed(frame))
        as_file = exports.audited_file(engine, "ther.a", "test_txt", lambda: i18n.gettext("Figure"))
        as_zip = exports.audited_zip(engine, "ther.a", "test_zip", lambda: {"t": exports.headed(frame)})
    assert i18n.current_language() == i18n.SOURCE  # the click comes later, outside Swedish
    assert header_of(on_click()) == ["tidpunkt", "aktör", "other"]  # a column without a word stays its code
    assert as_file() == "Mått".encode()
    assert header_of(zipfile.ZipFile(io.BytesIO(as_zip())).read("t.csv")) == ["tidpunkt", "aktör", "other"]
    assert header_of(exports.audited_csv(engine, "ther.a", "test_csv", lambda: exports.headed(frame))()) == [
        "occurred_at",
        "actor",
        "other",
    ]
    assert sorted(e["what"] for e in exports_of(engine, "ther.a")) == ["test_csv", "test_csv", "test_txt", "test_zip"]


def test_the_audit_trail_csv_is_headed_in_swedish_and_unchanged_in_english(caseload_result):
    engine, _ = caseload_result
    audit.record(engine, "ther.a", "open_record", None)
    with i18n.language("sv"):
        swedish = audit_trail_download(engine)
    english = audit_trail_download(engine)
    assert header_of(swedish()) == ["tidpunkt", "aktör", "åtgärd", "patient", "detalj"]
    assert header_of(english()) == ["occurred_at", "actor", "action", "patient", "detail"]


def test_the_followups_csv_is_headed_in_swedish_and_unchanged_in_english():
    frame = pd.DataFrame(columns=FOLLOWUP_COLUMNS)
    with i18n.language("sv"):
        swedish = exports.frame_csv(exports.headed(frame))
    assert header_of(swedish) == [
        "post_id",
        "kod",
        "hållen_den",
        "minuter",
        "kontaktform",
        "modul_nummer",
        "phq9_mottagning",
        "åtgärd",
        "paus_till",
        "nästa_den",
        "anteckning",
        "registrerad",
    ]
    assert header_of(exports.frame_csv(exports.headed(frame))) == FOLLOWUP_COLUMNS


def test_caseload_tables_in_swedish_and_english(caseload_result):
    from dashboard.caseload.tables import export_tables

    _, result = caseload_result
    english = export_tables(result, Settings(), UTC_ZONE)
    with i18n.language("sv"):
        swedish = export_tables(result, Settings(), UTC_ZONE)
    assert list(english["lapsed"].columns)[:3] == ["Patient", "Programme", "Therapist"]
    assert header_of(exports.frame_csv(swedish["lapsed"])) == [
        "Patient",
        "Program",
        "Behandlare",
        "Inskrivna",
        "Avslutade moduler",
        "Moduler i programmet",
        "Senaste aktivitet",
        "Dagar utan aktivitet",
    ]
    adherence = swedish["adherence"].set_index("Program")
    assert adherence.loc["Depression", "Fullföljande (% av avslutade vårdepisoder)"] == 66.7
    assert adherence.loc["Depression", "Fullföljande"] == "2 av 3 vars förlopp avslutades"
    assert "Inaktiva (ingen aktivitet på 30 dagar)" in adherence.columns or any(
        c.startswith("Inaktiva (ingen aktivitet på ") for c in adherence.columns
    )
    # every English header has a Swedish word: no English column name is left in any table
    for name, frame in english.items():
        translated = list(swedish[name].columns)
        assert len(translated) == len(frame.columns), name
        untranslated = [e for e, s in zip(frame.columns, translated) if e == s and e not in {"Patient", "Module"}]
        assert untranslated == [] or name in {"outcomes", "outcomes_by_therapist"}, (name, untranslated)


def test_the_zips_definitions_in_finnish(caseload_result):
    from dashboard.caseload import in_language
    from dashboard.caseload.tables import TABLE_TITLES, definitions_text, export_tables

    engine, result = caseload_result
    settings = Settings()
    english = definitions_text(result, UTC_ZONE, NOW)
    with i18n.language("fi"):
        finnish_result = in_language(result, settings)
        on_click = exports.audited_zip(
            engine,
            "lead.a",
            "caseload_tables_zip",
            lambda: {
                **{f"caseload-{n}": t for n, t in export_tables(finnish_result, settings, UTC_ZONE).items()},
                "definitions.txt": definitions_text(finnish_result, UTC_ZONE, NOW),
            },
        )
    archive = zipfile.ZipFile(io.BytesIO(on_click()))
    assert archive.namelist() == [f"caseload-{n}.csv" for n in TABLE_TITLES] + ["definitions.txt"]
    text = archive.read("definitions.txt").decode()
    lines = text.split("\r\n")
    assert lines[0].startswith("Potilaskuorma · ")
    assert (
        lines[1].startswith("Jakso ") and "(UTC); luotu 2026-03-10 12:00." in lines[1]
    )  # ISO-like times in every language
    assert lines[2].startswith("Osuudet ovat prosentteja yhdellä desimaalilla")
    assert "Keskeyttäminen moduuleittain: " in text and "dropout by module" not in text  # by the table's title
    assert header_of(archive.read("caseload-lapsed.csv"))[:3] == ["Potilas", "Ohjelma", "Terapeutti"]
    # English as before, but for the times (Babel's short format)
    assert english.split("\r\n")[0] == f"Caseload · {result.team}"
    assert english.split("\r\n")[2] == (
        "Rates are percentages with one decimal; an empty rate has no denominator or too few to show."
    )
    assert "dropout by module: " in english
