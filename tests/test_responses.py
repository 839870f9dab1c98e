"""Per-response aggregation in SQL (both backends): repeated item rows, out-of-range
answers and unknown items reach the score exactly as clinical-reference 1.3 asks."""

from datetime import datetime

import pytest
from sqlalchemy import insert, select

from dashboard.config import Settings
from dashboard.engine import make_engine
from dashboard.responses import scored_responses
from dashboard.schema import patients, response_items
from tests.factory import Platform

NOW = datetime(2026, 3, 10, 12, 0)


@pytest.fixture
def platform(db_url) -> Platform:
    return Platform(make_engine(db_url), NOW)


def score(platform: Platform, extra_rows: list[tuple[int, int]]) -> dict:
    """A PHQ-9 of nine 1s (total 9), plus extra (item, score) rows for the same response."""
    pid = platform.patient("DUP", enrolled_days_ago=20)
    rid = platform.response(pid, "PHQ9", 1, [1] * 9)
    with platform.engine.begin() as conn:
        for item, value in extra_rows:
            conn.execute(insert(response_items).values(response_id=rid, item=item, score=value))
    with platform.engine.connect() as conn:
        frame = scored_responses(conn, select(patients.c.id), NOW, Settings())
    return frame.iloc[0].to_dict()


@pytest.mark.parametrize(
    "extra, expected_score, prorated, noted",
    [
        ([], 9, False, False),
        ([(3, 1)], 9, False, True),  # a repeated row that agrees counts once (it used to add 1)
        ([(3, 3)], 8 * 9 / 8, True, True),  # a repeat that disagrees leaves item 3 missing: prorated from 8 items
        ([(9, 2)], 8 * 9 / 8, True, True),  # the risk item repeated with another answer is not assessable
        ([(10, 3)], 9, False, True),  # an item number the PHQ-9 does not have is ignored and noted
    ],
)
def test_repeated_and_unknown_item_rows(platform, extra, expected_score, prorated, noted):
    got = score(platform, extra)
    assert got["score"] == pytest.approx(expected_score)
    assert bool(got["prorated"]) is prorated
    assert (got["quality"] is not None) is noted


def test_disagreeing_risk_answers_alert_on_the_highest(platform):
    """Item 9 held as both 1 and 3: not scored as an item, but the risk alert uses 3."""
    got = score(platform, [(9, 3)])
    assert got["risk_item_score"] == 3
