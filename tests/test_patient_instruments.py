"""Every instrument a patient answers on the patient page (issue 19, item 3): one
trajectory each, with its bands and cut-off line where clinical-reference 4 defines
them and none where it does not; WSAS with work not applicable as its 4-item sum
without the 40-point bands; AUDIT as zones with the one-zone-up rule and its change
as zone transitions; OCI-R's six subscales in a collapsed table; outcome words that
say "recovered" only for NHS caseness. Domain and page on both backends, the chart
specs without a database, and the page in Chromium at 1400 and 390 px."""

from __future__ import annotations

import json
import re

import jsonschema
import pandas as pd
import pytest

from dashboard import charts, measures
from dashboard.config import DEFAULTS, Settings
from dashboard.instruments import load_registry
from dashboard.outcomes import IMPROVED, NO_CRITERION, NOT_A_CHANGE_MEASURE
from dashboard.patient import episode_responses, find_patient, load_record_rows, subscale_table, summaries
from dashboard.scope import load_viewer
from dashboard.trajectory import scale_of, scales, series_rows
from tests.apptest import open_patient, table_with
from tests.factory import every_instrument_patient
from tests.test_charts import layers, mark_type, vega_lite_schema

SETTINGS = Settings()

# (series, top of its scale, band labels drawn, cut-off line) from clinical-reference 1.2, 1.4, 2.2 and 4
SCALES = [
    (
        "PHQ-9",
        27,
        ("minimal", "mild", "moderate", "moderately severe", "severe"),
        10,  # caseness >= 10 (1.4)
    ),
    ("GAD-7", 21, ("minimal", "mild", "moderate", "severe"), 8),  # NHS caseness >= 8 (2.2)
    (
        "ISI",
        28,
        ("no clinically significant insomnia", "subthreshold", "clinical, moderate", "clinical, severe"),
        10,  # "Community case-finding cut-off >= 10", not 15 where the clinical band starts
    ),
    ("PDSS", 28, (), None),  # "No single cut-off is fixed -> CONFIG"; no bands ("do not invent bands")
    ("OCI-R", 72, ("mild", "moderate", "severe"), 21),  # ">= 21 likely OCD; 0-15 / 16-27 / 28-72" [S35]
    ("SPIN", 68, (), 19),  # ">= 19 distinguishes social phobia from controls"; no bands
    (
        "AUDIT",
        40,
        ("zone I low risk", "zone II hazardous", "zone III harmful", "zone IV further evaluation for dependence"),
        None,  # zones I 0-7, II 8-15, III 16-19, IV 20-40; no cut-off line
    ),
    (
        "WSAS",
        40,
        ("subclinical", "significant functional impairment", "moderately severe or worse psychopathology"),
        None,  # < 10, 10-20, > 20
    ),
    ("WSAS, work not applicable (4-item sum)", 32, (), None),  # "report the 4-item sum (range 0-32)"
]
NAMES = [name for name, *_ in SCALES]


def record(platform, code: str = "ALL1"):
    viewer = load_viewer(platform.engine, "ther.a")
    patient = find_patient(platform.engine, viewer, code)
    rows = load_record_rows(platform.engine, viewer, patient, platform.now, SETTINGS)
    return patient, rows, episode_responses(rows.responses, patient.enrolled_at, patient.ended_at, SETTINGS)


@pytest.fixture
def every(platform):
    every_instrument_patient(platform, "ALL1")
    return record(platform)


# ---------------------------------------------------------------- what the page data holds (both backends)


def test_one_trajectory_per_instrument_answered_primary_first_with_the_reference_scales(every):
    patient, _rows, episode = every
    found = scales(episode, patient.primary_instrument)
    assert [s.name for s in found] == NAMES  # the programme's PHQ-9 first, then GAD-7, then the registry's order
    for scale, (name, top, bands, cut_off) in zip(found, SCALES):
        assert (scale.top, tuple(b.label for b in scale.bands), scale.cut_off) == (top, bands, cut_off), name


