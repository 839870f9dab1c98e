"""Small frames as plain Python records.

The flag engine and the due list walk a caseload patient by patient; pandas'
``itertuples`` and per-row indexing cost microseconds per cell there, plain
named tuples built from whole columns cost a fraction of that."""

from __future__ import annotations

from collections import namedtuple
from functools import cache

import pandas as pd


@cache
def _record_type(fields: tuple[str, ...]) -> type:
    return namedtuple("Record", fields)


def records(frame: pd.DataFrame, fields: list[str]) -> list:
    """The rows of ``frame`` as named tuples of ``fields``; timestamps stay
    ``pd.Timestamp`` (missing ones ``NaT``), as ``itertuples`` gives them."""
    make = _record_type(tuple(fields))._make
    return list(map(make, zip(*(frame[c].tolist() for c in fields))))
