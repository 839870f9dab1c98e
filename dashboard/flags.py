"""The flag engine: who needs a clinician, and why.

One engine serves the triage queue, the patient page's badges and the My
patients list, so a flag means the same thing everywhere. Inputs are read in
SQL scoped to the viewer (one row per patient, plus their aggregated
questionnaires); ``evaluate`` is a pure function over those small frames.
Thresholds are settings (README, Settings); clinical rules follow
clinical-reference.md (1.3, 1.5, 3.2, 5.3, 6.2).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, Select, String, and_, cast, func, literal, or_, select
from sqlalchemy.orm import aliased

from dashboard.ack_cover import AckIndex, Evidence, apply_acks
from dashboard.config import Settings
from dashboard.frames import per_patient, read_frame, records
from dashboard.measures import INSTRUMENTS, display_score
from dashboard.outcomes import DETERIORATED, reliable_change
from dashboard.my_patients import LAST_ACTIVITY_INPUTS, last_activity_at, patient_facts_query
from dashboard.responses import read_scored, responses_query
from dashboard.schema import ENDED_STATUSES, messages, module_progress, modules, patients
from dashboard.scope import Viewer, role_filter, role_patient_ids, scope_params
from dashboard.statements import CLOSED_BEFORE, NOW, PATIENT_ID, prepared
from dashboard.timeutil import DAY

EPOCH = datetime(1900, 1, 1)


@dataclass(frozen=True)
class FlagKind:
    key: str
    title: str  # short badge text
    priority: int  # lower is more urgent: risk, then a reply owed, then outcomes, then engagement


FLAG_KINDS = {f.key: f for f in (
    FlagKind("risk", "Risk answer", 1),
    FlagKind("risk_unknown", "Risk item unanswered", 2),
    FlagKind("awaiting_reply", "Awaiting reply", 3),  # 7 while not yet overdue
    FlagKind("deterioration", "Reliable deterioration", 4),
    FlagKind("not_on_track", "Not on track", 5),
    FlagKind("gp_action", "GP asked for action", 6),
    FlagKind("feedback_due", "Feedback due", 7),
    FlagKind("not_started", "Not started", 8),
    FlagKind("inactive", "Inactive", 9),
    FlagKind("no_contact", "No contact", 10),
    FlagKind("questionnaire_overdue", "Questionnaire overdue", 11),
)}
HIGH_RISK_PRIORITY = 0  # item 9 of 2-3 comes before every other flag (clinical-reference 1.5)
PENDING_REPLY_PRIORITY = FLAG_KINDS["feedback_due"].priority

# since: when the need began (waiting time, escalation and ties); trigger_at: the
# latest event that raised it; evidence: the platform rows behind it as (key, event
# time) pairs. An acknowledgement covers the evidence its screen showed and nothing
# else, so any other qualifying row (a new message, answer, completion, tier) raises
# the reason again (dashboard.ack_cover). acked_*: the covering acknowledgement.
FLAG_COLUMNS = ["patient_id", "flag", "priority", "since", "trigger_at", "reason", "response_id", "evidence",
                "acked_by", "acked_at", "ack_note", "ack_id"]

# Checkpoints of clinical-reference 6.2: treatment week and the PHQ-9 at or above which
# the patient is not on track. Week 4's days are a setting; later weeks follow the clock.
NOT_ON_TRACK_CHECKPOINTS = ((4, 17), (9, 13), (14, 9))
NOT_ON_TRACK_MIN_BASELINE = 10


# ---------------------------------------------------------------- inputs (SQL)


def contact_facts_query(role: str, one_patient: bool = False):
    """Per patient: the last clinician contact, the earliest patient message and the
    earliest module completion since then (DESIGN.md: clinician contact), up to NOW."""
    contact = aliased(messages)
    last_contact = (
        select(func.max(contact.c.sent_at))
        .where(contact.c.patient_id == patients.c.id, contact.c.direction == "to_patient",
               contact.c.clinician_id.is_not(None), contact.c.sent_at <= NOW)
        .correlate_except(contact)
        .scalar_subquery()
    )
    since_contact = func.coalesce(last_contact, literal(EPOCH))
    written = aliased(messages)

    def unanswered(value):
        """``value`` over the patient's messages since the last contact."""
        return (select(value)
                .where(written.c.patient_id == patients.c.id, written.c.direction == "from_patient",
                       written.c.sent_at <= NOW, written.c.sent_at > since_contact)
                .correlate_except(written, contact)
                .scalar_subquery())

    def unfed(value):
        """``value`` over the patient's own programme's modules completed since the last contact."""
        return (select(value)
                .select_from(module_progress.join(modules, and_(modules.c.id == module_progress.c.module_id,
                                                                modules.c.program_id == patients.c.program_id)))
                .where(module_progress.c.patient_id == patients.c.id, module_progress.c.completed_at <= NOW,
                       module_progress.c.completed_at > since_contact)
                .correlate_except(module_progress, modules, contact)
                .scalar_subquery())

    first_unanswered = unanswered(func.min(written.c.sent_at))
    first_unfed_completion = unfed(func.min(module_progress.c.completed_at))
    # The identities behind awaiting_reply and feedback_due: an acknowledgement covers these rows only.
    unanswered_ids = unanswered(func.aggregate_strings(cast(written.c.id, String), ","))
    unfed_modules = unfed(func.aggregate_strings(cast(module_progress.c.module_id, String), ","))
    return (
        select(patients.c.id.label("patient_id"), patients.c.ended_at,
               last_contact.label("last_contact"), first_unanswered.label("first_unanswered"),
               first_unfed_completion.label("first_unfed_completion"), unanswered_ids.label("unanswered_ids"),
               unfed_modules.label("unfed_modules"))
        .where(role_filter(role), *([patients.c.id == PATIENT_ID] if one_patient else []))
    )