# (series, n, baseline shown, latest shown, reliable change, status) for the every-instrument patient
SUMMARIES = [
    ("PHQ-9", 3, "16 (moderately severe)", "8 (mild)", IMPROVED, "recovered (below caseness now)"),
    ("GAD-7", 2, "14 (moderate)", "9 (mild)", IMPROVED, "not recovered (still at caseness)"),  # 9 >= 8
    (
        "ISI",
        2,
        "19 (clinical, moderate)",
        "9 (subthreshold)",
        NO_CRITERION,  # -8.4 is "moderate improvement", not a reliable-change criterion
        "response (decrease of 8 or more); no remission (below 8)",  # HUS: reduction >= 8; remission ISI < 8
    ),
    (
        "PDSS",
        2,
        "14 (no bands)",
        "7 (no bands)",
        NO_CRITERION,
        "no cut-off or recovery criterion",
    ),
    # a cut-off, not NHS caseness: never "recovered (below caseness)"
    (
        "OCI-R",
        2,
        "30 (severe)",
        "18 (moderate)",
        NO_CRITERION,
        "at or above the cut-off 21 (likely OCD) at baseline, below it now",
    ),
    (
        "SPIN",
        2,
        "34 (no bands)",
        "17 (no bands)",
        NO_CRITERION,
        "at or above the cut-off 19 (social phobia vs controls) at baseline, below it now",
    ),
    # 7 is zone I by its total, one zone up because item 4 scored 2 ("items 4-6 score >= 2")
    (
        "AUDIT",
        3,
        "7 (zone II hazardous, one zone up by the item rule)",
        "3 (zone I low risk)",
        NOT_A_CHANGE_MEASURE,
        "zone II hazardous at baseline, zone I low risk now (1 zone down)",
    ),
    (
        "WSAS",
        1,
        "25 (moderately severe or worse psychopathology)",
        "25 (moderately severe or worse psychopathology)",
        NO_CRITERION,
        "only a baseline so far",
    ),
    (
        "WSAS, work not applicable (4-item sum)",
        2,
        "16 (no bands, 4-item sum)",  # not "significant functional impairment": no 40-point bands on 0-32
        "11 (no bands, 4-item sum)",
        NO_CRITERION,
        "no cut-off or recovery criterion for the 4-item sum",
    ),
]


@pytest.mark.parametrize("name,n,baseline,latest,change,status", SUMMARIES, ids=[s[0] for s in SUMMARIES])
def test_each_series_outcome_follows_the_reference(every, name, n, baseline, latest, change, status):
    patient, _rows, episode = every
    (s,) = [s for s in summaries(episode, scales(episode, patient.primary_instrument)) if s.scale.name == name]
    assert (s.n, s.shown("baseline"), s.shown("latest"), s.reliable_change, s.status) == (
        n,
        baseline,
        latest,
        change,
        status,
    )
    assert s.rci is None  # no service configured an SD and reliability (1.7)


def test_audit_change_is_reported_as_zone_transitions(every):
    patient, _rows, episode = every
    (audit,) = [s for s in summaries(episode, scales(episode, patient.primary_instrument)) if s.instrument == "AUDIT"]
    assert [t.words for t in audit.transitions] == [
        "zone II hazardous \u2192 zone III harmful (1 zone up)",  # 7 (moved up) -> 16
        "zone III harmful \u2192 zone I low risk (2 zones down)",  # 16 -> 3
    ]
    assert audit.scale.criterion_text == "not a change measure: zone transitions (clinical-reference 4)"


def test_ocir_subscales_per_response_date_newest_first_and_none_for_spin(every):
    _patient, rows, episode = every
    ocir = subscale_table(rows.subscales, series_rows(episode, scale_of("OCIR")))
    assert list(ocir.columns) == [
        "administered_at",
        "washing",
        "checking",
        "ordering",
        "obsessing",
        "hoarding",
        "neutralising",
    ]
    assert ocir.drop(columns="administered_at").values.tolist() == [[3] * 6, [12, 9, 6, 2, 0, 1]]
    assert ocir["administered_at"].is_monotonic_decreasing
    # SPIN's fear, avoidance and physiological items are not listed by the reference: none shown
    assert subscale_table(rows.subscales, series_rows(episode, scale_of("SPIN"))).empty


def test_a_configured_rci_is_computed_with_its_source(platform, tmp_path, monkeypatch):
    """1.7: RCI = (post - pre) / (SD x sqrt(2 x (1 - r))); 1.96 x 5.5 x sqrt(0.22) = 5.06 points."""
    service = tmp_path / "service.toml"
    service.write_text('[overrides.OCIR]\nrci_sd = 5.5\nrci_reliability = 0.89\nrci_source = "local sample 2025"\n')
    monkeypatch.setattr(measures.INSTRUMENTS, "_registry", load_registry(service, DEFAULTS))
    every_instrument_patient(platform, "ALL1")
    patient, _rows, episode = record(platform)
    (ocir,) = [s for s in summaries(episode, scales(episode, patient.primary_instrument)) if s.instrument == "OCIR"]
    assert ocir.rci == pytest.approx(-12 / (5.5 * (2 * 0.11) ** 0.5))  # 30 -> 18
    assert ocir.reliable_change == IMPROVED  # 12 points >= 5.06
    assert ocir.scale.criterion_text == (
        "5.06 points (Jacobson-Truax RCI, SD 5.5, reliability 0.89 (local sample 2025))"
    )


# ---------------------------------------------------------------- the chart specs (no database)

DAYS = pd.date_range("2026-07-01", periods=3, freq="14D")


