"""Scoring and bands, quoting docs/clinical-reference.md (sections 1, 2, 4, 8)."""

import math

import pandas as pd
import pytest

from dashboard.measures import INSTRUMENTS, band_label, display_score, score_responses


def items_frame(instrument: str, items: list[int | None], total: int | None = None) -> pd.DataFrame:
    inst = INSTRUMENTS.get(instrument)
    answered = [(i, s) for i, s in enumerate(items, start=1) if s is not None]
    valid = [(i, s) for i, s in answered if inst and inst.item_min <= s <= inst.item_max]
    return pd.DataFrame(
        {
            "instrument": [instrument],
            "total_score": [total if total is not None else sum(s for _, s in answered)],
            "n_item_rows": [len(answered)],
            "n_valid_items": [len(valid)],
            "valid_item_sum": [sum(s for _, s in valid)],
        }
    )


def score_of(instrument: str, items: list[int | None], total: int | None = None) -> pd.Series:
    return score_responses(items_frame(instrument, items, total)).iloc[0]


# Section 8: PHQ-9 item vectors [S51] and the US Core example [S26].
PHQ9_VECTORS = [
    ("min", [0, 0, 0, 0, 0, 0, 0, 0, 0], 0, "minimal"),
    ("max", [3, 3, 3, 3, 3, 3, 3, 3, 3], 27, "severe"),
    ("boundary 4", [1, 1, 1, 1, 0, 0, 0, 0, 0], 4, "minimal"),
    ("boundary 5", [1, 1, 1, 1, 1, 0, 0, 0, 0], 5, "mild"),
    ("boundary 10", [2, 2, 1, 1, 1, 1, 1, 1, 0], 10, "moderate"),
    ("boundary 15", [2, 2, 2, 2, 2, 2, 1, 1, 1], 15, "moderately severe"),
    ("boundary 20", [3, 3, 2, 2, 2, 2, 2, 2, 2], 20, "severe"),
    ("mixed", [2, 1, 2, 3, 1, 0, 1, 2, 0], 12, "moderate"),
    ("US Core", [2, 2, 2, 2, 1, 1, 2, 0, 0], 12, "moderate"),
]


@pytest.mark.parametrize("case,items,total,band", PHQ9_VECTORS, ids=[v[0] for v in PHQ9_VECTORS])
def test_phq9_reference_vectors(case, items, total, band):
    row = score_of("PHQ9", items)
    assert row["score"] == total
    assert band_label("PHQ9", row["score"]) == band
    assert not row["prorated"] and row["quality"] is None


@pytest.mark.parametrize(
    "items,total,band", [([1, 1, 1, 1, 0, 1, 2], 7, "mild"), ([1, 0, 0, 1, 0, 1, 1], 4, "minimal")]
)
def test_gad7_reference_vectors(items, total, band):
    row = score_of("GAD7", items)
    assert row["score"] == total and band_label("GAD7", total) == band


BAND_EDGES = [
    # PHQ-9 1.2: 0-4, 5-9, 10-14, 15-19, 20-27
    ("PHQ9", 4, "minimal"),
    ("PHQ9", 5, "mild"),
    ("PHQ9", 9, "mild"),
    ("PHQ9", 10, "moderate"),
    ("PHQ9", 14, "moderate"),
    ("PHQ9", 15, "moderately severe"),
    ("PHQ9", 19, "moderately severe"),
    ("PHQ9", 20, "severe"),
    ("PHQ9", 27, "severe"),
    # 1.3: unrounded prorated values use the lower bound: 9.6 is mild
    ("PHQ9", 9.6, "mild"),
    ("PHQ9", 9.99, "mild"),
    ("PHQ9", 4.5, "minimal"),
    # GAD-7 2.2: 0-4, 5-9, 10-14, 15-21
    ("GAD7", 4, "minimal"),
    ("GAD7", 5, "mild"),
    ("GAD7", 9, "mild"),
    ("GAD7", 10, "moderate"),
    ("GAD7", 14, "moderate"),
    ("GAD7", 15, "severe"),
    ("GAD7", 21, "severe"),
    # ISI (section 4): 0-7, 8-14, 15-21, 22-28
    ("ISI", 7, "no clinically significant insomnia"),
    ("ISI", 8, "subthreshold"),
    ("ISI", 14, "subthreshold"),
    ("ISI", 15, "clinical, moderate"),
    ("ISI", 21, "clinical, moderate"),
    ("ISI", 22, "clinical, severe"),
    ("ISI", 28, "clinical, severe"),
    # PDSS: "do not invent bands"
    ("PDSS", 0, None),
    ("PDSS", 20, None),
]


@pytest.mark.parametrize("instrument,score,band", BAND_EDGES)
def test_band_edges(instrument, score, band):
    assert band_label(instrument, score) == band


