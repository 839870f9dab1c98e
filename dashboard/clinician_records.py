"""What clinicians recorded in the state database, read for patients already scoped
on the platform: GP follow-ups (their current versions), acknowledgements and peer
supporters' concerns.

The flag engine, the GP's due list and Caseload read these; the write paths
(dashboard.gp_followups, dashboard.acks, dashboard.concerns) own validation and auditing. Kept apart
so that reading them does not import the modules that serve pages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pandas as pd
from sqlalchemy import BigInteger, ColumnElement, Engine, and_, any_, bindparam, func, literal_column, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from dashboard.ack_cover import ACK_COLUMNS
from dashboard.frames import read_frame
from dashboard.i18n import N_
from dashboard.schema import PEER_SUPPORTER
from dashboard.state_tables import ack_withdrawals, concerns
from dashboard.state_tables import acknowledgements as acks_table
from dashboard.state_tables import followups as followups_table

State = Engine | Connection  # a connection lets several reads share one round of checkout


@contextmanager
def _connected(state: State) -> Iterator[Connection]:
    """``state`` itself when it is a connection, else one from its engine's pool."""
    if isinstance(state, Connection):
        yield state
    else:
        with state.connect() as conn:
            yield conn


def patient_in(state: State, column, patient_ids: Sequence[int]) -> ColumnElement[bool]:
    """``column IN patient_ids`` as one bound value: a PostgreSQL array, a JSON list on
    SQLite. A lead's 5,000 ids as separate parameters took about 0.2 s a list to expand
    (SQLAlchemy names each one), on every Caseload run."""
    ids = [int(i) for i in patient_ids]
    if state.dialect.name == "postgresql":
        return column == any_(bindparam("patient_ids", ids, type_=ARRAY(BigInteger)))
    listed = select(literal_column("value")).select_from(func.json_each(bindparam("patient_ids", json.dumps(ids))))
    return column.in_(listed.scalar_subquery())


# What a GP may ask for at a follow-up (the form's choices and the words a flag uses).
#: A follow-up's action code -> its words (``N_``: translated where shown).
ACTIONS = {
    "continue": N_("Continue"),
    "step_up": N_("Step up care"),
    "refer_on": N_("Refer on"),
    "pause": N_("Pause programme"),
}


def current_followups(state: State, patient_ids: list[int], include_withdrawn: bool = False) -> pd.DataFrame:
    """The latest version of every entry for these (already scoped) patients."""
    table = followups_table
    latest = (
        select(table.c.entry_id, func.max(table.c.version).label("version"))
        .where(patient_in(state, table.c.patient_id, patient_ids))
        .group_by(table.c.entry_id)
        .subquery()
    )
    stmt = (
        select(table)
        .join(latest, and_(latest.c.entry_id == table.c.entry_id, latest.c.version == table.c.version))
        .order_by(table.c.held_on.desc(), table.c.recorded_at.desc())
    )
    with _connected(state) as conn:
        frame = read_frame(conn, stmt, dates=("recorded_at",))
    if not include_withdrawn:
        frame = frame[~frame["withdrawn"].astype(bool)]
    return frame.reset_index(drop=True)


def load_acks(state: State, patient_ids: list[int], peer_list: bool = False) -> pd.DataFrame:
    """Every acknowledgement of these (already scoped) patients (ACK_COLUMNS), withdrawn ones
    marked, of one list: the clinical triage's, or with ``peer_list`` a peer supporter's own
    (their acknowledgements never cover a therapist's reason, nor the therapist's theirs)."""
    if not patient_ids:
        return pd.DataFrame(columns=ACK_COLUMNS)
    withdrawn = select(ack_withdrawals.c.id).where(ack_withdrawals.c.ack_id == acks_table.c.id).exists()
    stmt = select(
        acks_table.c.id.label("ack_id"),
        acks_table.c.patient_id,
        acks_table.c.flag,
        acks_table.c.trigger_at,
        acks_table.c.acked_at,
        acks_table.c.actor,
        acks_table.c.note,
        acks_table.c.evidence,
        withdrawn.label("withdrawn"),
    ).where(patient_in(state, acks_table.c.patient_id, patient_ids), of_list(peer_list))
    with _connected(state) as conn:
        return read_frame(conn, stmt, dates=("trigger_at", "acked_at"))


def of_list(peer_list: bool) -> ColumnElement[bool]:
    """The acknowledgements of a peer supporter's list, or of the clinical triage (every other)."""
    role = acks_table.c.role
    return role == PEER_SUPPORTER if peer_list else or_(role.is_(None), role != PEER_SUPPORTER)


CONCERN_COLUMNS = ["concern_id", "patient_id", "recorded_at", "author_name", "note"]


def load_concerns(state: State, patient_ids: list[int]) -> pd.DataFrame:
    """Every concern peer supporters recorded for these (already scoped) patients
    (CONCERN_COLUMNS), oldest first. Read as stored, like acknowledgements: a kept
    snapshot judged again at its ``as_of`` sees a concern recorded since."""
    if not patient_ids:
        return pd.DataFrame(columns=CONCERN_COLUMNS)
    stmt = (
        select(
            concerns.c.id.label("concern_id"),
            concerns.c.patient_id,
            concerns.c.recorded_at,
            concerns.c.author_name,
            concerns.c.note,
        )
        .where(patient_in(state, concerns.c.patient_id, patient_ids))
        .order_by(concerns.c.recorded_at, concerns.c.id)
    )
    with _connected(state) as conn:
        return read_frame(conn, stmt, dates=("recorded_at",))