def episode_of(instrument: str, scores, escalated=(False,) * 3, not_applicable=False) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "response_id": range(len(scores)),
            "instrument": instrument,
            "administered_at": DAYS[: len(scores)],
            "score": [float(s) for s in scores],
            "prorated": False,
            "valid": True,
            "escalated": list(escalated)[: len(scores)],
            "not_applicable": not_applicable,
        }
    )


CODES = {"PHQ-9": "PHQ9", "GAD-7": "GAD7", "OCI-R": "OCIR"}


@pytest.mark.parametrize("name,top,bands,cut_off", SCALES, ids=NAMES)
def test_the_chart_draws_bands_and_a_cut_off_only_where_the_reference_defines_them(name, top, bands, cut_off):
    code = CODES.get(name, name.split(",")[0])
    na = "not applicable" in name
    spec = charts.trajectory_chart(code, episode_of(code, [12, 10, 8], not_applicable=na), not_applicable=na)
    drawn = [mark_type(layer) for layer in layers(spec)]
    rects = [layer for layer in layers(spec) if mark_type(layer) == "rect"]
    assert [row["band"] for layer in rects for row in layer["data"]["values"]] == list(bands)
    rules = [layer["encoding"]["y"]["datum"] for layer in layers(spec) if mark_type(layer) == "rule"]
    assert rules == ([cut_off] if cut_off is not None else [])
    assert spec["title"]["text"] == name
    assert spec["layer"][0]["encoding"]["y"]["scale"]["domain"] == [0, top + 0.5]
    if not bands:
        assert "No bands" in spec["description"] and "rect" not in drawn
    jsonschema.Draft7Validator(vega_lite_schema()).validate(spec)


def test_no_criterion_is_never_drawn_as_no_reliable_change():
    """OCI-R has no published reliable-change criterion (4): its later scores are not
    'no reliable change', and its legend has no reliably better or worse."""
    spec = charts.trajectory_chart("OCIR", episode_of("OCIR", [30, 10, 18]))
    point = next(layer for layer in layers(spec) if mark_type(layer) == "point")
    assert point["encoding"]["shape"]["scale"]["domain"] == ["baseline", "later score (no criterion)"]
    assert {row["kind"] for row in point["data"]["values"]} == {"baseline", "no reliable-change criterion"}
    assert "reliabl" not in json.dumps(spec).replace("reliable-change criterion", "")


def test_wsas_work_not_applicable_has_no_bands_on_its_4_item_sum():
    """Before: a 4-item sum of 16 sat in the 40-point band 'significant functional impairment'."""
    mixed = pd.concat([episode_of("WSAS", [25]), episode_of("WSAS", [16, 11], not_applicable=True)])
    full = charts.trajectory_chart("WSAS", mixed)
    short = charts.trajectory_chart("WSAS", mixed, not_applicable=True)
    full_points = next(layer for layer in layers(full) if mark_type(layer) == "point")["data"]["values"]
    short_points = next(layer for layer in layers(short) if mark_type(layer) == "point")["data"]["values"]
    assert [(p["score"], p["band"]) for p in full_points] == [(25, "moderately severe or worse psychopathology")]
    assert [(p["score"], p["band"]) for p in short_points] == [
        (16, "no bands, 4-item sum"),
        (11, "no bands, 4-item sum"),
    ]
    assert "rect" not in [mark_type(layer) for layer in layers(short)]


def test_audit_points_are_zones_with_the_item_rule_and_an_arrow_where_it_moved_one_up():
    spec = charts.trajectory_chart("AUDIT", episode_of("AUDIT", [7, 16, 3], escalated=(True, False, False)))
    point = next(layer for layer in layers(spec) if mark_type(layer) == "point")
    rows = point["data"]["values"]
    assert [(r["band"], r["marker"]) for r in rows] == [
        ("zone II hazardous, one zone up by the item rule", "baseline"),
        ("zone III harmful", "higher zone"),
        ("zone I low risk", "lower zone"),
    ]
    assert "reliabl" not in json.dumps(spec)  # "not a change instrument; report zone transitions"
    arrows = [
        layer
        for layer in layers(spec)
        if [r.get("marker") for r in layer.get("data", {}).get("values", [])] == [charts.ESCALATION_MARKER]
    ]
    assert len(arrows) == 1 and arrows[0]["data"]["values"][0]["shown"] == 7
    domain = point["encoding"]["shape"]["scale"]["domain"]
    shape_of = dict(zip(domain, point["encoding"]["shape"]["scale"]["range"]))
    assert shape_of[charts.ESCALATION_MARKER] == "arrow" and len(set(shape_of.values())) == len(shape_of)
    jsonschema.Draft7Validator(vega_lite_schema()).validate(spec)


# ---------------------------------------------------------------- the page in AppTest (both backends)


@pytest.fixture
def served_every(app_platform):
    every_instrument_patient(app_platform, "ALL1")
    return open_patient("ther.a", "ALL1")


