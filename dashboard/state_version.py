"""How current a cached page is with respect to the dashboard's own writes.

A page's cached data holds what the clinician's and their colleagues' writes made
of it: follow-ups, acknowledgements and their withdrawals. Any write must reach
every session and every app instance that shows those patients at its next run,
and only those: the version of a set of patients is the highest ``dash_`` row id
of each such table over them. It is part of every cached page read's key, so a
write by anyone (another browser, another instance) changes the key of exactly
the views that show the patient; a global counter would drop every team's views.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import BigInteger, ColumnElement, Engine, any_, bindparam, func, literal_column, select, union
from sqlalchemy.dialects.postgresql import ARRAY

from dashboard.scope import Viewer, role_patient_ids, scope_params
from dashboard.state_tables import ack_withdrawals, acknowledgements, followups


def viewer_patient_ids(platform: Engine, viewer: Viewer) -> list[int]:
    """Every patient id in the viewer's scope (the data layer's own scope filter)."""
    with platform.connect() as conn:
        return sorted(conn.scalars(role_patient_ids(viewer.role), scope_params(viewer)))


def one_of(state: Engine, column, patient_ids: Sequence[int]) -> ColumnElement[bool]:
    """``column IN patient_ids`` as one bound value: a PostgreSQL array, a JSON list on
    SQLite. A lead's 5,000 ids as separate parameters cost 0.5 s to compile per statement
    (SQLAlchemy names each one), on every Caseload run."""
    ids = [int(i) for i in patient_ids]
    if state.dialect.name == "postgresql":
        return column == any_(bindparam("patient_ids", ids, type_=ARRAY(BigInteger)))
    listed = select(literal_column("value")).select_from(func.json_each(bindparam("patient_ids", json.dumps(ids))))
    return column.in_(listed.scalar_subquery())


def state_version(state: Engine, patient_ids: Sequence[int]) -> tuple[int, int, int]:
    """(follow-ups, acknowledgements, withdrawals): the highest row id over these patients."""
    if not patient_ids:
        return (0, 0, 0)
    withdrawn = (
        select(func.max(ack_withdrawals.c.id))
        .select_from(ack_withdrawals.join(acknowledgements, acknowledgements.c.id == ack_withdrawals.c.ack_id))
        .where(one_of(state, acknowledgements.c.patient_id, patient_ids))
    )
    stmt = select(
        select(func.max(followups.c.id)).where(one_of(state, followups.c.patient_id, patient_ids)).scalar_subquery(),
        select(func.max(acknowledgements.c.id))
        .where(one_of(state, acknowledgements.c.patient_id, patient_ids))
        .scalar_subquery(),
        withdrawn.scalar_subquery(),
    )
    with state.connect() as conn:
        row = conn.execute(stmt).one()
    return tuple(int(v or 0) for v in row)


def changed_since(state: Engine, patient_ids: Sequence[int], version: Sequence[int]) -> list[int]:
    """The patients of ``patient_ids`` with a follow-up, acknowledgement or withdrawal
    stored after ``version`` (``state_version``): those whose triage items and GP
    follow-ups a kept snapshot must judge again."""
    if not patient_ids:
        return []
    fu, ack, wd = (int(v) for v in version)
    mine = one_of(state, acknowledgements.c.patient_id, patient_ids)
    stmt = union(
        select(followups.c.patient_id).where(followups.c.id > fu, one_of(state, followups.c.patient_id, patient_ids)),
        select(acknowledgements.c.patient_id).where(acknowledgements.c.id > ack, mine),
        select(acknowledgements.c.patient_id)
        .select_from(ack_withdrawals.join(acknowledgements, acknowledgements.c.id == ack_withdrawals.c.ack_id))
        .where(ack_withdrawals.c.id > wd, mine),
    )
    with state.connect() as conn:
        return sorted(int(i) for i in conn.scalars(stmt))
