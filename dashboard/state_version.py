"""How current a cached page is with respect to the dashboard's own writes.

A page's cached data holds what the clinician's and their colleagues' writes made
of it: follow-ups, acknowledgements and their withdrawals, supporters' concerns. Any write must reach
every session and every app instance that shows those patients at its next run,
and only those: the version of a set of patients is the highest ``dash_`` row id
of each such table over them. It is part of every cached page read's key, so a
write by anyone (another browser, another instance) changes the key of exactly
the views that show the patient; a global counter would drop every team's views.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, func, select, union

from dashboard.clinician_records import patient_in
from dashboard.scope import Viewer, role_patient_ids, scope_params
from dashboard.state_tables import ack_withdrawals, acknowledgements, concerns, followups


def viewer_patient_ids(platform: Engine, viewer: Viewer) -> list[int]:
    """Every patient id in the viewer's scope (the data layer's own scope filter)."""
    with platform.connect() as conn:
        return sorted(conn.scalars(role_patient_ids(viewer.role), scope_params(viewer)))


def state_version(state: Engine, patient_ids: Sequence[int]) -> tuple[int, int, int, int]:
    """(follow-ups, acknowledgements, withdrawals, concerns): the highest row id over these patients."""
    if not patient_ids:
        return (0, 0, 0, 0)
    withdrawn = (
        select(func.max(ack_withdrawals.c.id))
        .select_from(ack_withdrawals.join(acknowledgements, acknowledgements.c.id == ack_withdrawals.c.ack_id))
        .where(patient_in(state, acknowledgements.c.patient_id, patient_ids))
    )
    stmt = select(
        select(func.max(followups.c.id))
        .where(patient_in(state, followups.c.patient_id, patient_ids))
        .scalar_subquery(),
        select(func.max(acknowledgements.c.id))
        .where(patient_in(state, acknowledgements.c.patient_id, patient_ids))
        .scalar_subquery(),
        withdrawn.scalar_subquery(),
        select(func.max(concerns.c.id)).where(patient_in(state, concerns.c.patient_id, patient_ids)).scalar_subquery(),
    )
    with state.connect() as conn:
        row = conn.execute(stmt).one()
    return tuple(int(v or 0) for v in row)


def changed_since(state: Engine, patient_ids: Sequence[int], version: Sequence[int]) -> list[int]:
    """The patients of ``patient_ids`` with a follow-up, acknowledgement, withdrawal or
    concern stored after ``version`` (``state_version``): those whose triage items and GP
    follow-ups a kept snapshot must judge again."""
    if not patient_ids:
        return []
    fu, ack, wd, worry = (int(v) for v in version)
    mine = patient_in(state, acknowledgements.c.patient_id, patient_ids)
    stmt = union(
        select(followups.c.patient_id).where(
            followups.c.id > fu, patient_in(state, followups.c.patient_id, patient_ids)
        ),
        select(acknowledgements.c.patient_id).where(acknowledgements.c.id > ack, mine),
        select(acknowledgements.c.patient_id)
        .select_from(ack_withdrawals.join(acknowledgements, acknowledgements.c.id == ack_withdrawals.c.ack_id))
        .where(ack_withdrawals.c.id > wd, mine),
        select(concerns.c.patient_id).where(
            concerns.c.id > worry, patient_in(state, concerns.c.patient_id, patient_ids)
        ),
    )
    with state.connect() as conn:
        return sorted(int(i) for i in conn.scalars(stmt))
