"""Who may see which patients. Every patient query starts from ``patient_filter``
or ``role_filter`` (``role_patient_ids``): scope is enforced in SQL, not by hiding pages (docs/design.md).

A peer supporter's scope is not a column of ``patients`` but the optional ``care_team``
table: the patients with a row for them open at the moment of the query (started, and
not ended). On a platform without that table a peer supporter has no viewer at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, Select, bindparam, false, func, inspect, or_, select

from dashboard.auth import normalise_username
from dashboard.schema import PEER_SUPPORTER, ROLES, care_team, clinicians, patients
from dashboard.timeutil import utcnow


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
    if row.role == PEER_SUPPORTER and not has_care_team(engine):
        return None  # their scope is care_team rows: without the table there is nothing to see
    return Viewer(row.id, row.username, row.display_name, row.role, row.team_id)


def has_care_team(engine: Engine) -> bool:
    """Whether the platform has the optional ``care_team`` table (or a view of it)."""
    insp = inspect(engine)
    return care_team.name in set(insp.get_table_names()) | set(insp.get_view_names())


SCOPE_COLUMN = {"gp": patients.c.gp_id, "therapist": patients.c.therapist_id, "team_lead": patients.c.team_id}
SCOPE_ID = bindparam("scope_id")
# The moment a care_team row must be open at; when a query names no moment, the wall clock.
SCOPE_AT = bindparam("scope_at", callable_=utcnow)


def scope_params(viewer: Viewer, at: datetime | None = None) -> dict:
    """The viewer's value for their role's scope column: their clinician id, or a
    lead's team (None for a lead without a team, who matches no one); and ``at``, the
    page's moment, at which a peer supporter's care_team rows must be open."""
    value = viewer.team_id if viewer.role == "team_lead" else viewer.clinician_id
    return {"scope_id": value, "scope_at": utcnow() if at is None else at}


def _care_team_filter(clinician, at) -> ColumnElement[bool]:
    """Patients with a care_team row for ``clinician`` open at ``at``: started_at <= at,
    and ended_at null or after it."""
    return patients.c.id.in_(
        select(care_team.c.patient_id).where(
            care_team.c.clinician_id == clinician,
            care_team.c.started_at <= at,
            or_(care_team.c.ended_at.is_(None), care_team.c.ended_at > at),
        )
    )


def patient_filter(viewer: Viewer, at: datetime | None = None) -> ColumnElement[bool]:
    params = scope_params(viewer, at)
    value = params["scope_id"]
    if viewer.role == PEER_SUPPORTER:
        return _care_team_filter(value, params["scope_at"])
    column = SCOPE_COLUMN.get(viewer.role)
    return false() if column is None or value is None else column == value


def role_filter(role: str) -> ColumnElement[bool]:
    """``patient_filter`` for every viewer of a role, the viewer's value given as the
    ``scope_id`` parameter (and a peer supporter's moment as ``scope_at``, from
    ``scope_params``): one statement serves all of them (dashboard.statements). A None
    value matches no row, as ``false()`` does."""
    if role == PEER_SUPPORTER:
        return _care_team_filter(SCOPE_ID, SCOPE_AT)
    column = SCOPE_COLUMN.get(role)
    return false() if column is None else column == SCOPE_ID


def role_patient_ids(role: str) -> Select:
    return select(patients.c.id).where(role_filter(role))
