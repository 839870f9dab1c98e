"""Query results as frames (dashboard.frames), on both backends: timestamps come
out as datetime64 whether rows are found or not, and the statements of
dashboard.statements take the page's moment as a parameter."""

from datetime import datetime

import pandas as pd
import pytest
from sqlalchemy import select

from dashboard.engine import make_engine
from dashboard.frames import read_frame, records
from dashboard.schema import activity
from dashboard.statements import NOW
from tests.factory import Platform

MOMENT = datetime(2026, 3, 10, 12, 0)


@pytest.fixture
def platform(db_url) -> Platform:
    return Platform(make_engine(db_url), MOMENT)


def logins_up_to_now():
    return (
        select(activity.c.patient_id, activity.c.occurred_at)
        .where(activity.c.occurred_at <= NOW)
        .order_by(activity.c.occurred_at)
    )


@pytest.mark.parametrize("days_ago,found", [(2, 1), (0, 1), (-1, 0)])  # -1: tomorrow has not happened yet
def test_the_moment_is_a_parameter_and_dates_are_datetimes(platform, days_ago, found):
    pid = platform.patient("F1", enrolled_days_ago=10)
    platform.activity(pid, days_ago)
    with platform.engine.connect() as conn:
        frame = read_frame(conn, logins_up_to_now(), {"now": MOMENT}, ("occurred_at",))
    assert len(frame) == found
    assert frame["occurred_at"].dtype.kind == "M"  # also with no rows, for the pages' date arithmetic
    if found:
        assert frame["occurred_at"].iloc[0] == platform.ago(days_ago)


def test_records_keep_missing_timestamps_missing():
    frame = pd.DataFrame({"patient_id": [1, 2], "at": pd.to_datetime(["2026-03-01 10:00", None])})
    first, second = records(frame, ["patient_id", "at"])
    assert (first.patient_id, first.at) == (1, pd.Timestamp("2026-03-01 10:00"))
    assert second.patient_id == 2 and pd.isna(second.at)
