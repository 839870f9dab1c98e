"""The flag engine: who needs a clinician, and why.

One engine serves the triage queue, the patient page's badges and the My
patients list, so a flag means the same thing everywhere. Inputs are read in
SQL scoped to the viewer (one row per patient, plus their aggregated
questionnaires), with the clinical terms from dashboard.facts; each flag is one
small rule over those inputs (``FLAG_KINDS``), a pure function of small frames.
Thresholds are settings (README, Settings); clinical rules follow
clinical-reference.md (1.3, 1.5, 3.2, 5.3, 6.2).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, Select, String, cast, func, literal, select
from sqlalchemy.orm import aliased

from dashboard.ack_cover import AckIndex, Evidence, apply_acks
from dashboard.clinician_records import ACTIONS, current_followups, load_acks, load_concerns
from dashboard.config import Settings
from dashboard.facts import (
    LAST_ACTIVITY_INPUTS,
    in_treatment,
    last_activity_at,
    last_clinician_contact,
    not_closed_before,
    own_programme_progress,
    patient_facts_query,
    patient_message,
)
from dashboard.frames import per_patient, read_frame, records, records_by_patient
from dashboard.i18n import N_, format_day, format_number, ngettext
from dashboard.i18n import gettext as _
from dashboard.measures import INSTRUMENTS, display_score
from dashboard.outcomes import DETERIORATED, follow_up_window, reliable_change, weeks_after
from dashboard.response_facts import ResponseReads, read_scored_kept, worth_reading
from dashboard.responses import read_scored, response_keys_query, responses_query
from dashboard.schema import messages, module_progress, modules, patients
from dashboard.scope import PEER_SUPPORTER, Viewer, role_filter, role_patient_ids, scope_params
from dashboard.statements import CLOSED_BEFORE, NOW, PATIENT_ID, prepared
from dashboard.timeutil import DAY, UTC_ZONE, local_date

EPOCH = datetime(1900, 1, 1)

# since: when the need began (waiting time, escalation and ties); trigger_at: the
# latest event that raised it; evidence: the platform rows behind it as (key, event
# time) pairs. An acknowledgement covers the evidence its screen showed and nothing
# else, so any other qualifying row (a new message, answer, completion, tier) raises
# the reason again (dashboard.ack_cover). acked_*: the covering acknowledgement.
FLAG_COLUMNS = [
    "patient_id",
    "flag",
    "priority",
    "since",
    "trigger_at",
    "reason",
    "response_id",
    "evidence",
    "acked_by",
    "acked_at",
    "ack_note",
    "ack_id",
]

# Checkpoints of clinical-reference 6.2: treatment week and the PHQ-9 at or above which
# the patient is not on track. Week 4's days are a setting; later weeks follow the clock.
NOT_ON_TRACK_CHECKPOINTS = ((4, 17), (9, 13), (14, 9))
NOT_ON_TRACK_MIN_BASELINE = 10
# The one instrument with a risk item (item 9, clinical-reference 1.5); every programme
# collects it, whatever its primary measure (3.3).
RISK_INSTRUMENT = "PHQ9"


# ---------------------------------------------------------------- inputs (SQL)


def contact_facts_query(role: str, one_patient: bool = False):
    """Per patient: the last clinician contact (dashboard.facts), the earliest patient
    message and the earliest own-programme module completion since then, up to NOW. A
    peer supporter's message is contact on a supporter's own list only (facts.clinician_contact).

    The last contact is found once per patient, in a MATERIALIZED CTE (PostgreSQL 12+,
    SQLite 3.35+): written into each of the four columns that count from it, it was
    evaluated five times a patient."""
    scoped = [role_filter(role), *([patients.c.id == PATIENT_ID] if one_patient else [])]
    last = (
        select(
            patients.c.id.label("patient_id"),
            last_clinician_contact(NOW, peers=role == PEER_SUPPORTER).label("last_contact"),
        )
        .where(*scoped)
        .cte("last_contact")
        .prefix_with("MATERIALIZED")
    )
    since_contact = func.coalesce(last.c.last_contact, literal(EPOCH))
    written = aliased(messages)

    def unanswered(value):
        """``value`` over the patient's messages since the last contact."""
        return (
            select(value)
            .where(
                written.c.patient_id == patients.c.id,
                patient_message(written),
                written.c.sent_at <= NOW,
                written.c.sent_at > since_contact,
            )
            .correlate_except(written)
            .scalar_subquery()
        )

    def unfed(value):
        """``value`` over the patient's own programme's modules completed since the last contact."""
        return (
            select(value)
            .select_from(module_progress.join(modules, own_programme_progress()))
            .where(
                module_progress.c.patient_id == patients.c.id,
                module_progress.c.completed_at <= NOW,
                module_progress.c.completed_at > since_contact,
            )
            .correlate_except(module_progress, modules)
            .scalar_subquery()
        )

    first_unanswered = unanswered(func.min(written.c.sent_at))
    first_unfed_completion = unfed(func.min(module_progress.c.completed_at))
    # The identities behind awaiting_reply and feedback_due: an acknowledgement covers these rows only.
    unanswered_ids = unanswered(func.aggregate_strings(cast(written.c.id, String), ","))
    unfed_modules = unfed(func.aggregate_strings(cast(module_progress.c.module_id, String), ","))
    return select(
        patients.c.id.label("patient_id"),
        patients.c.ended_at,
        last.c.last_contact,
        first_unanswered.label("first_unanswered"),
        first_unfed_completion.label("first_unfed_completion"),
        unanswered_ids.label("unanswered_ids"),
        unfed_modules.label("unfed_modules"),
    ).select_from(last.join(patients, patients.c.id == last.c.patient_id))


