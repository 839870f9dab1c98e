"""The append-only audit log: who did what, when, to which patient."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, and_, func, insert, or_, select

from dashboard.clinician_records import ACTIONS as GP_ACTIONS
from dashboard.flags import FLAG_KINDS
from dashboard.i18n import N_
from dashboard.i18n import gettext as _
from dashboard.logs import log_event
from dashboard.schema import clinicians, patients
from dashboard.scope import Viewer
from dashboard.state_tables import audit
from dashboard.timeutil import utcnow

ACTIONS = (
    "login",
    "logout",
    "login_attempt",
    "login_failed",
    "login_refused",
    "login_unlocked",
    "open_record",
    "denied",
    "acknowledge",
    "acknowledgement_withdrawn",
    "concern",
    "followup",
    "followup_correction",
    "followup_withdrawal",
    "export",
    "cli_report",
)
SESSION_ACTIONS = (
    "login",
    "logout",
    "login_failed",
    "login_refused",
    "login_unlocked",
)  # also written to the structured log


def record(engine: Engine, actor: str, action: str, patient_id: int | None = None, **detail: Any) -> None:
    """Write one audit row in its own transaction. Logins and logouts also go to
    the structured log for monitoring: the username and fixed words only."""
    with engine.begin() as conn:
        record_in(conn, actor, action, patient_id, **detail)
    if action in SESSION_ACTIONS:
        log_event(action, user=actor, **{k: detail[k] for k in ("role", "reason") if k in detail})


def record_in(conn: Connection, actor: str, action: str, patient_id: int | None = None, **detail: Any) -> None:
    """Write one audit row inside the caller's transaction, so a write and its
    audit row are stored together or not at all."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    conn.execute(
        insert(audit).values(
            occurred_at=utcnow(precise=True),
            actor=actor,
            action=action,
            patient_id=patient_id,
            detail=json.dumps(detail, sort_keys=True, default=str) if detail else None,
        )
    )


def read(engine: Engine, actor: str | None = None, limit: int = 1000) -> pd.DataFrame:
    stmt = select(audit).order_by(audit.c.occurred_at.desc(), audit.c.id.desc()).limit(limit)
    if actor is not None:
        stmt = stmt.where(audit.c.actor == actor)
    with engine.connect() as conn:
        return pd.read_sql(stmt, conn)


def team_staff(platform: Engine, team_id: int) -> list[str]:
    """Login names whose logins, denials and exports a team's lead sees: the team's
    clinicians, and every clinician with a patient in the team (GPs have no team,
    and a therapist may also treat another team's patients)."""
    treating = (
        select(patients.c.therapist_id)
        .where(patients.c.team_id == team_id)
        .union(select(patients.c.gp_id).where(patients.c.team_id == team_id))
    )
    with platform.connect() as conn:
        return [
            u
            for (u,) in conn.execute(
                select(clinicians.c.username).where(or_(clinicians.c.team_id == team_id, clinicians.c.id.in_(treating)))
            )
        ]


def actor_names(usernames: list[str]) -> set[str]:
    """How the audit names these clinicians: as typed in the app, lower-cased (the
    login form's spelling) and as their command-line runs (``cli:NAME``)."""
    names = {n for u in usernames for n in (u, u.lower())}
    return names | {f"cli:{n}" for n in names}


def team_trail(
    state: Engine,
    platform: Engine,
    viewer: Viewer,
    since: datetime,
    until: datetime,
    actor: str | None = None,
    patient_code: str | None = None,
    limit: int = 5000,
) -> pd.DataFrame:
    """Audit rows a team lead may see: every row about their team's patients (whoever
    acted: an outsider's denied deep link names the patient), and the rows about no
    patient (logins, logouts, denials of unknown codes, exports, command-line runs) of
    ``team_staff``. A clinician's actions on other teams' patients stay out. The two
    databases are joined in Python on the scoped names and ids."""
    if viewer.role != "team_lead" or viewer.team_id is None:
        return pd.DataFrame(columns=TRAIL_COLUMNS)
    staff = team_staff(platform, viewer.team_id)
    with platform.connect() as conn:
        team = dict(
            conn.execute(select(patients.c.id, patients.c.code).where(patients.c.team_id == viewer.team_id)).all()
        )
    stmt = (
        select(audit)
        .where(
            audit.c.occurred_at >= since,
            audit.c.occurred_at < until,
            or_(
                audit.c.patient_id.in_(list(team)),
                and_(audit.c.patient_id.is_(None), audit.c.actor.in_(actor_names(staff))),
            ),
        )
        .order_by(audit.c.occurred_at.desc(), audit.c.id.desc())
        .limit(limit)
    )
    if actor:
        stmt = stmt.where(audit.c.actor.in_([actor, f"cli:{actor}"]))
    if patient_code:
        ids = [pid for pid, code in team.items() if code == patient_code.strip()]
        stmt = stmt.where(audit.c.patient_id.in_(ids))
    with state.connect() as conn:
        rows = pd.read_sql(stmt, conn, parse_dates=["occurred_at"])
    rows["patient"] = rows["patient_id"].map(team)
    return rows[TRAIL_COLUMNS]