def test_the_page_shows_every_instrument_answered(served_every):
    at = served_every
    outcomes = table_with(at, "Measure", "Status", "Criterion").set_index("Measure")
    assert list(outcomes.index) == NAMES
    assert outcomes.loc["PHQ-9", "Criterion"] == "6 points (NHS Talking Therapies, clinical-reference 1.6)"
    assert outcomes.loc["OCI-R", "Criterion"].startswith("none in the reference")
    for name in ("OCI-R", "SPIN"):  # a cut-off, not NHS caseness
        assert "recover" not in outcomes.loc[name, "Status"]
    assert outcomes.loc["AUDIT", "Reliable change"] == NOT_A_CHANGE_MEASURE
    assert outcomes.loc["AUDIT", "Change"] == "1 zone down"  # not "-4": zones, not points
    assert outcomes.loc["OCI-R", "Change"] == "-12"  # no RCI unless configured
    # WSAS 25 (the top band) was the baseline of the full total; the latest WSAS is a 4-item
    # sum, so no warning speaks of a superseded score (it did before)
    assert not [w.value for w in at.warning if "WSAS" in w.value]
    specs = [json.loads(el.proto.spec) for el in at.get("vega_lite_chart")]
    titles = [s["title"]["text"] for s in specs if isinstance(s.get("title"), dict)]
    assert titles == NAMES
    captions = " ".join(c.value for c in at.caption)
    assert re.search(
        r"AUDIT zone transitions: \d\d \w{3} \d{4} zone II hazardous → zone III harmful \(1 zone up\)", captions
    )
    assert "zone III harmful → zone I low risk (2 zones down)" in captions


def test_ocir_subscales_are_in_a_collapsed_table_and_spin_has_none(served_every):
    at = served_every
    labels = [e.label for e in at.expander]
    assert "OCI-R subscales (2 responses)" in labels and not any(label.startswith("SPIN subscales") for label in labels)
    table = table_with(at, "Date", "washing", "neutralising")
    assert table.drop(columns="Date").values.tolist() == [["3"] * 6, ["12", "9", "6", "2", "0", "1"]]


# ---------------------------------------------------------------- the page in Chromium


@pytest.mark.parametrize("width", [1400, 390])
def test_the_page_in_chromium_draws_every_trajectory(browser, tmp_path, monkeypatch, width):
    """Served in production mode on a hand-built platform; the screenshots (artifacts/
    patient-every-instrument-WIDTH.png) are looked at by eye, the test counts what a
    clinician would see: a drawn chart per series and no error."""
    from tests.browser import log_in, screenshot, served_app, wait_for_app
    from tests.conftest import served_platform

    platform = served_platform(f"sqlite:///{tmp_path}/platform.sqlite", monkeypatch, tmp_path)
    every_instrument_patient(platform, "ALL1")
    with served_app({}) as url:
        page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
        try:
            page.goto(f"{url}/patient?patient=ALL1")
            wait_for_app(page)
            log_in(page, "ther.a", platform.password)
            page.get_by_role("heading", name="ALL1").first.wait_for(timeout=60_000)
            wait_for_app(page)
            page.locator("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg").first.wait_for()
            # + modules; no logins or exercises, so the engagement is a sentence, not an all-zero chart
            assert page.locator("[data-testid='stVegaLiteChart']").count() == len(NAMES) + 1
            page.get_by_text("No logins or exercises yet").wait_for()
            assert page.locator("[data-testid='stException']").count() == 0
            page.get_by_text("OCI-R subscales (2 responses)").wait_for()
            screenshot(page, f"patient-every-instrument-{width}")
        finally:
            page.context.close()


def test_a_configured_rci_is_shown_beside_the_change_with_its_source(app_platform, tmp_path, monkeypatch):
    service = tmp_path / "service.toml"
    service.write_text('[overrides.OCIR]\nrci_sd = 5.5\nrci_reliability = 0.89\nrci_source = "local sample 2025"\n')
    monkeypatch.setattr(measures.INSTRUMENTS, "_registry", load_registry(service, DEFAULTS))
    every_instrument_patient(app_platform, "ALL1")
    outcomes = table_with(open_patient("ther.a", "ALL1"), "Measure", "Criterion").set_index("Measure")
    # (18 - 30) / (5.5 x sqrt(2 x 0.11)) = -4.65; criterion 1.96 x 5.5 x sqrt(0.22) = 5.06 points (1.7)
    assert outcomes.loc["OCI-R", "Change"] == "-12 (RCI -4.65)"
    assert outcomes.loc["OCI-R", "Reliable change"] == IMPROVED
    assert outcomes.loc["OCI-R", "Criterion"] == (
        "5.06 points (Jacobson-Truax RCI, SD 5.5, reliability 0.89 (local sample 2025))"
    )
