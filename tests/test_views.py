"""Display helpers."""

import pytest

from dashboard.ui.views import score_with_band, table_height, waited


@pytest.mark.parametrize("hours,text", [(0.4, "0 h"), (47.6, "48 h"), (48, "2 d 0 h"), (235, "9 d 19 h")])
def test_waited(hours, text):
    assert waited(hours) == text


def test_score_with_band():
    assert score_with_band(14, "moderate", False) == "14 · moderate"
    assert score_with_band(12, "moderate", True) == "12 · moderate (prorated)"
    assert score_with_band(float("nan"), None, None) == "no valid score yet"
    assert score_with_band(15, None, False) == "15"  # PDSS: no bands


def test_table_height_caps_long_caseloads():
    assert table_height(80) == table_height(25) > table_height(10) > table_height(0) == table_height(1)
