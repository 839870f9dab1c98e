"""Portable date arithmetic and medians for aggregate SQL (SQLite and PostgreSQL).

SQLite stores timestamps as text and has no interval type or ``percentile_cont``;
these constructs compile to each dialect's own idiom so one SQLAlchemy Core
statement serves both backends.
"""

from __future__ import annotations

from sqlalchemy import Float, Integer, Select, and_, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement


class days_between(FunctionElement):
    """(later - earlier) in fractional days."""

    type = Float()
    inherit_cache = True
    name = "days_between"


class whole_days_between(FunctionElement):
    """floor((later - earlier) / 24 h) for later >= earlier (docs/design.md: "days since")."""

    type = Integer()
    inherit_cache = True
    name = "whole_days_between"


def _args(element, compiler, **kw) -> tuple[str, str]:
    later, earlier = list(element.clauses)
    return compiler.process(later, **kw), compiler.process(earlier, **kw)


@compiles(days_between, "sqlite")
def _days_sqlite(element, compiler, **kw):
    later, earlier = _args(element, compiler, **kw)
    return f"(julianday({later}) - julianday({earlier}))"


@compiles(days_between, "postgresql")
def _days_pg(element, compiler, **kw):
    later, earlier = _args(element, compiler, **kw)
    return f"(EXTRACT(EPOCH FROM (CAST({later} AS TIMESTAMP) - CAST({earlier} AS TIMESTAMP))) / 86400.0)"


@compiles(whole_days_between, "sqlite")
def _whole_sqlite(element, compiler, **kw):
    # Whole milliseconds (julianday's precision) rounded, so float error cannot move an
    # exact day boundary; integer division is floor for the non-negative spans used here.
    later, earlier = _args(element, compiler, **kw)
    return f"(CAST((julianday({later}) - julianday({earlier})) * 86400000 + 0.5 AS INTEGER) / 86400000)"


@compiles(whole_days_between, "postgresql")
def _whole_pg(element, compiler, **kw):
    later, earlier = _args(element, compiler, **kw)
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM (CAST({later} AS TIMESTAMP) - CAST({earlier} AS TIMESTAMP))) / 86400) AS INTEGER)"


def median_by(values: Select, value: str, groups: list[str]) -> Select:
    """Per group of ``values`` (a select with the group columns and ``value``):
    ``median`` over the non-NULL values (NULL when there are none, as pandas),
    ``n`` of them and ``rows`` in all, in one pass of window functions, since
    SQLite has no percentile."""
    sub = values.subquery()
    parts = [sub.c[g] for g in groups]
    v = sub.c[value]
    window = {"partition_by": parts or None}
    ranked = select(
        *parts,
        v.label("v"),
        func.row_number().over(order_by=v.nulls_last(), **window).label("rn"),
        func.count(v).over(**window).label("n"),
        func.count().over(**window).label("rows"),
    ).subquery()
    keys = [ranked.c[g] for g in groups]
    middle: ColumnElement[bool] = and_(
        ranked.c.v.is_not(None), ranked.c.rn.between((ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2)
    )
    return select(
        *keys,
        func.avg(case((middle, ranked.c.v))).label("median"),
        func.max(ranked.c.n).label("n"),
        func.max(ranked.c.rows).label("rows"),
    ).group_by(*keys)
