"""Questionnaire responses, aggregated per response in the database and scored
by ``measures.score_responses``: one row per response, never one per item."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Select, and_, case, false, func, or_, select
from sqlalchemy.engine import Connection

from dashboard.config import Settings
from dashboard.frames import read_frame
from dashboard.measures import INSTRUMENTS, score_responses
from dashboard.schema import patients, programs
from dashboard.schema import response_items as ri
from dashboard.schema import responses as r
from dashboard.statements import NOW


def _answers(response_ids: Select):
    """One row per (response, item) of these responses: how many rows the platform
    holds for it and the lowest and highest score. Duplicated rows that agree count
    once; rows that disagree make the item unanswerable (a platform error)."""
    return (
        select(
            ri.c.response_id,
            ri.c.item,
            func.count().label("rows"),
            func.min(ri.c.score).label("lo"),
            func.max(ri.c.score).label("hi"),
        )
        .where(ri.c.response_id.in_(response_ids))
        .group_by(ri.c.response_id, ri.c.item)
        .subquery()
    )


def _valid_item(a):
    """An answer that belongs to its instrument's items and range, given once (registry-driven)."""
    return and_(
        a.c.lo == a.c.hi,
        or_(
            false(),
            *(
                and_(
                    r.c.instrument == code,
                    a.c.item.between(1, inst.n_items),
                    a.c.lo.between(inst.item_min, inst.item_max),
                )
                for code, inst in INSTRUMENTS.items()
            ),
        ),
    )


def _risk_item_score(a):
    """The risk item's answer; if the platform holds disagreeing answers, the highest
    (the safer reading: any answer above 0 is a risk alert, clinical-reference 1.5)."""
    whens = [
        (
            and_(r.c.instrument == code, a.c.item == inst.risk_item, a.c.lo >= inst.item_min, a.c.hi <= inst.item_max),
            a.c.hi,
        )
        for code, inst in INSTRUMENTS.items()
        if inst.risk_item
    ]
    return func.max(case(*whens, else_=None))


def _scope(patient_ids: Select, instruments: tuple[str, ...] | None) -> list:
    scope = [r.c.patient_id.in_(patient_ids), r.c.administered_at <= NOW]
    if instruments is not None:
        scope.append(r.c.instrument.in_(instruments))
    return scope


RESPONSE_KEYS = (r.c.id, r.c.patient_id, r.c.instrument, r.c.administered_at, r.c.total_score)


def responses_query(
    patient_ids: Select, primary_only: bool = False, instruments: tuple[str, ...] | None = None
) -> Select:
    """Responses of the given (already scoped) patients up to NOW; future-dated
    rows are platform errors and are left out. ``primary_only`` keeps each
    patient's programme instrument; ``instruments`` keeps only those.

    One pass over the item rows, exact while no item is repeated within a
    response (the rule for repeats needs a group per item). ``n_distinct_items``
    shows where that fails; ``exact_item_stats`` then recounts those responses."""
    valid = or_(
        false(),
        *(
            and_(
                r.c.instrument == code,
                ri.c.item.between(1, inst.n_items),
                ri.c.score.between(inst.item_min, inst.item_max),
            )
            for code, inst in INSTRUMENTS.items()
        ),
    )
    risk = [
        (
            and_(r.c.instrument == code, ri.c.item == inst.risk_item, ri.c.score.between(inst.item_min, inst.item_max)),
            ri.c.score,
        )
        for code, inst in INSTRUMENTS.items()
        if inst.risk_item
    ]
    source = r.outerjoin(ri, ri.c.response_id == r.c.id)
    if primary_only:
        # A join, not a per-row subquery: the programme's instrument is read once per patient.
        source = (
            r.join(patients, patients.c.id == r.c.patient_id)
            .join(
                programs, and_(programs.c.id == patients.c.program_id, programs.c.primary_instrument == r.c.instrument)
            )
            .outerjoin(ri, ri.c.response_id == r.c.id)
        )
    return (
        select(
            r.c.id.label("response_id"),
            r.c.patient_id,
            r.c.instrument,
            r.c.administered_at,
            r.c.total_score,
            func.count(ri.c.response_id).label("n_item_rows"),
            func.count(ri.c.item.distinct()).label("n_distinct_items"),
            func.count(case((valid, ri.c.item))).label("n_valid_items"),
            func.coalesce(func.sum(case((valid, ri.c.score))), 0).label("valid_item_sum"),
            func.max(case(*risk, else_=None)).label("risk_item_score"),
        )
        .select_from(source)
        .where(*_scope(patient_ids, instruments))
        .group_by(*RESPONSE_KEYS)
        .order_by(r.c.patient_id, r.c.administered_at, r.c.id)
    )


