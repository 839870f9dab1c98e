"""Time: int64 microseconds, the service's working hours and the random-time helpers."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

SECOND = 1_000_000  # times are int64 microseconds
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY
NAT = np.iinfo(np.int64).min  # numpy's NaT as int64
ENROLMENT_WINDOW_DAYS = 182.5

#: Share of platform use by hour of day (UTC ~ local): mornings, lunch, evenings.
_HOURLY_USE = [
    1,
    0.5,
    0.3,
    0.2,
    0.2,
    0.4,
    1.5,
    3,
    4,
    3.5,
    3,
    3,
    4,
    3.5,
    3,
    3,
    3.5,
    4,
    5,
    6,
    6.5,
    6,
    4.5,
    2.5,
]
HOUR_WEIGHTS = np.array(_HOURLY_USE) / sum(_HOURLY_USE)


def _to_us(moment: datetime) -> int:
    """Microseconds since the epoch of a naive UTC datetime."""
    return int(np.datetime64(moment, "us").astype(np.int64))


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _days_to_workday(workdays: np.ndarray) -> np.ndarray:
    """For (n, 7) working-day masks (Monday first): days from each weekday to the next workday."""
    wait = np.full(workdays.shape, 7)
    for k in reversed(range(7)):
        wait = np.where(np.roll(workdays, -k, axis=1), k, wait)
    return wait


def _office_hours(t: np.ndarray, wait: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Move clinician actions into their working hours: 08-17 on their working days.

    ``wait`` is one row of _days_to_workday per time in ``t``.
    """
    day, tod = np.divmod(t, DAY)
    late = tod >= 17 * HOUR
    day = day + late
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    skip = wait[np.arange(t.size), weekday]
    moved = late | (tod < 8 * HOUR) | (skip > 0)
    tod = np.where(moved, 8 * HOUR + rng.integers(0, 3 * HOUR, t.size), tod)
    return (day + skip) * DAY + tod


def _ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Owner index and position within owner of a flat array holding counts[i] items per owner."""
    counts = counts.astype(np.int64)
    owner = np.repeat(np.arange(counts.size), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(owner.size) - starts[owner]


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))
