"""Portable date arithmetic and medians compile and agree on both backends."""

from datetime import datetime

import pytest
from sqlalchemy import Column, DateTime, Float, Integer, MetaData, String, Table, insert, literal, select

from dashboard.engine import make_engine
from dashboard.sqltime import days_between, median_by, whole_days_between

T0 = datetime(2026, 3, 1, 12, 0, 0)

meta = MetaData()
events = Table(
    "events",
    meta,
    Column("id", Integer, primary_key=True),
    Column("grp", String(5)),
    Column("at", DateTime),
    Column("v", Float),
)


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    meta.create_all(eng)
    return eng


@pytest.mark.parametrize(
    "later, expected_days, expected_whole",
    [
        (datetime(2026, 3, 8, 12, 0, 0), 7.0, 7),  # exactly seven days: the threshold fires (docs/design.md, Time)
        (datetime(2026, 3, 8, 11, 59, 59), 7 - 1 / 86400, 6),  # a second short of it does not
        (datetime(2026, 3, 1, 12, 0, 0), 0.0, 0),
        (datetime(2026, 3, 3, 0, 0, 0), 1.5, 1),
        (datetime(2027, 3, 1, 12, 0, 0), 365.0, 365),
    ],
)
def test_day_arithmetic_at_boundaries(engine, later, expected_days, expected_whole):
    with engine.begin() as conn:
        conn.execute(insert(events).values(id=1, grp="a", at=T0, v=0))
        row = conn.execute(
            select(
                days_between(literal(later, DateTime), events.c.at).label("d"),
                whole_days_between(literal(later, DateTime), events.c.at).label("w"),
            )
        ).one()
    assert row.d == pytest.approx(expected_days, abs=1e-6)
    assert row.w == expected_whole


@pytest.mark.parametrize(
    "values, median",
    [
        ([5.0], 5.0),
        ([1.0, 9.0], 5.0),
        ([3.0, 1.0, 2.0], 2.0),
        ([4.0, 1.0, 3.0, 2.0], 2.5),
        ([1.0, None, 3.0], 2.0),  # a missing value is left out, as pandas does
    ],
)
def test_median_by_matches_the_textbook_median(engine, values, median):
    with engine.begin() as conn:
        conn.execute(insert(events), [{"id": i, "grp": "a", "at": T0, "v": v} for i, v in enumerate(values)])
        conn.execute(insert(events), [{"id": 100 + i, "grp": "b", "at": T0, "v": 1000.0 + i} for i in range(3)])
        rows = {r.grp: (r.median, r.n) for r in conn.execute(median_by(select(events.c.grp, events.c.v), "v", ["grp"]))}
    assert rows["a"] == (pytest.approx(median), len([v for v in values if v is not None]))
    assert rows["b"] == (pytest.approx(1001.0), 3)


def test_median_of_nothing_is_no_row(engine):
    with engine.connect() as conn:
        assert conn.execute(median_by(select(events.c.grp, events.c.v), "v", ["grp"])).all() == []
