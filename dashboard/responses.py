"""Questionnaire responses, aggregated per response in the database and scored
by ``measures.score_responses``: one row per response, never one per item."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Select, and_, case, false, func, literal, or_, select, union_all
from sqlalchemy.engine import Connection

from dashboard.config import Settings
from dashboard.facts import may_be_in_treatment
from dashboard.frames import read_frame
from dashboard.instruments import Instrument
from dashboard.measures import INSTRUMENTS, RULE_COLUMNS, score_responses, score_subscales
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


def _answer_allowed(inst: Instrument, item, score) -> ColumnElement[bool]:
    """An answer to one of the instrument's items, within its range and among that item's
    allowed values (AUDIT items 9-10: 0, 2, 4)."""
    return and_(
        item.between(1, inst.n_items),
        score.between(inst.item_min, inst.item_max),
        *(or_(item.not_in(rule.items), score.in_(rule.values)) for rule in inst.allowed_values),
    )


def _allowed(item, score) -> ColumnElement[bool]:
    """Registry-wide: the answer belongs to its response's instrument."""
    return or_(
        false(),
        *(and_(r.c.instrument == code, _answer_allowed(inst, item, score)) for code, inst in INSTRUMENTS.items()),
    )


def _invalid_option(item, score) -> ColumnElement[bool]:
    """In range, but not one of the item's allowed values: a data-quality problem (reference 4)."""
    return or_(
        false(),
        *(
            and_(
                r.c.instrument == code,
                item.in_(rule.items),
                score.between(inst.item_min, inst.item_max),
                score.not_in(rule.values),
            )
            for code, inst in INSTRUMENTS.items()
            for rule in inst.allowed_values
        ),
    )


def _not_applicable(item, score) -> ColumnElement[bool]:
    """The instrument's not-applicable item recorded with a NULL score (WSAS item 1, work)."""
    return or_(
        false(),
        *(
            and_(r.c.instrument == code, item == inst.not_applicable_item, score.is_(None))
            for code, inst in INSTRUMENTS.items()
            if inst.not_applicable_item
        ),
    )


def _escalated(item, score, allowed) -> ColumnElement:
    """1 when an escalation rule fired (AUDIT: one zone up if any of items 4-6 >= 2 or any
    of items 9-10 == 4), over the allowed answers only; else 0."""
    fired = []
    for code, inst in INSTRUMENTS.items():
        for rule in inst.escalation:
            picked = case((and_(allowed, r.c.instrument == code, item.in_(rule.items)), score))
            total = func.max(picked) if rule.of == "any" else func.sum(picked)
            fired.append(func.coalesce(total, 0) >= rule.at_least)
    return case((or_(false(), *fired), 1), else_=0)


def _rule_stats(item, score, allowed, once: ColumnElement[bool] | None = None) -> list:
    """RULE_STATS, for item rows or per-item groups alike (``once``: the group's answers
    agree; a group whose answers disagree is already an unusable item)."""
    invalid = _invalid_option(item, score) if once is None else and_(once, _invalid_option(item, score))
    return [
        func.count(case((invalid, item))).label("n_invalid_options"),
        func.count(case((_not_applicable(item, score), item))).label("n_na_items"),
        _escalated(item, score, allowed).label("escalated"),
    ]


def _valid_item(a):
    """An answer that belongs to its instrument's items, range and options, given once (registry-driven)."""
    return and_(a.c.lo == a.c.hi, _allowed(a.c.item, a.c.lo))


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


def _scoped(
    patient_ids: Select,
    primary_only: bool,
    instruments: tuple[str, ...] | None,
    after_end: tuple[str, ...] | None,
):
    """(the responses joined to what the scope needs, the scope's conditions): one
    definition for ``responses_query`` and ``response_keys_query``."""
    source, scope = r, _scope(patient_ids, instruments)
    if primary_only or after_end is not None:
        # A join, not a per-row subquery: the programme's instrument is read once per patient.
        source = r.join(patients, patients.c.id == r.c.patient_id).outerjoin(
            programs, programs.c.id == patients.c.program_id
        )
    if primary_only:
        scope.append(r.c.instrument == programs.c.primary_instrument)
    if after_end is not None:
        scope.append(
            or_(may_be_in_treatment(), r.c.instrument.in_(after_end), r.c.instrument == programs.c.primary_instrument)
        )
    return source, scope