def open_to_flags(role: str) -> Select:
    """The viewer's patients whose questionnaires can still matter: all but episodes
    that ended before CLOSED_BEFORE (``closed_before``: the wider of the risk window
    of ``patient_flags`` and the GP's follow-up window of ``due.due_list``). A team
    holds thousands of such closed episodes; scoring their responses changed no flag."""
    # Missing or unknown status, or no end date, may be in treatment (in_treatment): kept.
    return role_patient_ids(role).where(or_(
        patients.c.status.is_(None), patients.c.status.not_in(ENDED_STATUSES),
        patients.c.ended_at.is_(None), patients.c.ended_at >= CLOSED_BEFORE))


def closed_before(now: datetime, settings: Settings) -> datetime:
    """A day before either window closes: ``patient_flags`` and ``due_list`` decide the
    edges exactly, in Python; this only spares reading episodes certainly closed (and
    SQLite compares timestamps as text, where the same second can compare unequal)."""
    return now - timedelta(days=max(settings.risk_after_end_days, settings.followup_after_end_days) + 1)


@prepared
def _inputs_statements(role: str, one_patient: bool):
    """(facts and contact facts in one statement, responses of the patients open to flags)."""
    ids = open_to_flags(role)
    if one_patient:
        ids = ids.where(patients.c.id == PATIENT_ID)
    facts_q = patient_facts_query(role, one_patient).subquery("facts")
    contact_q = contact_facts_query(role, one_patient).subquery("contact")
    both = (select(facts_q, *[c for c in contact_q.c if c.name != "patient_id"])
            .select_from(facts_q.join(contact_q, contact_q.c.patient_id == facts_q.c.patient_id)))
    return both, responses_query(ids)


@dataclass(frozen=True)
class FlagInputs:
    patients: pd.DataFrame  # one row per patient: facts + contact facts
    responses: pd.DataFrame  # scored responses of the patients open_to_flags (all of one patient's on the patient page)
    followups: pd.DataFrame | None = None  # current GP follow-ups (dashboard.gp_followups), from the state database
    acks: pd.DataFrame | None = None  # their acknowledgements (dashboard.acks.load_acks), from the state database