def latest_per_patient(scored: pd.DataFrame) -> pd.DataFrame:
    """Each patient's latest row by (administered_at, response_id). A numpy sort,
    not a groupby: on a caseload's few hundred rows pandas' per-call cost dominates."""
    if scored.empty:
        return scored
    order = np.lexsort(
        (scored["response_id"].to_numpy(), scored["administered_at"].to_numpy(), scored["patient_id"].to_numpy())
    )
    pid = scored["patient_id"].to_numpy()[order]
    last = np.append(pid[1:] != pid[:-1], True)
    return scored.iloc[order[last]]


ITEM_STATS = ["n_item_rows", "n_valid_items", "valid_item_sum", "risk_item_score"]


def item_stats(response_ids: Select) -> Select:
    """The exact ITEM_STATS of the responses ``response_ids`` selects, with a group per
    (response, item), and the response's own columns. The one definition both schedules
    use: the live path for the few responses whose items repeat or lack a number
    (platform errors), and the refresher (dashboard.refresh) for every response it keeps."""
    a = _answers(response_ids)
    valid = _valid_item(a)
    return (
        select(
            r.c.id.label("response_id"),
            r.c.patient_id,
            r.c.instrument,
            r.c.administered_at,
            r.c.total_score,
            func.coalesce(func.sum(a.c.rows), 0).label("n_item_rows"),
            func.count(case((valid, a.c.item))).label("n_valid_items"),
            func.coalesce(func.sum(case((valid, a.c.lo))), 0).label("valid_item_sum"),
            _risk_item_score(a).label("risk_item_score"),
        )
        .select_from(r.outerjoin(a, a.c.response_id == r.c.id))
        .where(r.c.id.in_(response_ids))
        .group_by(*RESPONSE_KEYS)
    )


def valid_answers(response_ids: Select) -> Select:
    """(response_id, item, score) of every usable item answer of these responses: in
    its instrument's items and range, given once (repeats that agree count once). The
    same rule ``item_stats`` sums, so an export's items add up to the scored total."""
    a = _answers(response_ids)
    return (
        select(a.c.response_id, a.c.item, a.c.lo.label("score"))
        .select_from(a.join(r, r.c.id == a.c.response_id))
        .where(_valid_item(a))
        .order_by(a.c.response_id, a.c.item)
    )


def exact_item_stats(response_ids: list[int]) -> Select:
    """``item_stats`` of these responses (the live path's recount of repeated items)."""
    return item_stats(select(r.c.id).where(r.c.id.in_(response_ids)))


def scored_responses(
    conn: Connection,
    patient_ids: Select,
    now: datetime,
    settings: Settings,
    primary_only: bool = False,
    instruments: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    return read_scored(conn, responses_query(patient_ids, primary_only, instruments), {"now": now}, settings)


def read_scored(conn: Connection, stmt: Select, params: dict, settings: Settings) -> pd.DataFrame:
    """Run a ``responses_query`` statement (built once, see dashboard.statements) and
    score it; ``params``: ``now`` and any parameter its scope uses."""
    frame = read_frame(conn, stmt, params, ("administered_at",))
    repeated = frame["n_item_rows"] > frame["n_distinct_items"]
    if repeated.any():
        exact = pd.read_sql(exact_item_stats([int(i) for i in frame.loc[repeated, "response_id"]]), conn)
        exact = exact.set_index("response_id")
        for column in ITEM_STATS:
            frame[column] = frame[column].astype("float64")
            frame.loc[repeated, column] = (
                frame.loc[repeated, "response_id"].map(exact[column]).to_numpy(dtype="float64")
            )
    # A date in another format reads as missing (schema.ContractTimestamp); an undated
    # response cannot be placed on a trajectory, so it is left out and reported.
    undated = frame["administered_at"].isna()
    if undated.any():
        frame = frame[~undated]
    return score_responses(frame.drop(columns="n_distinct_items"), settings)