def open_to_flags(role: str) -> Select:
    """The viewer's patients whose questionnaires can still matter: all but episodes
    that ended before CLOSED_BEFORE (``closed_before``: the wider of the risk window
    of ``patient_flags``, ``risk_window_after_end``, and the GP's follow-up window of
    ``due.due_list``). A team holds thousands of such closed episodes; scoring their
    responses changed no flag.
    Every patient who may be in treatment is kept (``facts.not_closed_before``)."""
    return role_patient_ids(role).where(not_closed_before(CLOSED_BEFORE))


def risk_window_after_end(settings: Settings) -> timedelta:
    """How long after a completed or withdrawn episode ended its risk answers are
    triaged: until the later of ``risk_after_end_days`` and the close of the
    post-treatment follow-up window (``follow_up_to_weeks``, issue 20). One span from
    the end, so a window that opens later (``follow_up_from_weeks`` past
    ``risk_after_end_days``) leaves no day between the two untriaged."""
    return max(timedelta(days=settings.risk_after_end_days), timedelta(weeks=settings.follow_up_to_weeks))


def closed_before(now: datetime, settings: Settings) -> datetime:
    """A day before either window closes: ``patient_flags`` and ``due_list`` decide the
    edges exactly, in Python; this only spares reading episodes certainly closed (and
    SQLite compares timestamps as text, where the same second can compare unequal)."""
    risk = risk_window_after_end(settings) + timedelta(days=settings.risk_after_end_days)
    widest = max(risk, timedelta(days=settings.followup_after_end_days))
    return now - widest - timedelta(days=1)


@prepared
def _inputs_statements(role: str, one_patient: bool):
    """(facts and contact facts in one statement, responses of the patients open to flags).
    Of an episode that may have ended only the PHQ-9 (the rules run after the end read
    its risk item) and the primary measure (the queue's latest score) are read, about
    a quarter fewer responses (docs/performance.md)."""
    ids = open_to_flags(role)
    if one_patient:
        ids = ids.where(patients.c.id == PATIENT_ID)
    facts_q = patient_facts_query(role, one_patient).subquery("facts")
    contact_q = contact_facts_query(role, one_patient).subquery("contact")
    both = select(facts_q, *[c for c in contact_q.c if c.name != "patient_id"]).select_from(
        facts_q.join(contact_q, contact_q.c.patient_id == facts_q.c.patient_id)
    )
    after_end = (RISK_INSTRUMENT,)
    return both, ResponseReads(responses_query(ids, after_end=after_end), response_keys_query(ids, after_end=after_end))


@dataclass(frozen=True)
class FlagInputs:
    patients: pd.DataFrame  # one row per patient: facts + contact facts
    responses: pd.DataFrame  # scored responses of the patients open_to_flags, after the end PHQ-9 and primary only (all of one patient's on the patient page)
    followups: pd.DataFrame | None = (
        None  # current GP follow-ups (dashboard.clinician_records), from the state database
    )
    acks: pd.DataFrame | None = (
        None  # their acknowledgements (dashboard.clinician_records.load_acks), from the state database
    )
    concerns: pd.DataFrame | None = None  # peer supporters' concerns (clinician_records.load_concerns)


def load_inputs(
    engine: Engine,
    viewer: Viewer,
    now: datetime,
    settings: Settings,
    patient_id: int | None = None,
    state: Engine | None = None,
    scored: pd.DataFrame | None = None,
    derived: bool | None = None,
) -> FlagInputs:
    """Platform rows in SQL scoped to the viewer; with ``state``, also the GP
    follow-ups of those patients (joined in Python on the scoped ids) and the
    responses' item aggregates the refresher keeps there for a scope large enough to
    gain from them (dashboard.response_facts; ``derived`` True or False: always or
    never, the latter every response aggregated live, the tests' oracle). ``scored``:
    the same patients' scored responses when the caller has read them already."""
    both, reads = _inputs_statements(viewer.role, patient_id is not None)
    params = {"now": now, **scope_params(viewer, now), "patient_id": patient_id}
    with engine.connect() as conn:
        facts = read_frame(
            conn,
            both,
            params,
            (
                "enrolled_at",
                *LAST_ACTIVITY_INPUTS,
                "ended_at",
                "last_contact",
                "first_unanswered",
                "first_unfed_completion",
            ),
        )
        if scored is None:
            scored_params = {**params, "closed_before": closed_before(now, settings)}
            if state is not None and (worth_reading(len(facts)) if derived is None else derived):
                scored = read_scored_kept(conn, state, reads, scored_params, settings)
            else:
                scored = read_scored(conn, reads.live, scored_params, settings)
    facts["last_activity_at"] = last_activity_at(facts)
    peer_list = viewer.role == PEER_SUPPORTER  # a supporter's list has its own acknowledgements
    followups, acks, concerns = recorded_for(state, facts, peer_list) if state is not None else (None, None, None)
    return FlagInputs(facts, scored, followups, acks, concerns)


