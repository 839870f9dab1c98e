"""Statements built once and run many times.

Building a large SQLAlchemy Core statement, and its cache key, costs a few
milliseconds: more than PostgreSQL takes to run a caseload's query once psycopg
has prepared it. The per-page queries are therefore built once per role (and
shape), with everything that varies as a bound parameter: the page's moment,
the viewer's scope (``scope.scope_params``) and the patient. Scope stays in the
statement's WHERE clause, filled in per execution like any other value; a
statement per viewer or patient would hold about 175 kB each."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import bindparam

NOW = bindparam("now")  # the page's moment: nothing after it has happened yet
CLOSED_BEFORE = bindparam("closed_before")  # episodes ended before this can no longer raise a flag
PATIENT_ID = bindparam("patient_id")  # the one patient of a patient page

# A handful of entries: roles times statement shapes.
prepared = lru_cache(maxsize=64)
