"""The domain's words in the catalogs (issue 21): flag titles and reasons, band labels
of the instrument registry, the freshness line, the data-quality note, outcome words."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from babel.messages import pofile

from dashboard import flags, i18n, outcomes, quality
from dashboard.engine import make_engine
from dashboard.i18n import gettext as _
from dashboard.i18n_extract import registry_words
from dashboard.measures import INSTRUMENTS, band_words, score_words
from dashboard.timeutil import freshness_line
from dashboard.ui import views
from tests.factory import Platform
from tests.test_flags import NOW, flag_map

TRANSLATED = [code for code in i18n.LANGUAGES if code != i18n.SOURCE]
STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.fixture
def platform(db_url) -> Platform:
    return Platform(make_engine(db_url), NOW)


def catalog(code: str):
    with i18n.catalog_path(code).open("rb") as fp:
        return pofile.read_po(fp, locale=code)


@pytest.mark.parametrize(
    "code, titles",
    [
        ("en", "Risk answer, Awaiting reply, Not on track, Inactive"),
        ("sv", "Risksvar, Väntar på svar, Inte på rätt spår, Inaktiv"),
        ("fi", "Riskivastaus, Odottaa vastausta, Ei tavoitteessa, Passiivinen"),
    ],
)
def test_flag_titles_speak_the_language(code, titles):
    with i18n.language(code):
        assert views.flag_titles(["risk", "awaiting_reply", "not_on_track", "inactive"]) == titles
    assert flags.FLAG_KINDS["risk"].title == "Risk answer"  # the kind's English stays the code's


@pytest.mark.parametrize(
    "code, inactive",
    [
        ("en", "at risk of drop-out: no activity for 14 days"),
        ("sv", "risk för avhopp: ingen aktivitet på 14 dagar"),
        ("fi", "keskeyttämisen riski: ei aktiivisuutta: 14 päivää"),
    ],
)
def test_a_flag_reason_speaks_the_language(platform, code, inactive):
    pid = platform.patient("I14", enrolled_days_ago=60)
    platform.activity(pid, 14)
    with i18n.language(code):
        got = flag_map(platform, {"I14": pid})
    assert got["I14"]["inactive"] == inactive


def test_a_reason_names_its_day_in_the_languages_format():
    with i18n.language("sv"):
        assert flags.risk_item_words(pd.Timestamp(datetime(2026, 12, 1, 9)), STOCKHOLM) == (
            "riskfrågan inte bedömd sedan 1 dec."
        )
    with i18n.language("fi"):  # Finnish writes a day as numbers: "1.12."
        assert flags.risk_item_words(pd.Timestamp(datetime(2026, 12, 1, 9)), STOCKHOLM) == (
            "riskikysymystä ei ole arvioitu 1.12. jälkeen"
        )


@pytest.mark.parametrize("n, expected", [(0, "0 jour"), (1, "1 jour"), (2, "2 jours")])
def test_french_counts_zero_as_singular_in_a_reason(n, expected):
    with i18n.language("fr_CA"):
        assert _("no activity for {days}").format(days=flags._day_count(n)) == f"aucune activité depuis {expected}"
        assert flags._day_count(n) == expected


def test_every_band_label_of_the_registry_is_a_msgid_in_every_catalog():
    labels = {band.label for inst in INSTRUMENTS.values() for band in inst.bands}
    labels |= {inst.caseness_label for inst in INSTRUMENTS.values() if inst.caseness_label}
    assert {"minimal", "moderately severe", "zone IV further evaluation for dependence"} <= labels
    for code in TRANSLATED:
        ids = {m.id: m.string for m in catalog(code) if m.id}
        missing = sorted(label for label in labels if not ids.get(label))
        assert missing == [], (code, missing)


def test_the_extractor_reads_every_registry_label():
    import tomllib

    data = tomllib.loads((i18n.LOCALE_DIR.parent / "instruments.toml").read_text())
    assert {b.label for inst in INSTRUMENTS.values() for b in inst.bands} <= set(registry_words(data))


@pytest.mark.parametrize(
    "code, words",
    [
        ("en", "14 · moderate (PHQ-9)"),
        ("sv", "14 · måttlig (PHQ-9)"),
        ("fi", "14 · kohtalainen (PHQ-9)"),
    ],
)
def test_band_labels_follow_the_glossary_where_shown(code, words):
    with i18n.language(code):
        assert score_words("PHQ9", 14) == words
        assert views.score_with_band(14, "moderate", False) == words.removesuffix(" (PHQ-9)")


def test_freshness_line_and_data_quality_note_in_swedish():
    as_of = datetime(2026, 12, 1, 8, 5)  # naive UTC: 09:05 in Stockholm
    with i18n.language("sv"):
        assert freshness_line(as_of, STOCKHOLM) == "Data per 1 dec. 2026 kl. 09:05 (Europe/Stockholm)"
        issues = pd.DataFrame(
            [
                {
                    "check": "gp_unknown",
                    "problem": "GP does not exist",
                    "effect": "shown without a GP",
                    "codes": ["A", "B"],
                }
            ]
        )
        assert quality.summary(issues) == (
            "Datakvalitet: 1 slags problem i plattformens poster för 2 patienter; "
            "de berörda raderna utelämnades eller justerades enligt nedan."
        )
        assert quality.words("gp_unknown", "GP does not exist", "shown without a GP") == (
            "allmänläkaren finns inte",
            "visas utan allmänläkare",
        )
    assert freshness_line(as_of, STOCKHOLM) == "Data as of 09:05 on 01 Dec 2026 (Europe/Stockholm)"


def test_outcome_words_stay_codes_and_are_said_in_the_language():
    assert outcomes.DETERIORATED == "reliable deterioration"
    with i18n.language("fi"):
        assert outcomes.change_words(outcomes.DETERIORATED) == "luotettava heikkeneminen"


def test_pseudo_locale_marks_flag_titles_and_band_labels():
    with i18n.language(i18n.PSEUDO):
        for title in views.flag_titles(list(flags.FLAG_KINDS)).split(", "):
            assert title.startswith(i18n.PSEUDO_OPEN) and title.endswith(i18n.PSEUDO_CLOSE), title
        for inst in INSTRUMENTS.values():
            for band in inst.bands:
                assert band_words(band.label) == f"{i18n.PSEUDO_OPEN}{band.label}{i18n.PSEUDO_CLOSE}"


@pytest.mark.parametrize(
    ("code", "items", "total", "note"),
    [
        ("sv", [1, 1, None, 1, 1, 1, 1, 1, 1], None, "1 fråga saknas: proportionellt uppräknad"),
        ("fi", [1, 1, 1, 1, 1, 1, 1, 1, 1], 14, "tallennettu kokonaispistemäärä 14 poikkeaa kysymysten summasta 9"),
        (
            "fr_CA",
            [None, None, None, 1, 1, 1, 1, 1, 1],
            None,
            "3 questions manquantes : non coté",
        ),  # PHQ-9 prorates 2 (1.3)
    ],
)
def test_a_responses_data_quality_note_speaks_the_language(code, items, total, note):
    """The patient page's data-quality table shows these notes as they are scored."""
    from tests.test_measures import score_of

    with i18n.language(code):
        assert note in score_of("PHQ9", items, total)["quality"]