def requested_patients(platform: Engine, code: str) -> list[int]:
    """Every platform patient with this code, in no viewer's scope: a denied deep
    link is recorded against the patient it asked for, so that patient's team lead
    sees the attempt. Codes are not unique on every platform, hence a list."""
    with platform.connect() as conn:
        return sorted(pid for (pid,) in conn.execute(select(patients.c.id).where(patients.c.code == code)))


TRAIL_COLUMNS = ["occurred_at", "actor", "action", "patient", "detail"]


# ---------------------------------------------------------------- in words, for the Audit page

ACTION_WORDS = {
    "login": N_("logged in"),
    "logout": N_("logged out"),
    "login_attempt": N_("tried to log in"),
    "login_failed": N_("login failed"),
    "login_refused": N_("login refused"),
    "login_unlocked": N_("lifted a lockout"),
    "open_record": N_("opened the record"),
    "denied": N_("was refused a record"),
    "acknowledge": N_("marked a reason handled"),
    "acknowledgement_withdrawn": N_("withdrew an acknowledgement"),
    "concern": N_("recorded a concern"),
    "followup": N_("logged a follow-up"),
    "followup_correction": N_("corrected a follow-up"),
    "followup_withdrawal": N_("withdrew a follow-up"),
    "export": N_("exported"),
    "cli_report": N_("ran a command-line report"),
}


KEY_WORDS = {"ack": N_("acknowledgement"), "flag": N_("reason"), "gp_action": N_("GP action"), "role": N_("role")}
VALUE_WORDS: dict[str, dict[str, str]] = {  # stored codes as the pages name them
    "role": {
        "gp": N_("GP"),
        "therapist": N_("Therapist"),
        "team_lead": N_("Team lead"),
        "peer_supporter": N_("Peer supporter"),
    },
    "flag": {kind: spec.title for kind, spec in FLAG_KINDS.items()},
    "gp_action": GP_ACTIONS,
}


def action_words(action: str) -> str:
    """An audit action's words in the run's language (the stored code when unknown)."""
    return _(ACTION_WORDS[action]) if action in ACTION_WORDS else action


def detail_words(detail: str | None) -> str:
    """An audit row's detail (JSON) as words: ``{"flag": "risk", "ack": 12}`` ->
    ``reason: Risk answer · acknowledgement: 12``; stored codes are named as the pages
    name them. Anything that is not a JSON object is shown as it is."""
    if not detail:
        return ""
    try:
        values = json.loads(detail)
    except ValueError:
        return str(detail)
    if not isinstance(values, dict):
        return str(values)
    return " · ".join(
        f"{_key_words(str(k))}: {_value_words(str(k), v)}" for k, v in values.items() if v not in (None, "")
    )


def _key_words(key: str) -> str:
    return _(KEY_WORDS[key]) if key in KEY_WORDS else key.replace("_", " ")


def _value_words(key: str, value: object) -> object:
    """A stored code named as the pages name it, in the run's language; other values as stored."""
    words = VALUE_WORDS.get(key, {}).get(str(value))
    return value if words is None else _(words)


def actor_labels(platform: Engine, actors: list[str]) -> dict[str, str]:
    """How the Audit page names each actor: the clinician's display name with the login
    after it (``Jonas Lindqvist (therapist1)``), a command-line run said so, and any
    other actor (an operator, an unknown login) as recorded."""
    logins = {a.removeprefix("cli:").lower() for a in actors}
    with platform.connect() as conn:
        names = {
            str(u).strip().lower(): n
            for u, n in conn.execute(
                select(clinicians.c.username, clinicians.c.display_name).where(
                    func.lower(func.trim(clinicians.c.username)).in_(sorted(logins))
                )
            )
        }
    out = {}
    for actor in actors:
        login = actor.removeprefix("cli:")
        name = names.get(login.lower())
        label = f"{name} ({login})" if name else login
        out[actor] = _("{actor}, command line").format(actor=label) if actor.startswith("cli:") else label
    return out
