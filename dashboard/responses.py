"""Questionnaire responses, aggregated per response in the database and scored
by ``measures.score_responses``: one row per response, never one per item."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Select, and_, case, false, func, or_, select
from sqlalchemy.engine import Connection

from dashboard.config import Settings
from dashboard.measures import INSTRUMENTS, score_responses
from dashboard.schema import patients, programs
from dashboard.schema import response_items as ri
from dashboard.schema import responses as r


def _valid_item():
    """An item row that belongs to its instrument's items and range (registry-driven)."""
    return or_(
        false(),
        *(
            and_(r.c.instrument == code, ri.c.item.between(1, inst.n_items), ri.c.score.between(inst.item_min, inst.item_max))
            for code, inst in INSTRUMENTS.items()
        ),
    )


def _risk_item_score():
    whens = [
        (and_(r.c.instrument == code, ri.c.item == inst.risk_item, ri.c.score.between(inst.item_min, inst.item_max)), ri.c.score)
        for code, inst in INSTRUMENTS.items()
        if inst.risk_item
    ]
    return func.max(case(*whens, else_=None))


def _primary_instrument_of_patient():
    return (
        select(programs.c.primary_instrument)
        .select_from(patients.join(programs, programs.c.id == patients.c.program_id))
        .where(patients.c.id == r.c.patient_id)
        .scalar_subquery()
    )


def responses_query(patient_ids: Select, now: datetime, primary_only: bool = False,
                    instruments: tuple[str, ...] | None = None) -> Select:
    """Responses of the given (already scoped) patients up to ``now``; future-dated
    rows are platform errors and are left out. ``primary_only`` keeps each
    patient's programme instrument; ``instruments`` keeps only those."""
    valid = _valid_item()
    stmt = (
        select(
            r.c.id.label("response_id"),
            r.c.patient_id,
            r.c.instrument,
            r.c.administered_at,
            r.c.total_score,
            func.count(ri.c.item).label("n_item_rows"),
            func.count(func.distinct(case((valid, ri.c.item)))).label("n_valid_items"),
            func.coalesce(func.sum(case((valid, ri.c.score))), 0).label("valid_item_sum"),
            _risk_item_score().label("risk_item_score"),
        )
        .select_from(r.outerjoin(ri, ri.c.response_id == r.c.id))
        .where(r.c.patient_id.in_(patient_ids), r.c.administered_at <= now)
        .group_by(r.c.id, r.c.patient_id, r.c.instrument, r.c.administered_at, r.c.total_score)
        .order_by(r.c.patient_id, r.c.administered_at, r.c.id)
    )
    if primary_only:
        stmt = stmt.where(r.c.instrument == _primary_instrument_of_patient())
    if instruments is not None:
        stmt = stmt.where(r.c.instrument.in_(instruments))
    return stmt


def scored_responses(
    conn: Connection, patient_ids: Select, now: datetime, settings: Settings, primary_only: bool = False,
    instruments: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    frame = pd.read_sql(responses_query(patient_ids, now, primary_only, instruments), conn, parse_dates=["administered_at"])
    return score_responses(frame, settings)
