"""Time conventions shared by every page (docs/design.md, "Time")."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from dashboard.i18n import format_clock, format_day
from dashboard.i18n import gettext as _

DAY = pd.Timedelta(days=1)
UTC_ZONE = ZoneInfo("UTC")  # the default service zone of domain functions called without a Config


def utcnow(precise: bool = False) -> datetime:
    """Naive UTC, like every platform timestamp: whole seconds, as the platform
    stores them (SQLite compares timestamps as text). ``precise`` keeps the
    microseconds, for the audit log's own rows in the state database."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return now if precise else now.replace(microsecond=0)


def days_since(then: pd.Series, now: datetime) -> pd.Series:
    """floor(elapsed / 24 h); an N-day threshold fires when this is >= N."""
    elapsed = pd.Timestamp(now) - pd.to_datetime(then)
    return np.floor(elapsed / DAY).astype("Int64")


def utc_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The start of a service-time-zone day, as naive UTC like platform timestamps."""
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC).replace(tzinfo=None)


def local_time(ts: datetime, tz: ZoneInfo) -> datetime:
    return ts.replace(tzinfo=UTC).astimezone(tz)


def local_date(ts, tz: ZoneInfo) -> date | None:
    """The service-time-zone day of a naive UTC timestamp (None for a missing one)."""
    if ts is None or pd.isna(ts):
        return None
    return local_time(pd.Timestamp(ts).to_pydatetime(), tz).date()


def local_wall(ts: pd.Series, tz: ZoneInfo) -> pd.Series:
    """Naive UTC times as naive service-zone wall times, for a chart: Vega-Lite reads a
    time without an offset as wall time, so its axis and tooltips name the service
    zone's days (a PHQ-9 at 23:49 UTC on 30 Nov is on 01 Dec in Stockholm)."""
    return pd.to_datetime(ts).dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)


def freshness_line(as_of: datetime, tz: ZoneInfo) -> str:
    """'Data as of 09:05 on 01 Dec 2026 (Europe/Stockholm)', the day in the run's language."""
    local = local_time(as_of, tz)
    return _("Data as of {time} on {day} ({zone})").format(time=format_clock(local), day=format_day(local), zone=tz.key)