def load_inputs(engine: Engine, viewer: Viewer, now: datetime, settings: Settings,
                patient_id: int | None = None, state: Engine | None = None,
                scored: pd.DataFrame | None = None) -> FlagInputs:
    """Platform rows in SQL scoped to the viewer; with ``state``, also the GP
    follow-ups of those patients (joined in Python on the scoped ids). ``scored``:
    the same patients' scored responses when the caller has read them already."""
    both, responses_stmt = _inputs_statements(viewer.role, patient_id is not None)
    params = {"now": now, **scope_params(viewer), "patient_id": patient_id}
    with engine.connect() as conn:
        facts = read_frame(conn, both, params, ("enrolled_at", *LAST_ACTIVITY_INPUTS, "ended_at", "last_contact",
                                                       "first_unanswered", "first_unfed_completion"))
        if scored is None:
            scored = read_scored(conn, responses_stmt, {**params, "closed_before": closed_before(now, settings)}, settings)
    facts["last_activity_at"] = last_activity_at(facts)
    followups = acks = None
    if state is not None:
        from dashboard.acks import load_acks
        from dashboard.gp_followups import current_followups

        ids = [int(i) for i in facts["patient_id"]]
        followups, acks = current_followups(state, ids), load_acks(state, ids)
    return FlagInputs(facts, scored, followups, acks)


# ---------------------------------------------------------------- evaluation (pure)


