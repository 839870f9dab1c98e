"""Who may see which patients. Every patient query starts from ``patient_filter``
or ``role_filter`` (``role_patient_ids``): scope is enforced in SQL, not by hiding pages (docs/design.md)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, Select, bindparam, false, func, select

from dashboard.auth import normalise_username
from dashboard.schema import ROLES, clinicians, patients


@dataclass(frozen=True)
class Viewer:
    """A logged-in clinician; role and team come from ``clinicians``, never from
    the credentials file."""

    clinician_id: int
    username: str
    display_name: str
    role: str
    team_id: int | None


def load_viewer(engine: Engine, username: str) -> Viewer | None:
    """The clinician with this login name, compared in the normalised form the login
    uses (dashboard.auth.normalise_username: trimmed, lower case), or None: a login
    with no clinician row sees nothing, and neither does one that matches two rows."""
    name = normalise_username(username)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                clinicians.c.id,
                clinicians.c.username,
                clinicians.c.display_name,
                clinicians.c.role,
                clinicians.c.team_id,
            )
            .where(func.lower(func.trim(clinicians.c.username)) == name)
            .limit(2)
        ).all()
    if len(rows) != 1 or rows[0].role not in ROLES:
        return None
    row = rows[0]
    return Viewer(row.id, row.username, row.display_name, row.role, row.team_id)


SCOPE_COLUMN = {"gp": patients.c.gp_id, "therapist": patients.c.therapist_id, "team_lead": patients.c.team_id}


def scope_params(viewer: Viewer) -> dict:
    """The viewer's value for their role's scope column: their clinician id, or a
    lead's team (None for a lead without a team, who matches no one)."""
    return {"scope_id": viewer.team_id if viewer.role == "team_lead" else viewer.clinician_id}


def patient_filter(viewer: Viewer) -> ColumnElement[bool]:
    column, value = SCOPE_COLUMN.get(viewer.role), scope_params(viewer)["scope_id"]
    return false() if column is None or value is None else column == value


SCOPE_ID = bindparam("scope_id")


def role_filter(role: str) -> ColumnElement[bool]:
    """``patient_filter`` for every viewer of a role, the viewer's value given as the
    ``scope_id`` parameter (``scope_params``): one statement serves all of them
    (dashboard.statements). A None value matches no row, as ``false()`` does."""
    column = SCOPE_COLUMN.get(role)
    return false() if column is None else column == SCOPE_ID


def role_patient_ids(role: str) -> Select:
    return select(patients.c.id).where(role_filter(role))