def test_registry_criteria_quote_the_reference():
    phq, gad, isi, pdss = (INSTRUMENTS[c] for c in ("PHQ9", "GAD7", "ISI", "PDSS"))
    assert (phq.max_total, phq.caseness, phq.reliable_change, phq.risk_item) == (27, 10, 6, 9)  # 1.2, 1.4, 1.6, 1.5
    assert (gad.max_total, gad.caseness, gad.reliable_change) == (21, 8, 4)  # 2.2 (NHS caseness 8), 2.3
    # ISI (section 4): the community case-finding cut-off >= 10 is the line; no reliable-change criterion
    assert (isi.max_total, isi.caseness, isi.reliable_change) == (28, 10, None)
    assert (pdss.max_total, pdss.caseness, pdss.reliable_change, pdss.bands) == (28, None, None, ())


@pytest.mark.parametrize(
    "items,expected",
    [
        # 1.3: one or two missing -> sum_answered * 9 / n_answered, unrounded
        ([1, 1, 1, 1, 1, 1, 1, 1, None], 9.0),
        ([2, 2, 2, 1, 1, 1, 1, None, None], 10 * 9 / 7),
        ([3, 3, 1, 1, 1, 1, 1, 1, None], 12 * 9 / 8),
    ],
)
def test_phq9_proration_up_to_two_missing(items, expected):
    row = score_of("PHQ9", items)
    assert row["valid"] and row["prorated"]
    assert math.isclose(row["score"], expected)
    assert "prorated" in row["quality"]


def test_phq9_prorated_value_stays_unrounded_for_bands():
    row = score_of("PHQ9", [2, 1, 1, 1, 1, 1, 1, None, None])  # 8 * 9 / 7 = 10.29 -> moderate, caseness
    assert math.isclose(row["score"], 8 * 9 / 7)
    assert band_label("PHQ9", row["score"]) == "moderate"
    row = score_of("PHQ9", [1, 1, 1, 1, 1, 1, 1, 0, None])  # 7 * 9 / 8 = 7.875 -> mild
    assert band_label("PHQ9", row["score"]) == "mild"
    assert display_score(7.875) == 8 and display_score(9.5) == 10 and display_score(9.49) == 9


def test_phq9_three_missing_is_not_scored():
    row = score_of("PHQ9", [1, 1, 1, 1, 1, 1, None, None, None])
    assert not row["valid"] and math.isnan(row["score"])
    assert "3 items missing: not scored" in row["quality"]


def test_gad7_any_missing_item_is_not_scored():  # 2.4, gad7_max_missing_items default 0
    row = score_of("GAD7", [1, 1, 1, 1, 1, 1, None])
    assert not row["valid"]


def test_out_of_range_item_counts_as_missing():
    row = score_of("PHQ9", [5, 1, 1, 1, 1, 1, 1, 1, 1])  # 5 is outside 0-3
    assert row["prorated"] and math.isclose(row["score"], 8 * 9 / 8)
    assert "out of range" in row["quality"]


def test_item_sum_wins_over_disagreeing_total():
    row = score_of("PHQ9", [1, 1, 1, 1, 1, 1, 1, 1, 1], total=14)
    assert row["score"] == 9
    assert "stored total 14 disagrees with item sum 9" in row["quality"]


def test_total_used_only_without_items():
    frame = pd.DataFrame(
        {
            "instrument": ["PHQ9", "PHQ9"],
            "total_score": [13, 31],
            "n_item_rows": [0, 0],
            "n_valid_items": [0, 0],
            "valid_item_sum": [0, 0],
        }
    )
    scored = score_responses(frame)
    assert scored["score"].iloc[0] == 13 and "total used" in scored["quality"].iloc[0]
    assert not scored["valid"].iloc[1]  # 31 is above the PHQ-9 maximum of 27


def test_unknown_instrument_is_reported_not_scored():
    row = score_of("XYZ", [1, 2, 3])
    assert not row["valid"] and "unknown instrument" in row["quality"]


def test_gad7_proration_follows_the_setting():
    from dashboard.config import parse_settings

    frame = items_frame("GAD7", [2, 2, 2, 2, 2, 2, None])
    assert not score_responses(frame)["valid"].iloc[0]  # default 0 (2.4)
    lenient = score_responses(frame, parse_settings({"gad7_max_missing_items": 1})).iloc[0]
    assert lenient["prorated"] and math.isclose(lenient["score"], 12 * 7 / 6)


def test_pdss_criteria_only_when_the_service_configures_them():
    from dashboard.config import load_instruments, parse_settings

    default = load_instruments(None, parse_settings({}))["PDSS"]
    assert (default.caseness, default.reliable_change) == (None, None)
    configured = load_instruments(None, parse_settings({"pdss_cutoff": 8, "pdss_reliable_change": 5}))["PDSS"]
    assert (configured.caseness, configured.reliable_change) == (8, 5)
    assert load_instruments(None, parse_settings({}))["PHQ9"] == INSTRUMENTS["PHQ9"]
