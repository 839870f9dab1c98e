"""The instrument registry as data (dashboard/instruments.toml, DASHBOARD_INSTRUMENTS)
and the section 4 instruments scored exactly by docs/clinical-reference.md: band
edges, cut-offs, OCI-R subscales, AUDIT zones and options, WSAS not applicable,
the Jacobson-Truax RCI of 1.7 only where a service configures it."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from dashboard import measures
from dashboard.config import DEFAULTS, ConfigError, Settings, load_config
from dashboard.engine import make_engine
from dashboard.instruments import SHIPPED_FILE, InstrumentFileError, load_registry, rci_criterion
from dashboard.measures import INSTRUMENTS, band_label, reliable_change_index, zone
from dashboard.outcomes import DETERIORATED, IMPROVED, NO_CHANGE, reliable_change
from dashboard.quality import data_quality
from dashboard.responses import read_subscales, scored_responses
from dashboard.schema import patients, response_items, responses
from dashboard.scope import Viewer
from tests.factory import Platform

NOW = datetime(2026, 3, 10, 12, 0)


# ---------------------------------------------------------------- the registry's figures


def test_the_registry_is_the_shipped_file_and_section_4_is_all_there():
    assert set(INSTRUMENTS) == {"PHQ9", "GAD7", "ISI", "PDSS", "OCIR", "SPIN", "AUDIT", "WSAS"}
    assert SHIPPED_FILE.name == "instruments.toml" and SHIPPED_FILE.parent.name == "dashboard"


def test_every_shipped_instrument_cites_the_reference_and_section_7_gives_the_loinc_codes():
    assert all(i.source and i.source.startswith("clinical-reference") for i in INSTRUMENTS.values())
    phq, gad = INSTRUMENTS["PHQ9"], INSTRUMENTS["GAD7"]
    assert (phq.loinc_panel, phq.loinc_total, phq.loinc_items[8]) == ("44249-1", "44261-6", "44260-8")  # 7.1
    assert (gad.loinc_panel, gad.loinc_total, gad.loinc_items[0]) == ("69737-5", "70274-6", "69725-0")  # 7.1
    assert all(not i.loinc_total for c, i in INSTRUMENTS.items() if c not in ("PHQ9", "GAD7"))  # 7 gives no other
    assert phq.loinc_total_display == "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"
    assert gad.loinc_panel_display == "Generalized anxiety disorder 7 item (GAD-7)"
    assert phq.item_texts[8].startswith("Thoughts that you would be better off dead") and len(gad.item_texts) == 7
    # one answer list for both (LL358-3): LA6568-5 / LA6569-3 / LA6570-1 / LA6571-9 = 0/1/2/3
    assert gad.loinc_answers == phq.loinc_answers
    assert [phq.answer(s).code for s in range(4)] == ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
    assert phq.answer(2).display == "More than half the days"


# (code, items, item range, total range, cut-off) from clinical-reference 4 (and 1.2, 2.2)
SHAPES = [
    ("OCIR", 18, (0, 4), 72, 21),  # "18 x 0-4 | 0-72 | >= 21 likely OCD"
    ("SPIN", 17, (0, 4), 68, 19),  # "17 x 0-4 | 0-68 | >= 19"
    ("AUDIT", 10, (0, 4), 40, None),  # "items 1-8 scored 0-4; items 9-10 0/2/4 | 0-40"; zones, no cut-off
    ("WSAS", 5, (0, 8), 40, None),  # "5 x 0-8 | 0-40"; bands, no cut-off
    ("ISI", 7, (0, 4), 28, 10),  # "7 x 0-4 | 0-28 | community case-finding cut-off >= 10"
    ("PDSS", 7, (0, 4), 28, None),  # "cut-off varies by version and sample ... CONFIG"
]


@pytest.mark.parametrize("code,n,item_range,top,cutoff", SHAPES, ids=[s[0] for s in SHAPES])
def test_items_ranges_and_cutoffs_quote_section_4(code, n, item_range, top, cutoff):
    inst = INSTRUMENTS[code]
    assert (inst.n_items, (inst.item_min, inst.item_max), inst.min_total, inst.max_total) == (n, item_range, 0, top)
    assert inst.caseness == cutoff


# Where section 4 fixes no criterion, none is drawn or invented.
@pytest.mark.parametrize("code", ["ISI", "PDSS", "OCIR", "SPIN", "AUDIT", "WSAS"])
def test_no_reliable_change_criterion_unless_configured(code):
    assert INSTRUMENTS[code].reliable_change is None
    assert reliable_change_index(code, 30, 10) is None


def test_audit_is_not_a_change_instrument_and_only_pdss_spin_and_audit_lack_bands():
    assert INSTRUMENTS["AUDIT"].change_instrument is False  # "not a change instrument; report zone transitions"
    assert [c for c, i in INSTRUMENTS.items() if not i.bands] == ["PDSS", "SPIN"]  # "do not invent bands"


# (code, total, band) at every edge of clinical-reference 4's bands
BAND_EDGES = [
    # OCI-R severity benchmarks 0-15 mild, 16-27 moderate, 28-72 severe [S35]
    ("OCIR", 0, "mild"),
    ("OCIR", 15, "mild"),
    ("OCIR", 16, "moderate"),
    ("OCIR", 27, "moderate"),
    ("OCIR", 28, "severe"),
    ("OCIR", 72, "severe"),
    # AUDIT Zone I 0-7, II 8-15, III 16-19, IV 20-40 [S37]
    ("AUDIT", 0, "zone I low risk"),
    ("AUDIT", 7, "zone I low risk"),
    ("AUDIT", 8, "zone II hazardous"),
    ("AUDIT", 15, "zone II hazardous"),
    ("AUDIT", 16, "zone III harmful"),
    ("AUDIT", 19, "zone III harmful"),
    ("AUDIT", 20, "zone IV further evaluation for dependence"),
    ("AUDIT", 40, "zone IV further evaluation for dependence"),
    # WSAS < 10 subclinical; 10-20 significant functional impairment; > 20 moderately severe or worse [S40]
    ("WSAS", 0, "subclinical"),
    ("WSAS", 9, "subclinical"),
    ("WSAS", 10, "significant functional impairment"),
    ("WSAS", 20, "significant functional impairment"),
    ("WSAS", 21, "moderately severe or worse psychopathology"),
    ("WSAS", 40, "moderately severe or worse psychopathology"),
    # ISI 0-7, 8-14, 15-21, 22-28 (as today)
    ("ISI", 7, "no clinically significant insomnia"),
    ("ISI", 8, "subthreshold"),
    ("ISI", 15, "clinical, moderate"),
    ("ISI", 22, "clinical, severe"),
    # SPIN and PDSS: no bands in the reference, none drawn
    ("SPIN", 19, None),
    ("SPIN", 68, None),
    ("PDSS", 28, None),
]


@pytest.mark.parametrize("code,total,band", BAND_EDGES, ids=[f"{c}-{t}" for c, t, _ in BAND_EDGES])
def test_band_edges_of_section_4(code, total, band):
    assert band_label(code, total) == band


# (code, total, at or above the cut-off) either side of each cut-off line
CUTOFF_EDGES = [
    ("OCIR", 20, False),
    ("OCIR", 21, True),  # ">= 21 likely OCD"
    ("SPIN", 18, False),
    ("SPIN", 19, True),  # ">= 19 distinguishes social phobia from controls"
    ("ISI", 9, False),
    ("ISI", 10, True),  # "community case-finding cut-off >= 10" (today 15 was drawn)
]


@pytest.mark.parametrize("code,total,above", CUTOFF_EDGES, ids=[f"{c}-{t}" for c, t, _ in CUTOFF_EDGES])
def test_cutoff_edges_are_inclusive(code, total, above):
    assert (total >= INSTRUMENTS[code].caseness) is above


# ---------------------------------------------------------------- subscales


def test_ocir_has_six_subscales_covering_each_item_once():
    subs = INSTRUMENTS["OCIR"].subscales
    assert [s.name for s in subs] == ["washing", "checking", "ordering", "obsessing", "hoarding", "neutralising"]
    assert sorted(i for s in subs for i in s.items) == list(range(1, 19))


OCIR_SUBSCALES = [
    # (items 1..18, expected subscale sums); Foa et al. 2002 [S34]: hoarding 1/7/13, checking 2/8/14,
    # ordering 3/9/15, neutralising 4/10/16, washing 5/11/17, obsessing 6/12/18
    (
        "all zero",
        [0] * 18,
        dict.fromkeys(("washing", "checking", "ordering", "obsessing", "hoarding", "neutralising"), 0),
    ),
    (
        "maximum 72",
        [4] * 18,
        dict.fromkeys(("washing", "checking", "ordering", "obsessing", "hoarding", "neutralising"), 12),
    ),
    (
        "one subscale at a time",
        [1, 2, 3, 0, 4, 1] * 3,
        {"hoarding": 3, "checking": 6, "ordering": 9, "neutralising": 0, "washing": 12, "obsessing": 3},
    ),
]


# ---------------------------------------------------------------- scoring through the database


@pytest.fixture
def platform(db_url) -> Platform:
    return Platform(make_engine(db_url), NOW)


def scored(platform: Platform, instrument: str, items: list[int | None], na: tuple[int, ...] = ()) -> dict:
    """One response scored by the single path (responses -> measures.score_responses);
    ``na`` items are stored as rows with a NULL score (the contract's "not applicable")."""
    pid = platform.patient(f"P-{instrument}-{len(items)}-{id(items)}", enrolled_days_ago=20)
    rid = platform.response(pid, instrument, 1, items)
    with platform.engine.begin() as conn:
        for item in na:
            conn.execute(insert(response_items).values(response_id=rid, item=item, score=None))
    with platform.engine.connect() as conn:
        frame = scored_responses(conn, select(patients.c.id).where(patients.c.id == pid), NOW, Settings())
    return frame.iloc[0].to_dict()


def subscales_of(platform: Platform, instrument: str, items: list[int | None], extra=()) -> dict:
    """One response's subscale scores through responses.read_subscales (None: not scored);
    ``extra``: further (item, score) rows of the same response."""
    pid = platform.patient(f"S-{instrument}-{id(items)}", enrolled_days_ago=20)
    rid = platform.response(pid, instrument, 1, items)
    with platform.engine.begin() as conn:
        for item, value in extra:
            conn.execute(insert(response_items).values(response_id=rid, item=item, score=value))
    with platform.engine.connect() as conn:
        frame = read_subscales(conn, select(responses.c.id).where(responses.c.id == rid))
    return {row.subscale: None if math.isnan(row.score) else row.score for row in frame.itertuples()}


@pytest.mark.parametrize("case,items,sums", OCIR_SUBSCALES, ids=[c for c, _, _ in OCIR_SUBSCALES])
def test_ocir_subscale_sums(platform, case, items, sums):
    got = subscales_of(platform, "OCIR", items)
    assert got == sums and list(got) == [s.name for s in INSTRUMENTS["OCIR"].subscales]


def test_a_subscale_with_a_missing_out_of_range_or_disagreeing_item_is_not_summed(platform):
    items: list[int | None] = [1] * 18
    items[4] = None  # washing item 5 missing
    items[1] = 7  # checking item 2 out of 0-4
    got = subscales_of(platform, "OCIR", items, extra=[(3, 2)])  # ordering item 3 given as 1 and 2
    assert (got["washing"], got["checking"], got["ordering"]) == (None, None, None)
    assert got["hoarding"] == 3 and got["obsessing"] == 3


def test_spin_subscales_are_not_invented(platform):
    """Section 4 names fear, avoidance and physiological without their items: none scored."""
    assert INSTRUMENTS["SPIN"].subscales == () and "does not list their items" in INSTRUMENTS["SPIN"].note
    assert subscales_of(platform, "SPIN", [2] * 17) == {}


AUDIT_ZONES = [
    # (case, items 1..10, total, zone) clinical-reference 4: "Move one zone up if items 4-6 score >= 2
    # or items 9-10 score 4"
    ("7 zone I, no rule", [2, 2, 1, 1, 1, 0, 0, 0, 0, 0], 7, "zone I low risk"),
    ("8 zone II", [2, 2, 2, 1, 1, 0, 0, 0, 0, 0], 8, "zone II hazardous"),
    ("7 with item 4 = 2: zone II", [2, 2, 1, 2, 0, 0, 0, 0, 0, 0], 7, "zone II hazardous"),
    ("7 with item 6 = 2: zone II", [2, 2, 1, 0, 0, 2, 0, 0, 0, 0], 7, "zone II hazardous"),
    ("7 with items 4-6 = 1 each: no rule", [2, 2, 0, 1, 1, 1, 0, 0, 0, 0], 7, "zone I low risk"),
    ("4 with item 9 = 4: zone II", [0, 0, 0, 0, 0, 0, 0, 0, 4, 0], 4, "zone II hazardous"),
    ("6 with item 10 = 2: no rule", [2, 2, 0, 0, 0, 0, 0, 0, 0, 2], 6, "zone I low risk"),
    ("15 with item 10 = 4: zone III", [3, 3, 1, 1, 1, 1, 1, 0, 0, 4], 15, "zone III harmful"),
    ("19 with item 5 = 3: zone IV", [4, 4, 4, 0, 3, 0, 0, 0, 0, 4], 19, "zone IV further evaluation for dependence"),
    ("40 stays zone IV", [4] * 10, 40, "zone IV further evaluation for dependence"),
]


@pytest.mark.parametrize("case,items,total,zone_label", AUDIT_ZONES, ids=[c for c, *_ in AUDIT_ZONES])
def test_audit_zone_up_rule(platform, case, items, total, zone_label):
    row = scored(platform, "AUDIT", items)
    assert row["score"] == total and row["quality"] is None
    assert zone("AUDIT", row["score"], row["escalated"]) == zone_label
    assert band_label("AUDIT", row["score"], escalated=row["escalated"]) == zone_label


@pytest.mark.parametrize("item,value", [(9, 1), (9, 3), (10, 1), (10, 3)])
def test_audit_items_9_and_10_take_only_0_2_or_4(platform, item, value):
    """Section 4: "items 9-10 have three options only ... reject other values"."""
    items = [1] * 8 + [0, 0]
    items[item - 1] = value
    row = scored(platform, "AUDIT", items)
    assert not row["valid"] and math.isnan(row["score"])
    assert "1 answer not among the item's options (items 9-10: only 0, 2, 4): treated as missing" in row["quality"]
    assert "1 item missing: not scored" in row["quality"]
    assert row["n_invalid_options"] == 1 and not row["scoring_issue"]


@pytest.mark.parametrize("value", [0, 2, 4])
def test_audit_items_9_and_10_options_score(platform, value):
    row = scored(platform, "AUDIT", [1] * 8 + [value, value])
    assert row["score"] == 8 + 2 * value and row["quality"] is None


def test_an_audit_answer_of_3_on_item_9_does_not_escalate(platform):
    """A rejected answer is not an answer: it neither scores nor moves the zone."""
    row = scored(platform, "AUDIT", [0] * 8 + [3, 0])
    assert not row["escalated"]


WSAS_CASES = [
    # (case, items 1..5 (None: no row), not-applicable items, score, band, not_applicable)
    ("5-item sum 20", [4, 4, 4, 4, 4], (), 20, "significant functional impairment", False),
    ("5-item sum 21", [5, 4, 4, 4, 4], (), 21, "moderately severe or worse psychopathology", False),
    # item 1 (work) N/A: the 4-item sum 0-32 without the 40-point bands
    ("work N/A, 4-item sum 24", [None, 6, 6, 6, 6], (1,), 24, None, True),
    ("work N/A, 4-item sum 32", [None, 8, 8, 8, 8], (1,), 32, None, True),
]


@pytest.mark.parametrize("case,items,na,total,band,not_applicable", WSAS_CASES, ids=[c[0] for c in WSAS_CASES])
def test_wsas_work_not_applicable(platform, case, items, na, total, band, not_applicable):
    row = scored(platform, "WSAS", items, na)
    assert row["score"] == total and bool(row["not_applicable"]) is not_applicable
    assert band_label("WSAS", row["score"], not_applicable=row["not_applicable"]) == band
    if not_applicable:
        assert row["quality"] == "item 1 (work) not applicable: 4-item sum, without the 40-point bands"


@pytest.mark.parametrize(
    "case,items,na",
    [
        ("item 3 NULL is missing, not N/A", [4, 4, None, 4, 4], (3,)),
        ("no item 1 row is missing", [None, 4, 4, 4, 4], ()),
        ("item 1 N/A and item 2 missing", [None, None, 4, 4, 4], (1,)),
    ],
)
def test_wsas_any_other_null_is_missing(platform, case, items, na):
    row = scored(platform, "WSAS", items, na)
    assert not row["valid"] and "1 item missing: not scored" in row["quality"]


def test_an_invalid_option_reaches_the_data_quality_note_and_not_applicable_does_not(platform):
    """A WSAS item 1 'not applicable' is a valid answer (a quarter of the demo has no paid
    work): listing it would put every such patient in every page's data-quality note."""
    audit_patient = platform.patient("AUD1", enrolled_days_ago=20)
    platform.response(audit_patient, "AUDIT", 1, [1] * 8 + [1, 0])
    wsas_patient = platform.patient("WSA1", enrolled_days_ago=20)
    rid = platform.response(wsas_patient, "WSAS", 1, [None, 2, 2, 2, 2])
    with platform.engine.begin() as conn:
        conn.execute(insert(response_items).values(response_id=rid, item=1, score=None))
    lead = Viewer(5, "lead.a", "Lead A", "team_lead", 1)
    issues = data_quality(platform.engine, lead, NOW, Settings()).set_index("check")
    assert issues.loc["option_invalid", "codes"] == ["AUD1"]
    assert "AUDIT items 9-10: only 0, 2 or 4" in issues.loc["option_invalid", "problem"]
    assert "WSA1" not in {c for codes in issues["codes"] for c in codes}
    assert "scoring" not in issues.index  # neither is a scoring problem of another kind


# ---------------------------------------------------------------- reliable change (1.7)


def test_rci_is_computed_only_with_a_configured_sd_and_reliability(tmp_path):
    """1.7's worked illustration: 1.96 x 5.5 x sqrt(2 x 0.11) = 5.06 points."""
    assert round(rci_criterion(5.5, 0.89), 2) == 5.06
    service = write(
        tmp_path,
        '[overrides.PDSS]\nrci_sd = 5.5\nrci_reliability = 0.89\nrci_source = "local baseline sample 2025"\n',
    )
    pdss = load_registry(service, DEFAULTS)["PDSS"]
    assert round(pdss.reliable_change, 2) == 5.06
    assert pdss.reliable_change_source == "Jacobson-Truax RCI, SD 5.5, reliability 0.89 (local baseline sample 2025)"
    assert load_registry(None, DEFAULTS)["PDSS"].reliable_change is None


def test_the_rci_of_a_change(tmp_path, monkeypatch):
    service = write(tmp_path, '[overrides.OCIR]\nrci_sd = 5.5\nrci_reliability = 0.89\nrci_source = "x"\n')
    monkeypatch.setattr(measures.INSTRUMENTS, "_registry", load_registry(service, DEFAULTS))
    se_difference = 5.5 * math.sqrt(2 * 0.11)
    assert reliable_change_index("OCIR", 30, 20) == pytest.approx(-10 / se_difference)
    assert abs(reliable_change_index("OCIR", 30, 20)) > 1.96  # 10 points > 5.06: reliable
    assert abs(reliable_change_index("OCIR", 30, 26)) < 1.96  # 4 points: not reliable
    # the criterion 5.06 points is what the outcomes use (reliable improvement / deterioration)
    assert reliable_change("OCIR", 30, 24) == IMPROVED and reliable_change("OCIR", 30, 25) == NO_CHANGE
    assert reliable_change("OCIR", 20, 26) == DETERIORATED


def test_the_pdss_settings_still_set_its_cutoff_and_reliable_change():
    pdss = load_registry(None, DEFAULTS, {"pdss_cutoff": 8, "pdss_reliable_change": 5})["PDSS"]
    assert (pdss.caseness, pdss.reliable_change) == (8, 5)


# ---------------------------------------------------------------- the registry file's refusals


def write(tmp_path: Path, text: str, name: str = "service.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


NEW = '[instruments.LOCAL10]\nname = "LOCAL10"\nn_items = 10\nitem_min = 1\nitem_max = 5\n'
# ISI (7 items, 0-4) given a whole LOINC form with the shared 0-3 answer list (made-up codes)
ISI_LOINC = (
    '[overrides.ISI]\nloinc_panel = "90000-0"\nloinc_panel_display = "panel"\nloinc_total = "90001-8"\n'
    'loinc_total_display = "total"\nloinc_items = ["1", "2", "3", "4", "5", "6", "7"]\n'
    'item_texts = ["a", "b", "c", "d", "e", "f", "g"]\n'
)
REFUSALS = [
    # (case, service file, instrument, field, words)
    ("unknown key", "[overrides.OCIR]\ncutoff = 21\n", "OCIR", "cutoff", "unknown key"),
    (
        "missing required key",
        '[instruments.LOCAL10]\nname = "LOCAL10"\nitem_min = 1\nitem_max = 5\n',
        "LOCAL10",
        "n_items",
        "missing required key",
    ),
    ("wrong kind", '[overrides.OCIR]\ncaseness = "21"\n', "OCIR", "caseness", "must be a number"),
    (
        "overlapping bands",
        NEW + 'bands = [{low = 10, high = 30, label = "low"}, {low = 25, high = 50, label = "high"}]\n',
        "LOCAL10",
        "bands",
        "band 'high' (25-50) overlaps 'low' (10-30)",
    ),
    (
        "unordered bands",
        NEW + 'bands = [{low = 30, high = 50, label = "high"}, {low = 10, high = 29, label = "low"}]\n',
        "LOCAL10",
        "bands",
        "bands are not in order",
    ),
    (
        "a gap between bands",
        NEW + 'bands = [{low = 10, high = 20, label = "low"}, {low = 25, high = 50, label = "high"}]\n',
        "LOCAL10",
        "bands",
        "no band covers 21-24",
    ),
    (
        "a band outside the total",
        NEW + 'bands = [{low = 0, high = 50, label = "all"}]\n',
        "LOCAL10",
        "bands",
        "band 'all' (0-50) is outside the total's range 10-50",
    ),
    (
        "bands not covering the total",
        NEW + 'bands = [{low = 10, high = 40, label = "low"}]\n',
        "LOCAL10",
        "bands",
        "the bands cover 10-40, not the whole total 10-50",
    ),
    (
        "a cut-off outside the total",
        "[overrides.OCIR]\ncaseness = 73\n",
        "OCIR",
        "caseness",
        "cut-off 73 is outside 1-72",
    ),
    ("item range upside down", "[overrides.OCIR]\nitem_max = 0\n", "OCIR", "item_max", "must be above item_min (0)"),
    ("negative item scores", NEW.replace("item_min = 1", "item_min = -1"), "LOCAL10", "item_min", "never negative"),
    ("no items", NEW.replace("n_items = 10", "n_items = 0"), "LOCAL10", "n_items", "must be at least 1"),
    (
        "risk item not an item",
        "[overrides.WSAS]\nrisk_item = 6\n",
        "WSAS",
        "risk_item",
        "item 6 is not an item of this instrument (1-5)",
    ),
    (
        "allowed values outside the item range",
        "[overrides.AUDIT]\nallowed_values = [{items = [9, 10], values = [0, 2, 5]}]\n",
        "AUDIT",
        "allowed_values",
        "value 5 is outside the item range 0-4",
    ),
    (
        "subscale item not an item",
        "[overrides.SPIN]\nsubscales = {fear = [1, 3, 18]}\n",
        "SPIN",
        "subscales",
        "item 18 is not an item of this instrument (1-17)",
    ),
    (
        "escalation without zones",
        "[overrides.SPIN]\nescalation = [{items = [1], at_least = 2}]\n",
        "SPIN",
        "escalation",
        "needs at least two bands",
    ),
    (
        "rci without reliability",
        '[overrides.SPIN]\nrci_sd = 10.0\nrci_source = "x"\n',
        "SPIN",
        "rci_reliability",
        "needs both",
    ),
    (
        "rci without its source",
        "[overrides.SPIN]\nrci_sd = 10.0\nrci_reliability = 0.9\n",
        "SPIN",
        "rci_source",
        "say where",
    ),
    (
        "a published criterion recomputed",
        '[overrides.PHQ9]\nrci_sd = 5.5\nrci_reliability = 0.89\nrci_source = "x"\n',
        "PHQ9",
        "rci_sd",
        "never recomputed",
    ),
    (
        "reliable change on AUDIT",
        "[overrides.AUDIT]\nreliable_change = 3\n",
        "AUDIT",
        "reliable_change",
        "not a change instrument",
    ),
    (
        "a LOINC form without its items",
        '[overrides.ISI]\nloinc_total = "90001-8"\n',
        "ISI",
        "loinc_panel",
        "the LOINC form needs all of loinc_panel, loinc_panel_display",
    ),
    (
        "an unknown answer list",
        ISI_LOINC + 'loinc_answers = "LL000-0"\n',
        "ISI",
        "loinc_answers",
        "no answer list 'LL000-0' under [answer_lists]; known: LL358-3",
    ),
    (
        "an answer list that does not fit the item range",
        ISI_LOINC + 'loinc_answers = "LL358-3"\n',
        "ISI",
        "loinc_answers",
        "answer list 'LL358-3' has 4 answers, the items score 0-4 (5)",
    ),
    (
        "item texts not one per item",
        '[overrides.PHQ9]\nitem_texts = ["Little interest"]\n',
        "PHQ9",
        "item_texts",
        "must list 9 strings, one per item, got 1",
    ),
    (
        "a display that is not a string",
        "[overrides.GAD7]\nloinc_total_display = 70274\n",
        "GAD7",
        "loinc_total_display",
        "must be a string",
    ),
    (
        "an unknown proration setting",
        '[overrides.SPIN]\nmax_missing_setting = "spin_missing"\n',
        "SPIN",
        "max_missing_setting",
        "no setting",
    ),
]


@pytest.mark.parametrize("case,text,code,field,words", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_service_file_is_refused_naming_file_instrument_and_field(tmp_path, case, text, code, field, words):
    path = write(tmp_path, text)
    with pytest.raises(InstrumentFileError) as caught:
        load_registry(path, DEFAULTS)
    message = str(caught.value)
    assert message.startswith(f"{path}: instrument {code!r}, field {field!r}: "), message
    assert words in message, message


FILE_REFUSALS = [
    (
        "an override of an unknown instrument",
        "[overrides.OCRI]\ncaseness = 21\n",
        "adjusts an unknown instrument 'OCRI'",
    ),
    (
        "a shipped instrument added again",
        NEW.replace("LOCAL10", "OCIR"),
        "[instruments.OCIR] is already defined by the package",
    ),
    ("an unknown top-level table", "[instrument.LOCAL10]\nname = 'x'\n", "unknown top-level key 'instrument'"),
    ("a bad code", NEW.replace("LOCAL10", "k-10"), "instrument code 'k-10' must be capital letters"),
    ("not TOML", "[overrides.OCIR\n", "not valid TOML"),
    (
        "an answer without its display",
        '[answer_lists]\n"LL1-1" = [{ code = "LA1-1" }]\n',
        "answer list 'LL1-1': each answer must be {code, display}",
    ),
    ("an answer list that is not a list", '[answer_lists]\n"LL1-1" = "LA1-1"\n', "must be a non-empty list"),
    (
        "a shipped answer list defined again",
        '[answer_lists]\n"LL358-3" = [{ code = "LA1-1", display = "x" }]\n',
        "answer list 'LL358-3' is already defined by the package",
    ),
]


@pytest.mark.parametrize("case,text,words", FILE_REFUSALS, ids=[r[0] for r in FILE_REFUSALS])
def test_a_service_file_is_refused_naming_the_file(tmp_path, case, text, words):
    path = write(tmp_path, text)
    with pytest.raises(InstrumentFileError, match="^" + str(path).replace(".", r"\.")) as caught:
        load_registry(path, DEFAULTS)
    assert words in str(caught.value)


def test_a_missing_service_file_and_a_setting_set_twice_are_refused(tmp_path):
    with pytest.raises(InstrumentFileError, match="instrument file not found"):
        load_registry(tmp_path / "nowhere.toml", DEFAULTS)
    both = write(tmp_path, "[overrides.PDSS]\ncaseness = 7\n")
    with pytest.raises(InstrumentFileError, match="field 'caseness': also set by the setting 'pdss_cutoff'"):
        load_registry(both, DEFAULTS, {"pdss_cutoff": 8})


def test_start_up_refuses_a_bad_file_as_a_configuration_error(tmp_path, capsys, monkeypatch):
    from dashboard.cli import queue

    path = write(tmp_path, "[overrides.OCIR]\ncaseness = 99\n")
    with pytest.raises(ConfigError, match=r"^DASHBOARD_INSTRUMENTS: .*'OCIR', field 'caseness'"):
        load_config(env={"DASHBOARD_INSTRUMENTS": str(path)}, secrets={})
    monkeypatch.setenv("DASHBOARD_INSTRUMENTS", str(path))
    code = queue.main(["--user", "ther.a"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.startswith(f"error: DASHBOARD_INSTRUMENTS: {path}: instrument 'OCIR', field 'caseness'"), err


# ---------------------------------------------------------------- a new instrument, no code


LOCAL10_FILE = """
[instruments.LOCAL10]
name = "Local scale"
source = "a made-up instrument of a service's own"
n_items = 10
item_min = 1
item_max = 5
max_missing_items = 1
bands = [
    { low = 10, high = 15, label = "low" },
    { low = 16, high = 29, label = "moderate" },
    { low = 30, high = 50, label = "high" },
]
caseness = 20
subscales = { first_half = [1, 2, 3, 4, 5] }

[overrides.SPIN]
subscales = { fear = [1, 3, 5, 10, 14, 15] }
"""


def test_a_service_file_adds_an_instrument_that_scores_with_no_code(platform, tmp_path, monkeypatch):
    path = write(tmp_path, LOCAL10_FILE)
    config = load_config(env={"DASHBOARD_INSTRUMENTS": str(path)}, secrets={})
    assert config.instruments_file == path and "LOCAL10" in config.instruments
    monkeypatch.setattr(measures.INSTRUMENTS, "_registry", config.instruments)
    complete = scored(platform, "LOCAL10", [2] * 10)
    assert complete["score"] == 20 and complete["quality"] is None
    assert (
        band_label("LOCAL10", complete["score"]) == "moderate" and complete["score"] >= INSTRUMENTS["LOCAL10"].caseness
    )
    prorated = scored(platform, "LOCAL10", [3] * 9 + [None])  # one missing item may be prorated: 27 x 10 / 9
    assert prorated["score"] == pytest.approx(30) and prorated["prorated"]
    out_of_range = scored(platform, "LOCAL10", [0] + [2] * 9)  # 0 is below the item range 1-5: missing, prorated
    assert out_of_range["score"] == pytest.approx(20) and "out of range" in out_of_range["quality"]
    assert subscales_of(platform, "LOCAL10", [2] * 10) == {"first_half": 10}
    assert subscales_of(platform, "SPIN", [1] * 17) == {"fear": 6}


def test_the_rules_hold_when_items_repeat(platform):
    """A repeated item row sends the response through responses.item_stats (a group per
    item): the zone-up rule and the option check read the same there."""
    pid = platform.patient("REP1", enrolled_days_ago=20)
    escalating = platform.response(pid, "AUDIT", 2, [2, 2, 1, 2, 0, 0, 0, 0, 0, 0])  # 7, item 4 = 2
    invalid = platform.response(pid, "AUDIT", 1, [1] * 8 + [1, 0])  # item 9 = 1: not an option
    with platform.engine.begin() as conn:
        conn.execute(insert(response_items), [{"response_id": escalating, "item": 4, "score": 2}])
        conn.execute(insert(response_items), [{"response_id": invalid, "item": 9, "score": 1}])
    with platform.engine.connect() as conn:
        frame = scored_responses(conn, select(patients.c.id), NOW, Settings()).set_index("response_id")
    assert frame.loc[escalating, "score"] == 7 and frame.loc[escalating, "escalated"]
    assert zone("AUDIT", 7, frame.loc[escalating, "escalated"]) == "zone II hazardous"
    assert frame.loc[invalid, "n_invalid_options"] == 1 and not frame.loc[invalid, "valid"]


def test_the_app_refuses_a_bad_instrument_file_in_words(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    path = write(tmp_path, "[overrides.WSAS]\nnot_applicable_item = 6\n")
    monkeypatch.setenv("DASHBOARD_INSTRUMENTS", str(path))
    at = AppTest.from_file("../dashboard/ui/app.py", default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["The configuration is not valid."]
    problem = " ".join(m.value for m in at.markdown)
    assert "instrument 'WSAS', field 'not_applicable_item': item 6 is not an item of this instrument (1-5)" in problem
