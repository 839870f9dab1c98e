"""A peer supporter's view (issue 20, docs/design.md "Roles and scope"): who to
contact today, and what is true of a patient's risk answer.

A peer supporter sees the patients of their open care_team rows (dashboard.scope).
Their list holds the engagement reasons only (``PEER_REASONS``), ranked as triage
ranks (flags.urgency), with their own acknowledgements: a reason they mark handled
stays open for the therapist, and the therapist's acknowledgements do not empty
their list (clinician_records.of_list). A risk answer is never a task for them:
Caseboard queues, it does not alert, so their view says where the answer stands
with the therapist (``risk_statuses``); the risk stays in the therapist's, GP's
and lead's queues as before. A concern the supporter recorded (dashboard.concerns) is
the therapist's reason too, never the supporter's task: their patient page says where
it stands the same way (``ContactList.concerns``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, func, or_, select

from dashboard import flags, i18n, triage
from dashboard.clinician_records import load_acks
from dashboard.config import Settings
from dashboard.frames import per_patient
from dashboard.i18n import N_
from dashboard.i18n import gettext as _
from dashboard.schema import PEER_SUPPORTER, care_team, clinicians, messages, patients
from dashboard.scope import Viewer, has_care_team, patient_filter
from dashboard.timeutil import UTC_ZONE, local_date

# The reasons a peer supporter contacts a patient for (flags.FLAG_KINDS): engagement only.
PEER_REASONS = frozenset({"awaiting_reply", "feedback_due", "not_started", "inactive", "no_contact"})
NO_THERAPIST = N_("no therapist assigned: tell the team lead")


@dataclass(frozen=True)
class ContactList:
    triage: triage.Triage  # the supporter's queue: PEER_REASONS only, their own acknowledgements
    risk: dict[int, str]  # patient_id -> where their risk answer stands with the therapist
    concerns: dict[int, str]  # patient_id -> where the supporters' concern about them stands with the therapist


def contact_list(
    platform: Engine, state: Engine, viewer: Viewer, now: datetime, settings: Settings, tz: ZoneInfo = UTC_ZONE
) -> ContactList:
    """Who to contact today, and where the risk answer (in the triage window) and the
    recorded concern of every patient of the supporter's scope stand with the therapist."""
    queue = triage.triage(platform, state, viewer, now, settings, tz=tz, kinds=PEER_REASONS)
    judged = clinical_flags(state, queue, now, settings, tz)
    return ContactList(
        queue,
        risk_statuses(platform, queue, judged[judged["flag"] == "risk"], tz),
        risk_statuses(platform, queue, judged[judged["flag"] == "peer_concern"], tz),
    )


def clinical_flags(
    state: Engine, queue: triage.Triage, now: datetime, settings: Settings, tz: ZoneInfo
) -> pd.DataFrame:
    """The therapist's flags of the supporter's patients, judged with the clinical triage's
    acknowledgements (not the supporter's) on the rows already read for the supporter's list
    (its concerns too)."""
    ids = [int(i) for i in queue.patients["patient_id"]]
    inputs = flags.FlagInputs(queue.patients, queue.responses, queue.followups, load_acks(state, ids), queue.concerns)
    return flags.evaluate(inputs, now, settings, tz)


def risk_statuses(platform: Engine, queue: triage.Triage, rows: pd.DataFrame, tz: ZoneInfo) -> dict[int, str]:
    """patient_id -> "waiting for <therapist>'s review since <date>", "reviewed by <name>
    on <date>" or NO_THERAPIST, for the therapist's flag rows of one kind (``clinical_flags``:
    a risk answer or a concern). No score, no item."""
    if rows.empty:
        return {}
    therapists = per_patient(queue.patients, "therapist")
    reviewers = display_names(platform, sorted(set(rows["acked_by"].dropna())))
    out = {}
    for r in rows.itertuples():
        if pd.notna(r.acked_at):
            out[r.patient_id] = _("reviewed by {name} on {date}").format(
                name=reviewers[r.acked_by], date=i18n.format_day(local_date(r.acked_at, tz))
            )
        elif therapists.get(r.patient_id) in (None, triage.UNASSIGNED):
            out[r.patient_id] = _(NO_THERAPIST)
        else:
            out[r.patient_id] = _("waiting for {therapist}'s review since {date}").format(
                therapist=therapists[r.patient_id], date=i18n.format_day(local_date(r.since, tz))
            )
    return out


def display_names(platform: Engine, usernames: list[str]) -> dict[str, str]:
    """username -> the clinician's display name (the login itself for one with no row)."""
    with platform.connect() as conn:
        found = dict(
            conn.execute(
                select(clinicians.c.username, clinicians.c.display_name).where(clinicians.c.username.in_(usernames))
            ).all()
        )
    return {u: str(found.get(u, u)) for u in usernames}