def _days(delta: timedelta | pd.Timedelta) -> int:
    return int(pd.Timedelta(delta) // DAY)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _on(ts) -> str:
    return f"{pd.Timestamp(ts):%d %b}"


def evaluate(inputs: FlagInputs, now: datetime, settings: Settings) -> pd.DataFrame:
    """All current flags (FLAG_COLUMNS), one row per patient and flag, each with the
    acknowledgement that covers its whole evidence (``acked_at`` NaT: open).

    Responses are grouped once into plain records: per-patient pandas work
    would cost milliseconds per patient, records cost microseconds."""
    by_patient: dict[int, list] = defaultdict(list)
    if not inputs.responses.empty:
        ordered = inputs.responses.sort_values(["patient_id", "administered_at", "response_id"])
        for r in records(ordered, RESPONSE_FIELDS):
            by_patient[r.patient_id].append(r)
    gp_notes = followups_by_patient(inputs.followups)
    index = AckIndex(inputs.acks, now, settings.ack_expiry_days)
    rows: list[dict] = []
    for p in records(inputs.patients, PATIENT_FIELDS):
        rows.extend(patient_flags(p, by_patient.get(p.patient_id, []), now, settings, gp_notes.get(p.patient_id, []),
                                  index))
    found = pd.DataFrame(rows, columns=FLAG_COLUMNS[:8])
    return apply_acks(found, index)[FLAG_COLUMNS]


PATIENT_FIELDS = ["patient_id", "status", "enrolled_at", "ended_at", "primary_instrument", "gp", "last_activity_at",
                  "last_module_start", "last_module_completion", "last_patient_message", "last_contact",
                  "first_unanswered", "first_unfed_completion", "unanswered_ids", "unfed_modules"]
FOLLOWUP_FIELDS = ["patient_id", "entry_id", "version", "held_on", "recorded_at", "action", "note", "pause_until"]


RESPONSE_FIELDS = ["patient_id", "response_id", "instrument", "administered_at", "score", "valid", "risk_item_score"]


def _flag(p, key: str, since, reason: str, priority: int | None = None, response_id: int | None = None,
          trigger_at=None, evidence: list[Evidence] | None = None) -> dict:
    """One flag row. ``evidence`` defaults to one key naming the trigger itself (the
    time-derived reasons: a new tier or a new last activity is a new key)."""
    trigger = pd.Timestamp(since if trigger_at is None else trigger_at).to_pydatetime()
    if not evidence:
        evidence = [(f"response:{response_id}" if response_id is not None else f"{key}:{trigger.isoformat()}", trigger)]
    return {"patient_id": p.patient_id, "flag": key, "priority": FLAG_KINDS[key].priority if priority is None else priority,
            "since": pd.Timestamp(since).to_pydatetime(), "trigger_at": trigger,
            "reason": reason, "response_id": response_id, "evidence": tuple(evidence)}


def _id_keys(kind: str, ids, at) -> list[Evidence]:
    """Evidence from an aggregated id list ("12,40"): each row a key, all at ``at``."""
    at = pd.Timestamp(at).to_pydatetime()
    return [(f"{kind}:{i}", at) for i in sorted({int(i) for i in str(ids).split(",") if i.strip()})] if _present(ids) else []


def _present(ts) -> bool:
    return ts is not None and not pd.isna(ts)


def in_treatment(status, ended_at) -> bool:
    """Active, or a status the platform left missing or unknown on an episode with no
    end date: hiding a patient who may be in treatment (and their risk answers) is
    the worse error, so bad status data errs towards showing them."""
    return status == "active" or (status not in ENDED_STATUSES and not _present(ended_at))


def followups_by_patient(followups: pd.DataFrame | None) -> dict[int, list]:
    """patient_id -> their current GP follow-ups (FOLLOWUP_FIELDS records), oldest first."""
    out: dict[int, list] = defaultdict(list)
    if followups is not None and not followups.empty:
        for f in records(followups.sort_values(["held_on", "recorded_at"]), FOLLOWUP_FIELDS):
            out[f.patient_id].append(f)
    return out


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


def patient_flags(p, resp: list, now: datetime, settings: Settings, gp_followups: list | None = None,
                  acks: AckIndex | None = None) -> list[dict]:
    """Flags of one patient. ``p``: a row of FlagInputs.patients; ``resp``: their
    response records (RESPONSE_FIELDS) in time order; ``gp_followups``: their
    current GP follow-ups (FOLLOWUP_FIELDS), oldest first; ``acks``: the
    acknowledgements in force (risk is dated and graded by the answers they do not cover)."""
    gp_followups = gp_followups or []
    acks = acks or AckIndex(None, now, settings.ack_expiry_days)
    now_ts = pd.Timestamp(now)
    out: list[dict] = []
    active = in_treatment(p.status, p.ended_at)
    ended = pd.Timestamp(p.ended_at) if _present(p.ended_at) else None
    after_end = pd.Timedelta(days=settings.risk_after_end_days)
    # Risk is triaged whatever the status for answers up to N days after the episode ended.
    if active or (ended is not None and now_ts <= ended + after_end):
        out.extend(_risk_flags(p, resp, now_ts if active or ended is None else ended + after_end, acks))
    if not active:
        return out

    latest_gp = gp_followups[-1] if gp_followups else None
    if latest_gp is not None and latest_gp.action != "continue":
        from dashboard.gp_followups import ACTIONS

        note = f": “{latest_gp.note}”" if isinstance(latest_gp.note, str) and latest_gp.note else ""
        out.append(_flag(p, "gp_action", latest_gp.recorded_at,
                         f"GP {p.gp or ''} asked to {ACTIONS[latest_gp.action].lower()} on {latest_gp.held_on:%d %b}"
                         + (f" until {latest_gp.pause_until:%d %b %Y}" if latest_gp.action == "pause" else "") + note,
                         evidence=[(f"followup:{latest_gp.entry_id}:{int(latest_gp.version)}", latest_gp.recorded_at)]))
    # A GP's pause suppresses inactive and no_contact until it ends (its end date included).
    paused = pause_in_force(gp_followups, now_ts.date()) is not None

    enrolled = pd.Timestamp(p.enrolled_at)
    episode_start = enrolled - pd.Timedelta(days=settings.baseline_window_days)
    # Without an enrolment date (bad data) the whole record is the episode.
    valid = [r for r in resp if r.valid and (pd.isna(enrolled) or r.administered_at >= episode_start)]

    # awaiting_reply: waiting runs from the patient's earliest message since the last contact.
    if _present(p.first_unanswered):
        hours = (now_ts - p.first_unanswered) / pd.Timedelta(hours=1)
        overdue = hours >= settings.reply_overdue_hours
        words = (f"unanswered message for {_plural(_days(now_ts - p.first_unanswered), 'day')}" if hours >= 24
                 else f"unanswered message for {int(hours)} h")
        out.append(_flag(p, "awaiting_reply", p.first_unanswered,
                         words if overdue else f"{words}: reply within {int(settings.reply_overdue_hours)} h",
                         priority=None if overdue else PENDING_REPLY_PRIORITY, trigger_at=p.last_patient_message,
                         evidence=_id_keys("message", p.unanswered_ids, p.last_patient_message)))

    for instrument in ("PHQ9", "GAD7"):  # instruments with a reliable-change criterion
        rows = [r for r in valid if r.instrument == instrument]
        if len(rows) >= 2:
            base, last = rows[0], rows[-1]
            if reliable_change(instrument, base.score, last.score) == DETERIORATED:
                name = INSTRUMENTS[instrument].name
                out.append(_flag(p, "deterioration", last.administered_at,
                                 f"{name} reliably worse: {display_score(base.score)} → {display_score(last.score)} "
                                 f"on {_on(last.administered_at)}", response_id=int(last.response_id)))

    out.extend(_not_on_track(p, [r for r in valid if r.instrument == "PHQ9"], now_ts, settings))

    if _present(p.first_unfed_completion) and now_ts - p.first_unfed_completion >= pd.Timedelta(hours=settings.feedback_due_hours):
        out.append(_flag(p, "feedback_due", p.first_unfed_completion,
                         f"module completed {_plural(_days(now_ts - p.first_unfed_completion), 'day')} ago with no clinician contact since",
                         trigger_at=p.last_module_completion,
                         evidence=_id_keys("completion", p.unfed_modules, p.last_module_completion)))

    if not _present(p.last_module_start) and now_ts - enrolled >= pd.Timedelta(days=settings.not_started_days):
        out.append(_flag(p, "not_started", enrolled,
                         f"no module started {_plural(_days(now_ts - enrolled), 'day')} after enrolment",
                         trigger_at=enrolled + pd.Timedelta(days=settings.not_started_days)))

    idle = now_ts - pd.Timestamp(p.last_activity_at)
    if not paused and idle >= pd.Timedelta(days=settings.inactive_days):
        tiers = [(settings.inactive_lapsed_days, "lapsed: "), (settings.inactive_at_risk_days, "at risk of drop-out: "),
                 (settings.inactive_days, "")]
        reached, tier = next((d, t) for d, t in tiers if idle >= pd.Timedelta(days=d))
        out.append(_flag(p, "inactive", p.last_activity_at, f"{tier}no activity for {_plural(_days(idle), 'day')}",
                         trigger_at=pd.Timestamp(p.last_activity_at) + pd.Timedelta(days=reached)))

    contact_since = pd.Timestamp(p.last_contact) if _present(p.last_contact) else enrolled
    if not paused and now_ts - contact_since >= pd.Timedelta(days=settings.no_contact_days):
        words = "no clinician contact yet" if not _present(p.last_contact) else "no clinician contact"
        out.append(_flag(p, "no_contact", contact_since, f"{words} for {_plural(_days(now_ts - contact_since), 'day')}",
                         trigger_at=contact_since + pd.Timedelta(days=settings.no_contact_days)))

    primary = p.primary_instrument
    last_q = max((r.administered_at for r in resp if r.instrument == primary and r.administered_at >= enrolled),
                 default=enrolled)
    # A patient without a programme has no primary questionnaire to be overdue.
    if _present(primary) and now_ts - last_q >= pd.Timedelta(days=settings.questionnaire_overdue_days):
        name = INSTRUMENTS[primary].name if primary in INSTRUMENTS else primary
        out.append(_flag(p, "questionnaire_overdue", last_q, f"no {name} for {_plural(_days(now_ts - last_q), 'day')}",
                         trigger_at=pd.Timestamp(last_q) + pd.Timedelta(days=settings.questionnaire_overdue_days)))
    return out


def _risk_flags(p, resp: list, until: pd.Timestamp, acks: AckIndex) -> list[dict]:
    """risk: every PHQ-9 with item 9 above 0 (a later 0 does not clear it), each
    answer its own evidence. The answers no acknowledgement covers date the flag
    (``since``: escalation runs from the earliest of them) and grade it (2-3 before
    1, clinical-reference 1.5), so a new answer of 1 neither restarts the clock of
    an open 2 nor hides it; the episode's highest answer is stated too.
    risk_unknown: the latest PHQ-9 cannot tell (item 9 missing, or no items)."""
    out = []
    phq = [r for r in resp if r.instrument == "PHQ9" and r.administered_at <= until]
    positive = [r for r in phq if _present(r.risk_item_score) and r.risk_item_score > 0]
    if positive:
        evidence = [(f"response:{int(r.response_id)}", r.administered_at) for r in positive]
        open_keys = {k for k, _ in acks.uncovered(p.patient_id, "risk", evidence)}
        pending = [r for (k, _), r in zip(evidence, positive) if k in open_keys] or positive
        grade, highest = int(max(r.risk_item_score for r in pending)), int(max(r.risk_item_score for r in positive))
        latest = pending[-1]
        words = f"PHQ-9 item 9 answered {int(latest.risk_item_score)} on {_on(latest.administered_at)}"
        some_handled = len(pending) < len(positive)
        if len(pending) > 1:
            words += f" ({len(pending)} answers above 0{' not yet handled' if some_handled else ''}, highest {grade})"
        if some_handled:
            words += f"; highest this episode {highest}"
        out.append(_flag(p, "risk", pending[0].administered_at, words,
                         priority=HIGH_RISK_PRIORITY if grade >= 2 else None, response_id=int(latest.response_id),
                         trigger_at=max(r.administered_at for r in positive), evidence=evidence))
    if phq and not _present(phq[-1].risk_item_score):
        last = phq[-1]
        out.append(_flag(p, "risk_unknown", last.administered_at,
                         f"latest PHQ-9 ({_on(last.administered_at)}) has item 9 unanswered: risk not assessable",
                         response_id=int(last.response_id)))
    return out


def checkpoint_window(week: int, settings: Settings) -> tuple[pd.Timedelta, pd.Timedelta]:
    """[start, end) elapsed time since enrolment for a checkpoint week. Day n of
    treatment is elapsed [n-1, n) days, so days 22-28 are week 4 on the clock."""
    if week == 4:
        first, last = settings.not_on_track_week4_first_day, settings.not_on_track_week4_last_day
    else:
        first, last = 7 * (week - 1) + 1, 7 * week
    return pd.Timedelta(days=first - 1), pd.Timedelta(days=last)


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
        inside = [r for r in phq if start <= r.administered_at - enrolled < end]
        if not inside:
            result.append((week, "not assessable" if now_ts - enrolled >= end else "not reached", None))
            continue
        last = inside[-1]  # several in the window: the latest
        result.append((week, "not on track" if last.score >= limit else "on track", last))
    return result


def _not_on_track(p, phq: list, now_ts: pd.Timestamp, settings: Settings) -> list[dict]:
    out = []
    for week, status, row in on_track_status(phq, p.enrolled_at, now_ts, settings):
        if status == "not on track":
            limit = dict(NOT_ON_TRACK_CHECKPOINTS)[week]
            out.append(_flag(p, "not_on_track", row.administered_at,
                             f"PHQ-9 {display_score(row.score)} in week {week} (not on track at {limit} or more; "
                             f"baseline {display_score(phq[0].score)})", response_id=int(row.response_id)))
    return out[-1:]  # the latest checkpoint missed speaks for the patient


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
    """Open risk flags whose earliest unhandled answer (``since``) has waited past the
    working-day deadline. A newer answer does not restart the clock: ``since`` is the
    earliest positive answer no acknowledgement covers (``_risk_flags``)."""
    now_ts = pd.Timestamp(now)
    return pd.Series([flag == "risk" and pd.Timestamp(add_working_days(since, settings.risk_escalation_working_days)) <= now_ts
                      for flag, since in zip(flags["flag"].tolist(), flags["since"].tolist())], index=flags.index, dtype=bool)


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
    ordered = sorted(records(flags, ["patient_id", "flag", "priority", "since", "reason", "escalated"]),
                     key=lambda f: (f.patient_id, urgency(f.priority, f.escalated, f.since)))
    for f in ordered:
        row = by_patient.get(f.patient_id)
        if row is None:  # the patient's most urgent flag sets their place in the ranking
            row = by_patient[f.patient_id] = {"patient_id": f.patient_id, "code": codes.get(f.patient_id), "flags": [],
                                              "reasons": [], "priority": f.priority, "since": f.since,
                                              "escalated": bool(f.escalated)}
        if f.flag not in row["flags"]:
            row["flags"].append(f.flag)
        row["reasons"].append(f.reason)
    rows = sorted(by_patient.values(), key=lambda r: (*urgency(r["priority"], r["escalated"], r["since"]), str(r["code"])))
    return pd.DataFrame(rows, columns=RANKED_FIELDS)