def recorded_for(
    state: Engine, facts: pd.DataFrame, peer_list: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(current GP follow-ups, acknowledgements of the clinical triage or, with ``peer_list``,
    of a peer supporter's list, supporters' concerns) of the patients of ``facts``, from
    the state database."""
    ids = [int(i) for i in facts["patient_id"]]
    with state.connect() as conn:
        return current_followups(conn, ids), load_acks(conn, ids, peer_list), load_concerns(conn, ids)


# ---------------------------------------------------------------- evaluation (pure)


def _days(delta: timedelta | pd.Timedelta) -> int:
    return int(pd.Timedelta(delta) // DAY)


def _day_count(n: int) -> str:
    """'1 day', '3 days' in the run's language (French: '0 jour')."""
    return ngettext("{n} day", "{n} days", n).format(n=n)


def _on(ts, tz: ZoneInfo) -> str:
    """The day of a naive-UTC instant in words, as the service time zone's calendar
    day (a PHQ-9 at 23:49 UTC on 30 Nov was answered on 01 Dec in Stockholm), in the
    run's language ('01 dec.' in Swedish)."""
    return _day(local_date(ts, tz))


def _day(day, year: bool = False) -> str:
    return format_day(day, year=year)


def evaluate(inputs: FlagInputs, now: datetime, settings: Settings, tz: ZoneInfo = UTC_ZONE) -> pd.DataFrame:
    """All current flags (FLAG_COLUMNS), one row per patient and flag, each with the
    acknowledgement that covers its whole evidence (``acked_at`` NaT: open). ``tz``,
    the service time zone, names the days in the reasons' words and ends a GP's pause
    with its local day; every other rule compares naive UTC instants.

    Responses are grouped once into plain records: per-patient pandas work
    would cost milliseconds per patient, records cost microseconds."""
    by_patient = records_by_patient(inputs.responses, ["patient_id", "administered_at", "response_id"], RESPONSE_FIELDS)
    gp_notes = followups_by_patient(inputs.followups)
    worries = concerns_by_patient(inputs.concerns)
    index = AckIndex(inputs.acks, now, settings.ack_expiry_days)
    rows: list[dict] = []
    for p in records(inputs.patients, PATIENT_FIELDS):
        pid = p.patient_id
        rows.extend(
            patient_flags(
                p, by_patient.get(pid, []), now, settings, gp_notes.get(pid, []), index, tz, worries.get(pid, [])
            )
        )
    found = pd.DataFrame(rows, columns=FLAG_COLUMNS[:8])
    return apply_acks(found, index)[FLAG_COLUMNS]


PATIENT_FIELDS = [
    "patient_id",
    "status",
    "enrolled_at",
    "ended_at",
    "primary_instrument",
    "gp",
    "last_activity_at",
    "last_module_start",
    "last_module_completion",
    "last_patient_message",
    "last_contact",
    "first_unanswered",
    "first_unfed_completion",
    "unanswered_ids",
    "unfed_modules",
]
FOLLOWUP_FIELDS = ["patient_id", "entry_id", "version", "held_on", "recorded_at", "action", "note", "pause_until"]


CONCERN_FIELDS = ["patient_id", "concern_id", "recorded_at", "author_name", "note"]
RESPONSE_FIELDS = ["patient_id", "response_id", "instrument", "administered_at", "score", "valid", "risk_item_score"]


def _flag(
    p,
    key: str,
    since,
    reason: str,
    priority: int | None = None,
    response_id: int | None = None,
    trigger_at=None,
    evidence: list[Evidence] | None = None,
) -> dict:
    """One flag row. ``evidence`` defaults to one key naming the trigger itself (the
    time-derived reasons: a new tier or a new last activity is a new key)."""
    trigger = pd.Timestamp(since if trigger_at is None else trigger_at).to_pydatetime()
    if not evidence:
        evidence = [(f"response:{response_id}" if response_id is not None else f"{key}:{trigger.isoformat()}", trigger)]
    return {
        "patient_id": p.patient_id,
        "flag": key,
        "priority": FLAG_KINDS[key].priority if priority is None else priority,
        "since": pd.Timestamp(since).to_pydatetime(),
        "trigger_at": trigger,
        "reason": reason,
        "response_id": response_id,
        "evidence": tuple(evidence),
    }


def _id_keys(kind: str, ids, at) -> list[Evidence]:
    """Evidence from an aggregated id list ("12,40"): each row a key, all at ``at``."""
    at = pd.Timestamp(at).to_pydatetime()
    return (
        [(f"{kind}:{i}", at) for i in sorted({int(i) for i in str(ids).split(",") if i.strip()})]
        if _present(ids)
        else []
    )


def _present(ts) -> bool:
    return ts is not None and not pd.isna(ts)


def followups_by_patient(followups: pd.DataFrame | None) -> dict[int, list]:
    """patient_id -> their current GP follow-ups (FOLLOWUP_FIELDS records), oldest first."""
    return records_by_patient(followups, ["held_on", "recorded_at"], FOLLOWUP_FIELDS)


def concerns_by_patient(concerns: pd.DataFrame | None) -> dict[int, list]:
    """patient_id -> their supporters' concerns (CONCERN_FIELDS records), oldest first."""
    return records_by_patient(concerns, ["recorded_at", "concern_id"], CONCERN_FIELDS)


def pauses(followups: pd.DataFrame | None, today: date) -> dict[int, date]:
    """patient_id -> the end of the GP's pause in force today (``pause_in_force``)."""
    found = {pid: pause_in_force(rows, today) for pid, rows in followups_by_patient(followups).items()}
    return {pid: end for pid, end in found.items() if end is not None}


def pause_in_force(followups: list, today: date) -> date | None:
    """The end of the GP's pause when one is in force today, else None. Only the
    latest current follow-up (by ``held_on``, then ``recorded_at``, from any GP)
    decides: a later "continue" ends an earlier pause. ``followups``: records with
    ``action``, ``pause_until`` (FOLLOWUP_FIELDS), oldest first, withdrawn entries
    already left out."""
    if not followups:
        return None
    latest = followups[-1]
    end = latest.pause_until
    if latest.action != "pause" or end is None or pd.isna(end):
        return None
    return end if today <= end else None


@dataclass(frozen=True)
class Case:
    """One patient as the flag rules see them. ``p``: a row of FlagInputs.patients
    (PATIENT_FIELDS); ``resp``: their response records (RESPONSE_FIELDS) in time
    order; ``gp_followups``: their current GP follow-ups (FOLLOWUP_FIELDS), oldest
    first; ``acks``: the acknowledgements in force; ``concerns``: peer supporters'
    concerns (CONCERN_FIELDS), oldest first. The rules compare times
    positively (``elapsed >= threshold``): a missing time (NaT, bad platform data)
    compares False, so it raises nothing rather than failing."""

    p: object
    resp: list
    now: pd.Timestamp
    settings: Settings
    gp_followups: list
    acks: AckIndex
    tz: ZoneInfo = UTC_ZONE
    concerns: tuple = ()

    @cached_property
    def active(self) -> bool:
        return in_treatment(self.p.status, self.p.ended_at)

    @cached_property
    def risk_until(self) -> pd.Timestamp | None:
        """Answers up to this time are triaged for risk, whatever the status: up to
        ``risk_window_after_end`` after the episode ended. None once the list has let go
        of them, ``risk_after_end_days`` after that span: an answer on its last day has
        as long in the list as one on the day the episode ended."""
        ended = pd.Timestamp(self.p.ended_at) if _present(self.p.ended_at) else None
        if self.active or ended is None:
            return self.now if self.active else None
        answers_until = ended + pd.Timedelta(risk_window_after_end(self.settings))
        shown_until = answers_until + pd.Timedelta(days=self.settings.risk_after_end_days)
        return answers_until if self.now <= shown_until else None

    @cached_property
    def enrolled(self) -> pd.Timestamp:
        return pd.Timestamp(self.p.enrolled_at)

    @cached_property
    def episode(self) -> list:
        """Valid responses of the episode; without an enrolment date (bad data) the whole record."""
        start = self.enrolled - pd.Timedelta(days=self.settings.baseline_window_days)
        return [r for r in self.resp if r.valid and (pd.isna(self.enrolled) or r.administered_at >= start)]

    @cached_property
    def paused(self) -> bool:
        """A GP's pause suppresses inactive and no_contact until it ends: its end date
        included, a day of the service's zone (the GP chose it on a local calendar)."""
        return pause_in_force(self.gp_followups, local_date(self.now, self.tz)) is not None


def patient_flags(
    p,
    resp: list,
    now: datetime,
    settings: Settings,
    gp_followups: list | None = None,
    acks: AckIndex | None = None,
    tz: ZoneInfo = UTC_ZONE,
    concerns: list | None = None,
) -> list[dict]:
    """Flags of one patient (see ``Case`` for the arguments): every rule of
    FLAG_KINDS, those marked ``in_treatment_only`` only while ``facts.in_treatment``."""
    case = Case(
        p,
        resp,
        pd.Timestamp(now),
        settings,
        gp_followups or [],
        acks or AckIndex(None, now, settings.ack_expiry_days),
        tz,
        tuple(concerns or ()),
    )
    return [row for kind in FLAG_KINDS.values() if case.active or not kind.in_treatment_only for row in kind.rule(case)]


def _risk(c: Case) -> list[dict]:
    """Every PHQ-9 with item 9 above 0 (a later 0 does not clear it), each answer its
    own evidence. The answers no acknowledgement covers date the flag (``since``:
    escalation runs from the earliest of them) and grade it (2-3 before 1,
    clinical-reference 1.5), so a new answer of 1 neither restarts the clock of an
    open 2 nor hides it; the episode's highest answer is stated too."""
    if c.risk_until is None:
        return []
    p = c.p
    positive = [r for r in _phq_until(c) if _present(r.risk_item_score) and r.risk_item_score > 0]
    if not positive:
        return []
    evidence = [(f"response:{int(r.response_id)}", r.administered_at) for r in positive]
    open_keys = {k for k, _at in c.acks.uncovered(p.patient_id, "risk", evidence)}
    pending = [r for (k, _at), r in zip(evidence, positive) if k in open_keys] or positive
    grade, highest = int(max(r.risk_item_score for r in pending)), int(max(r.risk_item_score for r in positive))
    latest = pending[-1]
    words = _("PHQ-9 item 9 answered {answer} on {day}").format(
        answer=int(latest.risk_item_score), day=_on(latest.administered_at, c.tz)
    )
    words += _after_end(c, latest.administered_at)
    some_handled = len(pending) < len(positive)
    if len(pending) > 1:
        many = (
            ngettext(
                " ({n} answer above 0 not yet handled, highest {grade})",
                " ({n} answers above 0 not yet handled, highest {grade})",
                len(pending),
            )
            if some_handled
            else ngettext(
                " ({n} answer above 0, highest {grade})", " ({n} answers above 0, highest {grade})", len(pending)
            )
        )
        words += many.format(n=len(pending), grade=grade)
    if some_handled:
        words += _("; highest this episode {highest}").format(highest=highest)
    return [
        _flag(
            p,
            "risk",
            pending[0].administered_at,
            words,
            priority=HIGH_RISK_PRIORITY if grade >= 2 else None,
            response_id=int(latest.response_id),
            trigger_at=max(r.administered_at for r in positive),
            evidence=evidence,
        )
    ]


def _peer_concern(c: Case) -> list[dict]:
    """A peer supporter's concerns (dashboard.concerns), each its own evidence, graded as a
    risk answer. The concerns no acknowledgement covers date the flag (escalation runs
    from the earliest of them) and the latest of them speaks, in the supporter's words."""
    if not c.concerns:
        return []
    evidence = [(f"concern:{int(r.concern_id)}", pd.Timestamp(r.recorded_at).to_pydatetime()) for r in c.concerns]
    open_keys = {k for k, _at in c.acks.uncovered(c.p.patient_id, "peer_concern", evidence)}
    pending = [r for (k, _at), r in zip(evidence, c.concerns) if k in open_keys] or list(c.concerns)
    latest = pending[-1]
    words = _("{author} recorded a concern on {day}: {note}").format(
        author=latest.author_name, day=_on(latest.recorded_at, c.tz), note=latest.note
    )
    if len(pending) > 1:
        words += ngettext(" ({n} concern not yet handled)", " ({n} concerns not yet handled)", len(pending)).format(
            n=len(pending)
        )
    return [
        _flag(
            c.p, "peer_concern", pending[0].recorded_at, words, trigger_at=c.concerns[-1].recorded_at, evidence=evidence
        )
    ]


def _risk_unknown(c: Case) -> list[dict]:
    """The latest PHQ-9 cannot tell (item 9 missing, or no items)."""
    if c.risk_until is None:
        return []
    phq = _phq_until(c)
    if not phq or _present(phq[-1].risk_item_score):
        return []
    last = phq[-1]
    return [
        _flag(
            c.p,
            "risk_unknown",
            last.administered_at,
            _("latest PHQ-9 ({day}) has item 9 unanswered: risk not assessable").format(
                day=_on(last.administered_at, c.tz)
            ),
            response_id=int(last.response_id),
        )
    ]


def _after_end(c: Case, at) -> str:
    """Words for an answer given after the episode ended, so the therapist reads it in
    context: "at follow-up" inside the follow-up window (follow_up_from_weeks to
    follow_up_to_weeks), else just how long after the end. Empty while in treatment."""
    if c.active or not _present(c.p.ended_at):
        return ""
    ended, at = pd.Timestamp(c.p.ended_at), pd.Timestamp(at)
    after = at - ended
    if not after > pd.Timedelta(0):
        return ""
    if after < DAY:
        span = _("less than a day")
    elif after < pd.Timedelta(weeks=2):
        span = _day_count(after.days)
    else:
        weeks = weeks_after(at, ended)
        span = ngettext("{n} week", "{n} weeks", weeks).format(n=weeks)
    opens, closes = follow_up_window(ended, c.settings)
    if opens <= at <= closes:
        return _(", at follow-up, {span} after the episode ended").format(span=span)
    return _(", {span} after the episode ended").format(span=span)


def _phq_until(c: Case) -> list:
    return [r for r in c.resp if r.instrument == RISK_INSTRUMENT and r.administered_at <= c.risk_until]


def last_risk_assessment(resp: list, enrolled) -> pd.Timestamp | None:
    """When the risk item was last answered in this episode: the latest PHQ-9 since
    enrolment whose item 9 holds an answer (0-3; the total need not be scorable, the
    risk rule reads item 9 alone, clinical-reference 1.5). None: never since enrolment."""
    return max(
        (
            pd.Timestamp(r.administered_at)
            for r in resp
            if r.instrument == RISK_INSTRUMENT and _present(r.risk_item_score) and r.administered_at >= enrolled
        ),
        default=None,
    )


def risk_item_words(last: pd.Timestamp | None, tz: ZoneInfo) -> str:
    """'risk item not assessed since 12 Nov', or '... never assessed since enrolment'."""
    if last is None:
        return _("risk item never assessed since enrolment")
    return _("risk item not assessed since {day}").format(day=_on(last, tz))


def risk_item_status(last: pd.Timestamp | None, tz: ZoneInfo) -> str:
    """The patient page's line on the risk item, said whether or not a reason is open:
    with no answer since enrolment, never a silent absence (clinical-reference 1.5)."""
    if last is None:
        return _("Risk item ({item}) never answered since enrolment: risk is not assessed.").format(
            item=_risk_item_name()
        )
    return _("Risk item ({item}) last answered on {day}.").format(item=_risk_item_name(), day=_on(last, tz))


def _risk_unassessed(c: Case) -> list[dict]:
    """No answer to the risk item (PHQ-9 item 9) for N days since enrolment or the last
    one: a programme whose primary measure is another instrument still collects PHQ-9
    (clinical-reference 3.3), and only PHQ-9 asks about self-harm (1.5). For a PHQ-9
    programme with no PHQ-9 at all since that answer, ``questionnaire_overdue`` says the
    same fact (its reason names the risk item) and this reason stays silent."""
    primary, days = c.p.primary_instrument, c.settings.questionnaire_overdue_days
    last, since = _risk_since(c)
    if not (_present(primary) and c.now - since >= pd.Timedelta(days=days)) or _said_by_overdue(c, since):
        return []
    answered = _("no {item} answer for {days}").format(item=_risk_item_name(), days=_day_count(_days(c.now - since)))
    return [
        _flag(
            c.p,
            "risk_unassessed",
            since,
            f"{risk_item_words(last, c.tz)} ({answered})",
            trigger_at=since + pd.Timedelta(days=days),
        )
    ]


def _risk_since(c: Case) -> tuple[pd.Timestamp | None, pd.Timestamp]:
    """(the last risk-item answer or None, the time the risk item has gone unassessed since)."""
    last = last_risk_assessment(c.resp, c.enrolled)
    return last, c.enrolled if last is None else last


def _said_by_overdue(c: Case, since: pd.Timestamp) -> bool:
    """The primary measure is the risk instrument and none came since the risk item was
    last answered: ``questionnaire_overdue`` reports that span, naming the risk item."""
    return c.p.primary_instrument == RISK_INSTRUMENT and _last_primary(c) <= since


def _risk_item_name() -> str:
    inst = INSTRUMENTS[RISK_INSTRUMENT]
    return _("{name} item {n}").format(name=inst.name, n=inst.risk_item)


def _awaiting_reply(c: Case) -> list[dict]:
    """Waiting runs from the patient's earliest message since the last clinician contact."""
    p, s = c.p, c.settings
    if not _present(p.first_unanswered):
        return []
    hours = (c.now - p.first_unanswered) / pd.Timedelta(hours=1)
    overdue = hours >= s.reply_overdue_hours
    words = (
        _("unanswered message for {days}").format(days=_day_count(_days(c.now - p.first_unanswered)))
        if hours >= 24
        else _("unanswered message for {hours} h").format(hours=int(hours))
    )
    return [
        _flag(
            p,
            "awaiting_reply",
            p.first_unanswered,
            words
            if overdue
            else _("{reason}: reply within {hours} h").format(reason=words, hours=int(s.reply_overdue_hours)),
            priority=None if overdue else PENDING_REPLY_PRIORITY,
            trigger_at=p.last_patient_message,
            evidence=_id_keys("message", p.unanswered_ids, p.last_patient_message),
        )
    ]


def _deterioration(c: Case) -> list[dict]:
    """Reliably worse from the episode's first to its latest score, for each instrument
    the patient answered that has a reliable-change criterion in the registry (PHQ-9 6,
    GAD-7 4, or one a service configured: a fixed value or the Jacobson-Truax RCI,
    whose inputs the reason names, clinical-reference 1.7). None for an instrument
    without one (ISI, OCI-R, SPIN, WSAS, PDSS unless configured) or not a change
    instrument (AUDIT: zone transitions, 4): no criterion is invented."""
    by_instrument: dict[str, list] = defaultdict(list)
    for r in c.episode:
        by_instrument[r.instrument].append(r)
    out = []
    for instrument, inst in INSTRUMENTS.items():
        rows = by_instrument.get(instrument, [])
        if len(rows) < 2 or reliable_change(instrument, rows[0].score, rows[-1].score) != DETERIORATED:
            continue
        base, last = rows[0], rows[-1]
        words = _("{name} reliably worse: {baseline} → {latest} on {day}").format(
            name=inst.name,
            baseline=display_score(base.score),
            latest=display_score(last.score),
            day=_on(last.administered_at, c.tz),
        )
        if inst.rci_sd is not None:
            words += _(" (criterion {points} points: {source})").format(
                points=format_number(inst.reliable_change, 1), source=inst.reliable_change_source
            )
        out.append(_flag(c.p, "deterioration", last.administered_at, words, response_id=int(last.response_id)))
    return out


def _gp_action(c: Case) -> list[dict]:
    """The latest current follow-up asked for something other than "continue"."""
    latest = c.gp_followups[-1] if c.gp_followups else None
    if latest is None or latest.action == "continue":
        return []
    note = _(": “{note}”").format(note=latest.note) if isinstance(latest.note, str) and latest.note else ""
    until = _(" until {day}").format(day=_day(latest.pause_until, year=True)) if latest.action == "pause" else ""
    return [
        _flag(
            c.p,
            "gp_action",
            latest.recorded_at,
            _("GP {gp} asked on {day} to {action}").format(
                gp=c.p.gp or "", day=_day(latest.held_on), action=_(ACTIONS[latest.action]).lower()
            )
            + until
            + note,
            evidence=[(f"followup:{latest.entry_id}:{int(latest.version)}", latest.recorded_at)],
        )
    ]


def _feedback_due(c: Case) -> list[dict]:
    """A module of the patient's own programme completed with no clinician contact since."""
    p = c.p
    if not (
        _present(p.first_unfed_completion)
        and c.now - p.first_unfed_completion >= pd.Timedelta(hours=c.settings.feedback_due_hours)
    ):
        return []
    return [
        _flag(
            p,
            "feedback_due",
            p.first_unfed_completion,
            _("module completed {days} ago with no clinician contact since").format(
                days=_day_count(_days(c.now - p.first_unfed_completion))
            ),
            trigger_at=p.last_module_completion,
            evidence=_id_keys("completion", p.unfed_modules, p.last_module_completion),
        )
    ]


def _not_started(c: Case) -> list[dict]:
    days = c.settings.not_started_days
    if not (not _present(c.p.last_module_start) and c.now - c.enrolled >= pd.Timedelta(days=days)):
        return []
    return [
        _flag(
            c.p,
            "not_started",
            c.enrolled,
            _("no module started {days} after enrolment").format(days=_day_count(_days(c.now - c.enrolled))),
            trigger_at=c.enrolled + pd.Timedelta(days=days),
        )
    ]


def _inactive(c: Case) -> list[dict]:
    """No activity (dashboard.facts: last activity) for N days, in tiers; a GP's pause suppresses it."""
    s = c.settings
    idle = c.now - pd.Timestamp(c.p.last_activity_at)
    if not (not c.paused and idle >= pd.Timedelta(days=s.inactive_days)):
        return []
    tiers = [
        (s.inactive_lapsed_days, N_("lapsed: {reason}")),
        (s.inactive_at_risk_days, N_("at risk of drop-out: {reason}")),
        (s.inactive_days, "{reason}"),
    ]
    reached, tier = next((d, t) for d, t in tiers if idle >= pd.Timedelta(days=d))
    words = _("no activity for {days}").format(days=_day_count(_days(idle)))
    return [
        _flag(
            c.p,
            "inactive",
            c.p.last_activity_at,
            (_(tier) if tier != "{reason}" else tier).format(reason=words),
            trigger_at=pd.Timestamp(c.p.last_activity_at) + pd.Timedelta(days=reached),
        )
    ]


def _no_contact(c: Case) -> list[dict]:
    """No clinician contact (dashboard.facts) for N days, counted from enrolment before
    the first; a GP's pause suppresses it."""
    p, days = c.p, c.settings.no_contact_days
    contact_since = pd.Timestamp(p.last_contact) if _present(p.last_contact) else c.enrolled
    if not (not c.paused and c.now - contact_since >= pd.Timedelta(days=days)):
        return []
    words = (
        N_("no clinician contact yet for {days}")
        if not _present(p.last_contact)
        else N_("no clinician contact for {days}")
    )
    return [
        _flag(
            p,
            "no_contact",
            contact_since,
            _(words).format(days=_day_count(_days(c.now - contact_since))),
            trigger_at=contact_since + pd.Timedelta(days=days),
        )
    ]


def _last_primary(c: Case) -> pd.Timestamp:
    """The latest primary-measure response since enrolment (any, scorable or not), else enrolment."""
    return pd.Timestamp(
        max(
            (
                r.administered_at
                for r in c.resp
                if r.instrument == c.p.primary_instrument and r.administered_at >= c.enrolled
            ),
            default=c.enrolled,
        )
    )


def _questionnaire_overdue(c: Case) -> list[dict]:
    """No primary questionnaire for N days since enrolment or the last one. A patient
    without a programme has no primary questionnaire to be overdue. When the primary
    measure carries the risk item and none was answered since, the reason says so
    (``_risk_unassessed`` stays silent for the same fact)."""
    primary, days = c.p.primary_instrument, c.settings.questionnaire_overdue_days
    last_q = _last_primary(c)
    if not (_present(primary) and c.now - last_q >= pd.Timedelta(days=days)):
        return []
    name = INSTRUMENTS[primary].name if primary in INSTRUMENTS else primary
    words = _("no {name} for {days}").format(name=name, days=_day_count(_days(c.now - last_q)))
    last, since = _risk_since(c)
    if _said_by_overdue(c, since):
        words += f": {risk_item_words(last, c.tz)}"
    return [
        _flag(
            c.p,
            "questionnaire_overdue",
            last_q,
            words,
            trigger_at=last_q + pd.Timedelta(days=days),
        )
    ]


def checkpoint_window(week: int, settings: Settings) -> tuple[pd.Timedelta, pd.Timedelta]:
    """[start, end) elapsed time since enrolment for a checkpoint week. Day n of
    treatment is elapsed [n-1, n) days, so days 22-28 are week 4 on the clock."""
    if week == 4:
        first, last = settings.not_on_track_week4_first_day, settings.not_on_track_week4_last_day
    else:
        first, last = 7 * (week - 1) + 1, 7 * week
    return pd.Timedelta(days=first - 1), pd.Timedelta(days=last)


# on_track_status's statuses: codes, shown through checkpoint_words
CHECKPOINT_STATUSES = (N_("not on track"), N_("on track"), N_("not assessable"), N_("not reached"))


def checkpoint_words(status: str) -> str:
    """A checkpoint's status in the run's language."""
    return _(status)


def on_track_status(phq: list, enrolled_at, now_ts: pd.Timestamp, settings: Settings) -> list[tuple[int, str, object]]:
    """For each checkpoint: (week, 'not on track' | 'on track' | 'not assessable' | 'not reached',
    the deciding response record or None). ``phq``: valid PHQ-9 records of the
    episode in time order. Needs a baseline PHQ-9 >= 10 (6.2) and an enrolment date
    (without one the checkpoints cannot be placed)."""
    if not phq or phq[0].score < NOT_ON_TRACK_MIN_BASELINE or pd.isna(enrolled_at):
        return []
    enrolled = pd.Timestamp(enrolled_at)
    result = []
    for week, limit in NOT_ON_TRACK_CHECKPOINTS:
        start, end = checkpoint_window(week, settings)
        if now_ts - enrolled < start:
            result.append((week, "not reached", None))
            continue
        opens, closes = enrolled + start, enrolled + end  # instants: a Timedelta per response cost 90 µs a patient
        inside = [r for r in phq if opens <= r.administered_at < closes]
        if not inside:
            result.append((week, "not assessable" if now_ts - enrolled >= end else "not reached", None))
            continue
        last = inside[-1]  # several in the window: the latest
        result.append((week, "not on track" if last.score >= limit else "on track", last))
    return result


def _not_on_track(c: Case) -> list[dict]:
    """The latest checkpoint missed speaks for the patient."""
    phq = [r for r in c.episode if r.instrument == "PHQ9"]
    out = []
    for week, status, row in on_track_status(phq, c.p.enrolled_at, c.now, c.settings):
        if status == "not on track":
            limit = dict(NOT_ON_TRACK_CHECKPOINTS)[week]
            out.append(
                _flag(
                    c.p,
                    "not_on_track",
                    row.administered_at,
                    _("PHQ-9 {score} in week {week} (not on track at {limit} or more; baseline {baseline})").format(
                        score=display_score(row.score), week=week, limit=limit, baseline=display_score(phq[0].score)
                    ),
                    response_id=int(row.response_id),
                )
            )
    return out[-1:]


@dataclass(frozen=True)
class FlagKind:
    key: str
    title: str  # short badge text, English (N_): shown through ``title``
    priority: int  # lower is more urgent: risk, then a reply owed, then outcomes, then engagement
    rule: Callable[[Case], list[dict]]  # the flag's rows for one patient
    in_treatment_only: bool = True  # risk is triaged after the episode ended too (risk_window_after_end)


# The flags, most urgent first; each rule reads only its patient's Case.
FLAG_KINDS = {
    f.key: f
    for f in (
        FlagKind("risk", N_("Risk answer"), 1, _risk, in_treatment_only=False),
        FlagKind("peer_concern", N_("Supporter's concern"), 1, _peer_concern, in_treatment_only=False),
        FlagKind("risk_unknown", N_("Risk item unanswered"), 2, _risk_unknown, in_treatment_only=False),
        FlagKind("awaiting_reply", N_("Awaiting reply"), 3, _awaiting_reply),  # 7 while not yet overdue
        FlagKind("deterioration", N_("Reliable deterioration"), 4, _deterioration),
        FlagKind("not_on_track", N_("Not on track"), 5, _not_on_track),
        FlagKind("gp_action", N_("GP asked for action"), 6, _gp_action),
        FlagKind("feedback_due", N_("Feedback due"), 7, _feedback_due),
        FlagKind("not_started", N_("Not started"), 8, _not_started),
        FlagKind("inactive", N_("Inactive"), 9, _inactive),
        FlagKind("no_contact", N_("No contact"), 10, _no_contact),
        FlagKind("risk_unassessed", N_("Risk item not assessed"), 11, _risk_unassessed),
        FlagKind("questionnaire_overdue", N_("Questionnaire overdue"), 12, _questionnaire_overdue),
    )
}


def title(key: str) -> str:
    """A flag kind's badge text in the run's language; the key stays the stored code."""
    return _(FLAG_KINDS[key].title)


# The reasons handled like a risk answer: marked handled only with a note of
# ``risk_note_min_chars`` (dashboard.acks), escalated to the team lead after
# ``risk_escalation_working_days`` (``escalated``). A supporter's concern is one.
RISK_KINDS = frozenset({"risk", "peer_concern"})
HIGH_RISK_PRIORITY = 0  # item 9 of 2-3 comes before every other flag (clinical-reference 1.5)
PENDING_REPLY_PRIORITY = FLAG_KINDS["feedback_due"].priority


# ---------------------------------------------------------------- ranking


RANKED_FIELDS = ["patient_id", "code", "flags", "reasons", "priority", "since", "escalated"]


def add_working_days(ts: datetime, days: float) -> datetime:
    """``ts`` moved on by whole working days (Monday-Friday), keeping the time of day."""
    out, left = pd.Timestamp(ts), int(days)
    while left > 0:
        out += timedelta(days=1)
        if out.weekday() < 5:
            left -= 1
    return out.to_pydatetime()


def escalated(flags: pd.DataFrame, now: datetime, settings: Settings) -> pd.Series:
    """Open flags of RISK_KINDS whose earliest unhandled answer or concern (``since``) has
    waited past the working-day deadline. A newer one does not restart the clock:
    ``since`` is the earliest that no acknowledgement covers (``_risk``, ``_peer_concern``)."""
    now_ts = pd.Timestamp(now)
    return pd.Series(
        [
            flag in RISK_KINDS
            and pd.Timestamp(add_working_days(since, settings.risk_escalation_working_days)) <= now_ts
            for flag, since in zip(flags["flag"].tolist(), flags["since"].tolist())
        ],
        index=flags.index,
        dtype=bool,
    )


def urgency(priority: int, is_escalated: bool, since) -> tuple:
    """The one ranking of every list (Triage for therapists and leads, the GP's due
    list, My patients): the grade of the open reason first (an unhandled item 9 of 2-3
    before 1, clinical-reference 1.5, then the other reasons by kind), then escalated
    before not, then the longest wait."""
    return (priority, not is_escalated, pd.Timestamp(since))


def patient_urgency(flags: pd.DataFrame, kinds: frozenset[str] | None = None) -> dict[int, tuple]:
    """patient_id -> ``urgency`` of their most urgent open flag (of ``kinds`` only, if
    given); ``flags`` carries ``escalated``. Lists that are not the queue (the GP's
    due list, My patients) rank by it, so risk means the same order everywhere."""
    best: dict[int, tuple] = {}
    for f in records(flags, ["patient_id", "flag", "priority", "since", "escalated"]):
        if kinds is None or f.flag in kinds:
            key = urgency(f.priority, f.escalated, f.since)
            if f.patient_id not in best or key < best[f.patient_id]:
                best[f.patient_id] = key
    return best


def rank_patients(flags: pd.DataFrame, patients_frame: pd.DataFrame) -> pd.DataFrame:
    """One row per flagged patient (RANKED_FIELDS) with all reasons, most urgent first (``urgency`` of the
    patient's most urgent flag; ``flags`` carries ``escalated``), then by code."""
    if flags.empty:
        return pd.DataFrame(columns=RANKED_FIELDS)
    if "escalated" not in flags:  # a ranking before escalation is judged (the bench, tests of the order)
        flags = flags.assign(escalated=False)
    codes = per_patient(patients_frame, "code")
    by_patient: dict[int, dict] = {}
    ordered = sorted(
        records(flags, ["patient_id", "flag", "priority", "since", "reason", "escalated"]),
        key=lambda f: (f.patient_id, urgency(f.priority, f.escalated, f.since)),
    )
    for f in ordered:
        row = by_patient.get(f.patient_id)
        if row is None:  # the patient's most urgent flag sets their place in the ranking
            row = by_patient[f.patient_id] = {
                "patient_id": f.patient_id,
                "code": codes.get(f.patient_id),
                "flags": [],
                "reasons": [],
                "priority": f.priority,
                "since": f.since,
                "escalated": bool(f.escalated),
            }
        if f.flag not in row["flags"]:
            row["flags"].append(f.flag)
        row["reasons"].append(f.reason)
    rows = sorted(
        by_patient.values(), key=lambda r: (*urgency(r["priority"], r["escalated"], r["since"]), str(r["code"]))
    )
    return pd.DataFrame(rows, columns=RANKED_FIELDS)
