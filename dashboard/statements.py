"""Statements built once and run many times.

Building a large SQLAlchemy Core statement, and its cache key, costs a few
milliseconds: more than PostgreSQL takes to run a caseload's query once psycopg
has prepared it. The per-page queries are therefore built from hashable
arguments only (the viewer, a patient id), with the page's moment as a bound
parameter, and kept in a bounded cache; scope stays in the statement itself."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import bindparam

NOW = bindparam("now")  # the page's moment: nothing after it has happened yet
CLOSED_BEFORE = bindparam("closed_before")  # episodes ended before this can no longer raise a flag

# One entry per viewer (and per patient for the patient page): a few kB each.
prepared = lru_cache(maxsize=2048)