def for_patient(contacts: ContactList, patient_id: int) -> ContactList:
    """The list narrowed to one patient (the patient page of this role)."""
    t = contacts.triage
    keep = lambda frame: frame[frame["patient_id"] == patient_id]  # noqa: E731
    narrowed = replace(t, queue=keep(t.queue), open_flags=keep(t.open_flags), acknowledged=keep(t.acknowledged))
    return ContactList(
        narrowed,
        {k: v for k, v in contacts.risk.items() if k == patient_id},
        {k: v for k, v in contacts.concerns.items() if k == patient_id},
    )


def supporters(platform: Engine, viewer: Viewer, patient_id: int, now: datetime) -> list[tuple[str, datetime | None]]:
    """(name, last message to the patient) of each peer supporter on the patient's care
    team now, for the therapist's patient page: peer contact shown as its own fact. Empty
    on a platform without care_team, or for a patient outside the viewer's scope."""
    if not has_care_team(platform):
        return []
    last = (
        select(func.max(messages.c.sent_at))
        .where(
            messages.c.patient_id == care_team.c.patient_id,
            messages.c.clinician_id == care_team.c.clinician_id,
            messages.c.direction == "to_patient",
            messages.c.sent_at <= now,
        )
        .scalar_subquery()
    )
    in_scope = select(patients.c.id).where(patients.c.id == patient_id, patient_filter(viewer, now))
    stmt = (
        select(clinicians.c.display_name, last.label("last_contact"))
        .select_from(care_team.join(clinicians, clinicians.c.id == care_team.c.clinician_id))
        .where(
            care_team.c.patient_id.in_(in_scope),
            clinicians.c.role == PEER_SUPPORTER,
            care_team.c.started_at <= now,
            or_(care_team.c.ended_at.is_(None), care_team.c.ended_at > now),
        )
        .order_by(clinicians.c.display_name)
    )
    with platform.connect() as conn:
        return [(str(name), at) for name, at in conn.execute(stmt)]


WORKLOAD_COLUMNS = ["supporter", "in_care", "to_contact", "messages", "answered", "median_reply_hours"]


def supporter_workload(
    platform: Engine, state: Engine, lead: Viewer, since: datetime, now: datetime, settings: Settings, tz: ZoneInfo
) -> pd.DataFrame:
    """The team lead's view of the team's peer supporters (WORKLOAD_COLUMNS): patients in
    their care now, on their list today, and their reply times: the patient messages
    sent in [since, now] by patients in their care, those the supporter answered, and the
    median hours to the supporter's first message after each. Empty without care_team."""
    if lead.role != "team_lead" or lead.team_id is None or not has_care_team(platform):
        return pd.DataFrame(columns=WORKLOAD_COLUMNS)
    with platform.connect() as conn:
        peers = conn.execute(
            select(clinicians.c.id, clinicians.c.username, clinicians.c.display_name)
            .where(clinicians.c.role == PEER_SUPPORTER, clinicians.c.team_id == lead.team_id)
            .order_by(clinicians.c.display_name)
        ).all()
    rows = []
    for cid, username, name in peers:
        peer = Viewer(int(cid), str(username), str(name), PEER_SUPPORTER, lead.team_id)
        mine = contact_list(platform, state, peer, now, settings, tz).triage
        ids = [int(i) for i in mine.patients["patient_id"]]
        messages_n, answered, median = _replies(platform, lead, int(cid), ids, since, now)
        rows.append(
            {
                "supporter": str(name),
                "in_care": len(ids),
                "to_contact": len(mine.queue),
                "messages": messages_n,
                "answered": answered,
                "median_reply_hours": median,
            }
        )
    return pd.DataFrame(rows, columns=WORKLOAD_COLUMNS)


def _replies(
    platform: Engine, lead: Viewer, supporter: int, ids: list[int], since: datetime, now: datetime
) -> tuple[int, int, float | None]:
    """(patient messages in [since, now], answered by the supporter, median reply hours)."""
    if not ids:
        return 0, 0, None
    stmt = select(messages.c.patient_id, messages.c.sent_at, messages.c.direction, messages.c.clinician_id).where(
        messages.c.patient_id.in_(select(patients.c.id).where(patients.c.id.in_(ids), patient_filter(lead, now))),
        messages.c.sent_at >= since,
        messages.c.sent_at <= now,
    )
    with platform.connect() as conn:
        frame = pd.DataFrame(conn.execute(stmt).all(), columns=["patient_id", "sent_at", "direction", "clinician_id"])
    if frame.empty:
        return 0, 0, None
    frame["sent_at"] = pd.to_datetime(frame["sent_at"])
    written = frame[frame["direction"] == "from_patient"]
    theirs = frame[(frame["direction"] == "to_patient") & (frame["clinician_id"] == supporter)]
    hours = []
    for pid, at in zip(written["patient_id"], written["sent_at"]):
        after = theirs.loc[(theirs["patient_id"] == pid) & (theirs["sent_at"] >= at), "sent_at"]
        if not after.empty:
            hours.append((after.min() - at) / pd.Timedelta(hours=1))
    return len(written), len(hours), (float(pd.Series(hours).median()) if hours else None)