def responses_query(
    patient_ids: Select,
    primary_only: bool = False,
    instruments: tuple[str, ...] | None = None,
    after_end: tuple[str, ...] | None = None,
) -> Select:
    """Responses of the given (already scoped) patients up to NOW; future-dated
    rows are platform errors and are left out. ``primary_only`` keeps each
    patient's programme instrument; ``instruments`` keeps only those;
    ``after_end``: of an episode that may have ended (not ``facts.may_be_in_treatment``),
    only these instruments and the programme's own.

    One pass over the item rows, exact while no item is repeated within a
    response (the rule for repeats needs a group per item). ``n_distinct_items``
    shows where that fails; ``exact_item_stats`` then recounts those responses."""
    valid = _allowed(ri.c.item, ri.c.score)
    risk = [
        (
            and_(r.c.instrument == code, ri.c.item == inst.risk_item, ri.c.score.between(inst.item_min, inst.item_max)),
            ri.c.score,
        )
        for code, inst in INSTRUMENTS.items()
        if inst.risk_item
    ]
    source, scope = _scoped(patient_ids, primary_only, instruments, after_end)
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
            *_rule_stats(ri.c.item, ri.c.score, valid),
        )
        .select_from(source.outerjoin(ri, ri.c.response_id == r.c.id))
        .where(*scope)
        .group_by(*RESPONSE_KEYS)
        .order_by(r.c.patient_id, r.c.administered_at, r.c.id)
    )


def response_keys_query(
    patient_ids: Select,
    primary_only: bool = False,
    instruments: tuple[str, ...] | None = None,
    after_end: tuple[str, ...] | None = None,
) -> Select:
    """The responses ``responses_query`` aggregates, with their own columns and their
    risk item's rows only: what a page reads live when the refresher keeps the item
    aggregates (dashboard.response_facts). One row per risk item row (``risk_row``,
    and ``risk_answer``: its answer if in range, as ``risk_item_score`` reads it), or
    one without: a response appears twice when its risk item is repeated. They let a
    page check a kept row against the platform's risk answer, so an item 9 that
    arrives after its response was complete is never hidden behind the kept row
    (clinical-reference 1.5). Through the covering index one item row per PHQ-9 is
    read instead of all nine, and no GROUP BY is needed (it cost 330 ms for a team)."""
    source, scope = _scoped(patient_ids, primary_only, instruments, after_end)
    risk_item = or_(
        false(),
        *(and_(r.c.instrument == code, ri.c.item == i.risk_item) for code, i in INSTRUMENTS.items() if i.risk_item),
    )
    in_range = or_(
        false(),
        *(
            and_(r.c.instrument == code, ri.c.score.between(i.item_min, i.item_max))
            for code, i in INSTRUMENTS.items()
            if i.risk_item
        ),
    )
    return (
        select(
            *(c.label("response_id") if c is r.c.id else c for c in RESPONSE_KEYS),
            ri.c.response_id.is_not(None).label("risk_row"),
            case((in_range, ri.c.score)).label("risk_answer"),
        )
        .select_from(source.outerjoin(ri, and_(ri.c.response_id == r.c.id, risk_item)))
        .where(*scope)
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
# The instruments' own rules (options, not applicable, escalation): computed beside
# ITEM_STATS by both queries, read as 0 where absent (measures.RULE_COLUMNS).
RULE_STATS = list(RULE_COLUMNS)


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
            *_rule_stats(a.c.item, a.c.lo, valid, a.c.lo == a.c.hi),
        )
        .select_from(r.outerjoin(a, a.c.response_id == r.c.id))
        .where(r.c.id.in_(response_ids))
        .group_by(*RESPONSE_KEYS)
    )


def subscale_stats(response_ids: Select) -> Select | None:
    """Per (response, subscale) of the selected responses: how many of the subscale's
    items hold one allowed answer, and their sum, by the same per-item rule as
    ``item_stats`` (measures.score_subscales scores them). None when no instrument
    has subscales."""
    a = _answers(response_ids)
    valid = _valid_item(a)
    parts = []
    for code, inst in INSTRUMENTS.items():
        for sub in inst.subscales:
            inside = and_(valid, a.c.item.in_(sub.items))
            parts.append(
                select(
                    r.c.id.label("response_id"),
                    literal(code).label("instrument"),
                    literal(sub.name).label("subscale"),
                    func.count(case((inside, a.c.item))).label("n_valid_items"),
                    func.coalesce(func.sum(case((inside, a.c.lo))), 0).label("valid_item_sum"),
                )
                .select_from(r.join(a, a.c.response_id == r.c.id))
                .where(r.c.id.in_(response_ids), r.c.instrument == code)
                .group_by(r.c.id)
            )
    return union_all(*parts) if parts else None


def read_subscales(conn: Connection, response_ids: Select) -> pd.DataFrame:
    """Each selected response's subscale scores (measures.score_subscales), in registry order."""
    stmt = subscale_stats(response_ids)
    columns = ["response_id", "instrument", "subscale", "n_valid_items", "valid_item_sum"]
    frame = pd.DataFrame(columns=columns) if stmt is None else pd.read_sql(stmt, conn)
    return score_subscales(frame)


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
        for column in (*ITEM_STATS, *RULE_STATS):
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
