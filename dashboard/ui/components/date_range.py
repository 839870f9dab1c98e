"""A range of whole days, up to today, from one date input: the Caseload period,
its enrolment cohort and the Audit page's dates share it. While the clinician has
picked only the first day of a range, Streamlit returns one date: that counts as a
one-day range, or as no range at all (``one_day_while_picking=False``); a cleared
input falls back to the default range."""

from __future__ import annotations

from datetime import date


def date_range(
    where,
    label: str,
    default: tuple[date, date],
    today: date,
    *,
    key: str | None = None,
    help: str | None = None,
    one_day_while_picking: bool = True,
) -> tuple[date, date] | None:
    picked = where.date_input(label, value=default, max_value=today, format="DD/MM/YYYY", key=key, help=help)
    if isinstance(picked, tuple) and len(picked) == 2:
        return picked
    if not one_day_while_picking:
        return None
    day = picked[0] if isinstance(picked, tuple) and picked else picked
    return (day, day) if isinstance(day, date) else default  # a cleared input: the default range
