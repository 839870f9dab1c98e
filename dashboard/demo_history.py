"""The demo service's past, in the state database: what its clinicians wrote.

Why: a demo with platform data only shows a service that ignores every answer --
no risk answer acknowledged, no GP follow-up ever held, an empty audit trail. A
well-run service has a past: risk answers acknowledged within a working day with
a note, most GP follow-ups held on time (a few late), reviews of deteriorating
patients and of GP requests, and an audit trail of logins, record openings,
acknowledgements, follow-ups and exports.

Everything is derived from the generated platform data with the domain's own
reading of it, so the history is true to the rules: item 9 as scored by
``dashboard.responses``, acknowledgements storing the evidence keys the flag
engine shows (``dashboard.ack_cover.evidence_json`` of ``flags.evaluate``'s
evidence), follow-up cycles as ``dashboard.followups_due`` counts them.

What the picture looks like does not depend on the time of day it is made for:
every decision (answered, held, still open) compares times *relative to now*,
as the platform data's own times are; only the clock times written (office
hours, logins) follow the calendar. Left open on purpose: the risk answers of
the last RISK_OPEN_HOURS (never escalated yet: escalation takes a working day,
at least 24 h) and one older answer in the first team (escalated on any
weekday), the GP requests of the last two days, and follow-up cycles whose
follow-up is not due to be held yet.

Not seeded by ``caseboard bench``: its fixed volumes measure the platform data.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Engine, delete, insert, select

from dashboard import flags
from dashboard.ack_cover import ACK_COLUMNS, evidence_json
from dashboard.audit import ACTIONS as AUDIT_ACTIONS
from dashboard.config import DEMO_TIMEZONE, Settings
from dashboard.demo.common import DEFAULT_SEED
from dashboard.facts import in_treatment, own_programme_progress
from dashboard.responses import scored_responses
from dashboard.schema import clinicians, module_progress, modules, patients
from dashboard.scope import load_viewer
from dashboard.state_tables import ack_withdrawals, acknowledgements, audit, followups

RISK_OPEN_HOURS = 20  # answers younger than this are still open: a working day's new answers
ESCALATED_AGE_DAYS = (3.5, 14.0)  # the one escalated answer: past the deadline on any weekday
REVIEW_AFTER_DAYS = 2  # deterioration / not-on-track / GP requests older than this were reviewed
SESSION_WEEKS = 26  # weekday logins of every clinician over the service's history
HELD_ON_TIME_SHARE = 0.85  # follow-ups held within followup_overdue_days of the cycle's start
STREAM = 16  # this history's random stream, apart from the platform's

RISK_NOTES_LOW = (
    "Called, safety plan reviewed, no current intent; GP informed.",
    "Phoned the same day: passive thoughts when tired, no plan; safety plan updated.",
    "Spoke by phone: fleeting thoughts, no intent; agreed to call the crisis line if worse.",
    "Called back: no plan or intent, partner aware; safety plan in place.",
    "Phone call: thoughts on a few days after an argument, none now; reviewed coping plan.",
    "Reached by phone: no intent, protective factors discussed; check-in booked for Friday.",
)
RISK_NOTES_HIGH = (
    "Urgent call: frequent thoughts, no plan; safety plan reviewed with partner, GP informed same day.",
    "Called within the hour: thoughts most days, no intent today; duty psychiatrist consulted, review in 2 days.",
    "Phoned: no plan, strong protective factors; crisis numbers given, GP and team lead informed.",
    "Same-day call: thoughts nearly every day, no plan; GP appointment tomorrow, daily check-ins agreed.",
)
REVIEW_NOTES = {
    "deterioration": (
        "Reviewed scores with patient: recent job loss; extra check-in booked.",
        "Discussed the rise by phone; GP informed, closer monitoring for two weeks.",
        "Worse after a family illness; agreed to repeat module 3, review next week.",
    ),
    "not_on_track": (
        "Not on track at the checkpoint: discussed with patient, pace adjusted, review in two weeks.",
        "Talked through the plan: adding weekly phone support for the next modules.",
    ),
    "gp_action": (
        "Read the GP's request; plan agreed with patient by phone.",
        "Noted; discussed with team lead and patient, next steps in the record.",
    ),
}
# The reasons whose acknowledgements expire (ack_cover.EXPIRING_FLAGS): a phone call this week.
CALL_NOTES = {
    "inactive": (
        "Phoned: away this week, will restart on Monday.",
        "Left a voicemail and sent a letter; will try again next week.",
        "Spoke to patient: busy at work, plans to catch up at the weekend.",
    ),
    "no_contact": (
        "Phoned instead of messaging: doing fine, next check-in in a week.",
        "Call booked for Thursday at the patient's request.",
    ),
    "risk_unassessed": ("Asked by phone to answer the PHQ-9 this week, item 9 included; no concerns raised.",),
    "questionnaire_overdue": (
        "Reminded by phone to complete the PHQ-9 this week.",
        "Will fill in the questionnaire after the next module.",
    ),
}
CALLED_SHARE = 0.7  # of the expiring reasons open for a day or more, called about this week
# A GP's note follows how the patient is (their latest PHQ-9): well, in between, unwell.
FOLLOWUP_NOTES = {
    "well": (
        "Mood improving, sleeping better.",
        "Engaging well with the modules; no concerns.",
        "Back at work part-time; coping.",
    ),
    "between": (
        "Finding the homework hard; encouraged to keep going.",
        "Some low days but using the techniques.",
        "Anxiety less intense; still avoiding the supermarket.",
    ),
    "unwell": (
        "Still low most days; medication reviewed, continue with the programme.",
        "Struggling with sleep and motivation; therapist to increase contact.",
        "No better yet; discussed options, review at the next module.",
    ),
}
ACTION_NOTES = {
    "step_up": "Low mood persisting; therapist asked to step up support.",
    "refer_on": "Needs specialist assessment; referral to secondary care sent.",
    "pause": "Family bereavement; pausing for a few weeks at the patient's request.",
}


@dataclass
class _History:
    acks: list[dict] = field(default_factory=list)
    followups: list[dict] = field(default_factory=list)
    acts: list[dict] = field(default_factory=list)  # audit rows of the writes: time, actor, action, patient, detail


@dataclass(frozen=True)
class HistoryReport:
    acknowledgements: int
    followups: int
    audit_rows: int


def seed_history(
    platform: Engine,
    state: Engine,
    now: datetime,
    seed: int = DEFAULT_SEED,
    settings: Settings | None = None,
    tz: ZoneInfo | None = None,
) -> HistoryReport:
    """Replace the demo's history in ``state`` (already migrated) with one made for the
    platform data of ``platform`` as of ``now``. Sessions are kept; acknowledgements,
    their withdrawals, follow-ups and the audit trail are replaced, because the
    platform rows they named were replaced too."""
    settings = settings or Settings()
    tz = tz or ZoneInfo(DEMO_TIMEZONE)
    risk_rng, followup_rng, session_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence([seed, STREAM]).spawn(3)
    )
    staff, people, phq9, done = _platform(platform, now, settings)
    office = _Office(tz, now)
    h = _History()
    leads = {
        int(t): u for u, r, t in staff[["username", "role", "team_id"]].itertuples(index=False) if r == "team_lead"
    }
    users = dict(zip(staff["id"].astype(int), staff["username"], strict=True))
    actor_for = _Actors(people, users, leads, tz)
    _risk_acks(h, risk_rng, people, phq9, now, office, actor_for, leads)
    _followups(h, followup_rng, people, done, phq9, users, now, tz, settings)
    _review_acks(h, seed, platform, now, office, actor_for, leads, settings, tz)
    with state.begin() as conn:  # one transaction: a reader sees the old history or the new one
        for table in (ack_withdrawals, acknowledgements, followups, audit):
            conn.execute(delete(table))
        if h.followups:
            conn.execute(insert(followups), h.followups)
        rows = sorted(h.acks, key=lambda a: (a["acked_at"], a["idempotency_key"]))
        if rows:
            conn.execute(insert(acknowledgements), rows)
        ids = dict(conn.execute(select(acknowledgements.c.idempotency_key, acknowledgements.c.id)).all())
        for act in h.acts:
            if "ack_key" in act:
                act["detail"]["ack"] = int(ids[act.pop("ack_key")])
        trail = _audit_rows(h.acts, _sessions(session_rng, staff, h.acts, now, tz))
        conn.execute(insert(audit), trail)
    return HistoryReport(len(h.acks), len(h.followups), len(trail))


# ---------------------------------------------------------------- platform data


def _platform(platform: Engine, now: datetime, settings: Settings):
    """(staff, patients, scored PHQ-9s, own-programme module completions), oldest first."""
    with platform.connect() as conn:
        staff = pd.read_sql(
            select(clinicians.c.id, clinicians.c.username, clinicians.c.role, clinicians.c.team_id).order_by(
                clinicians.c.id
            ),
            conn,
        )
        people = pd.read_sql(
            select(
                patients.c.id,
                patients.c.therapist_id,
                patients.c.gp_id,
                patients.c.team_id,
                patients.c.enrolled_at,
                patients.c.status,
                patients.c.ended_at,
            ).order_by(patients.c.id),
            conn,
            parse_dates=["enrolled_at", "ended_at"],
        )
        phq9 = scored_responses(conn, select(patients.c.id), now, settings, instruments=("PHQ9",))
        done = pd.read_sql(
            select(module_progress.c.patient_id, modules.c.position, module_progress.c.completed_at)
            .select_from(
                module_progress.join(patients, patients.c.id == module_progress.c.patient_id).join(
                    modules, own_programme_progress()
                )
            )
            .where(module_progress.c.completed_at.is_not(None), module_progress.c.completed_at <= now)
            .order_by(module_progress.c.patient_id, module_progress.c.completed_at, modules.c.position),
            conn,
            parse_dates=["completed_at"],
        )
    phq9 = phq9.sort_values(["patient_id", "administered_at", "response_id"]).reset_index(drop=True)
    return staff, people, phq9, done


class _Office:
    """Clinicians act in office hours (08-18 in the service's zone), never after now."""

    def __init__(self, tz: ZoneInfo, now: datetime):
        self.tz, self.now = tz, pd.Timestamp(now)

    def local(self, t: pd.Timestamp) -> pd.Timestamp:
        return t.tz_localize("UTC").tz_convert(self.tz)

    def utc(self, local: pd.Timestamp) -> pd.Timestamp:
        return local.tz_convert("UTC").tz_localize(None)

    def within(
        self, t: pd.Timestamp, start_minutes: float, after: pd.Timestamp, before: pd.Timestamp | None
    ) -> pd.Timestamp | None:
        """``t`` moved into office hours (to the next morning, ``start_minutes`` after 08:00),
        then kept at least two minutes after ``after`` and at least five minutes before now
        and one before ``before``; None when no such moment exists (``before`` came too soon
        after ``after``: an acknowledgement then would have shown, and covered, ``before``)."""
        local = self.local(t)
        if local.hour >= 18 or local.hour < 8:
            day = local.normalize() + (pd.Timedelta(days=1) if local.hour >= 18 else pd.Timedelta(0))
            local = day + pd.Timedelta(hours=8, minutes=start_minutes)
        earliest = after + pd.Timedelta(minutes=2)
        latest = self.now - pd.Timedelta(minutes=5)
        if before is not None:
            latest = min(latest, before - pd.Timedelta(minutes=1))
        if latest < earliest:
            return None
        return min(max(self.utc(local), earliest), latest).floor("s")


class _Actors:
    """Who acknowledges for a patient: their therapist on a weekday, the team lead
    covering at weekends and for patients nobody is allocated to."""

    def __init__(self, people: pd.DataFrame, users: dict[int, str], leads: dict[int, str], tz: ZoneInfo):
        self.therapist = {
            int(p): users[int(t)] for p, t in zip(people["id"], people["therapist_id"], strict=True) if pd.notna(t)
        }
        self.team = {int(p): int(t) for p, t in zip(people["id"], people["team_id"], strict=True)}
        self.leads, self.tz = leads, tz

    def __call__(self, patient_id: int, at: pd.Timestamp) -> str:
        weekday = at.tz_localize("UTC").tz_convert(self.tz).weekday() < 5
        therapist = self.therapist.get(patient_id)
        return therapist if therapist and weekday else self.leads[self.team[patient_id]]


# ---------------------------------------------------------------- risk answers


def _risk_acks(
    h: _History,
    rng: np.random.Generator,
    people: pd.DataFrame,
    phq9: pd.DataFrame,
    now: datetime,
    office: _Office,
    actor_for: _Actors,
    leads: dict[int, str],
) -> None:
    """Every PHQ-9 with item 9 above 0 acknowledged, mostly within hours, some after a
    day or two, each acknowledgement covering the answers its screen showed (all the
    patient's answers above 0 up to then, as ``flags._risk`` draws them)."""
    now_ts = pd.Timestamp(now)
    positive = phq9[phq9["risk_item_score"].notna() & (phq9["risk_item_score"] > 0)]
    by_patient = {int(pid): rows for pid, rows in positive.groupby("patient_id", sort=True)}
    escalated = _escalated_patient(rng, people, by_patient, now_ts, min(leads) if leads else 1)
    for pid, rows in by_patient.items():
        ts = [pd.Timestamp(t) for t in rows["administered_at"]]
        keys = [f"response:{int(r)}" for r in rows["response_id"]]
        grades = [int(g) for g in rows["risk_item_score"]]
        n = len(ts)
        # fixed draws per answer, whatever is decided, so the stream never depends on the clock
        late, prompt_h, late_h, start_min, note_pick = (
            rng.random(n),
            rng.lognormal(np.log(2.5), 0.8, n),
            rng.uniform(26, 60, n),
            rng.uniform(0, 75, n),
            rng.random(n),
        )
        open_from = next((i for i, t in enumerate(ts) if now_ts - t < pd.Timedelta(hours=RISK_OPEN_HOURS)), n)
        if pid == escalated:
            open_from = min(open_from, n - 1)
        first_open = ts[open_from] if open_from < n else None
        covered = 0
        for i in range(open_from):
            if i < covered:
                continue
            hours = float(np.clip(prompt_h[i], 0.15, 9))
            if late[i] < 0.1 and ts[i] + pd.Timedelta(hours=float(late_h[i])) <= now_ts - pd.Timedelta(hours=2):
                hours = float(late_h[i])
            at = office.within(ts[i] + pd.Timedelta(hours=hours), float(start_min[i]), ts[i], first_open)
            if at is None:  # the answer left open came minutes later: both wait for the clinician
                break
            seen = [k for k, t in zip(keys, ts, strict=True) if t <= at]
            covered = sum(1 for t in ts if t <= at)
            grade = max(g for g, t in zip(grades, ts, strict=True) if t <= at)
            notes = RISK_NOTES_HIGH if grade >= 2 else RISK_NOTES_LOW
            _ack(
                h,
                pid,
                "risk",
                max(t for t in ts if t <= at),
                at,
                actor_for(pid, at),
                notes[int(note_pick[i] * len(notes))],
                seen,
            )


def _escalated_patient(
    rng: np.random.Generator, people: pd.DataFrame, by_patient: dict, now: pd.Timestamp, team: int
) -> int | None:
    """One patient in treatment in ``team`` whose latest answer above 0 is old enough to be
    past the escalation deadline on any weekday and left open: nobody has got to it."""
    ages = ESCALATED_AGE_DAYS
    live = {
        int(p)
        for p, t, s, e in zip(people["id"], people["team_id"], people["status"], people["ended_at"], strict=True)
        if int(t) == team and in_treatment(s, e)
    }
    candidates = [
        pid
        for pid, rows in by_patient.items()
        if pid in live
        and pd.Timedelta(days=ages[0])
        <= now - pd.Timestamp(rows["administered_at"].iloc[-1])
        <= pd.Timedelta(days=ages[1])
    ]
    # an answer of 1 if there is one: a 3 left for days would not be a well-run service
    low = [pid for pid in candidates if int(by_patient[pid]["risk_item_score"].iloc[-1]) == 1]
    pool = low or candidates
    pick = rng.random()
    return pool[int(pick * len(pool))] if pool else None


def _ack(
    h: _History, pid: int, flag: str, trigger: pd.Timestamp, at: pd.Timestamp, actor: str, note: str, seen
) -> None:
    key = f"demo:{len(h.acks) + 1}"
    h.acks.append(
        {
            "patient_id": pid,
            "flag": flag,
            "trigger_at": trigger.to_pydatetime(),
            "acked_at": at.to_pydatetime(),
            "actor": actor,
            "note": note,
            "evidence": evidence_json(seen),
            "idempotency_key": key,
        }
    )
    h.acts.append(
        {"at": at, "actor": actor, "action": "acknowledge", "patient_id": pid, "detail": {"flag": flag}, "ack_key": key}
    )


# ---------------------------------------------------------------- GP follow-ups


def _followups(
    h: _History,
    rng: np.random.Generator,
    people: pd.DataFrame,
    done: pd.DataFrame,
    phq9: pd.DataFrame,
    users: dict[int, str],
    now: datetime,
    tz: ZoneInfo,
    settings: Settings,
) -> None:
    """The GP's brief follow-ups after module completions (docs/design.md): a cycle starts at
    the first completion after the last follow-up and closes at the next follow-up; most
    are held within ``followup_overdue_days``, some late. A follow-up is held at least a day
    away from any completion, so which completions it covers is the same at any time of day."""
    now_ts, overdue = pd.Timestamp(now), float(settings.followup_overdue_days)
    gp_of = {int(p): users[int(g)] for p, g in zip(people["id"], people["gp_id"], strict=True) if pd.notna(g)}
    valid = phq9[phq9["valid"].astype(bool)]
    scores = {int(p): list(zip(r["administered_at"], r["score"], strict=True)) for p, r in valid.groupby("patient_id")}
    for pid, rows in done.groupby("patient_id", sort=True):
        pid = int(pid)
        if pid not in gp_of:
            continue
        times = [pd.Timestamp(t) for t in rows["completed_at"]]
        positions = [int(p) for p in rows["position"]]
        i = 0
        while i < len(times):
            on_time, delay_ok, delay_late, minutes, modality, action, extra, note_pick, hour = (
                rng.random(),
                rng.uniform(2, 12),
                rng.uniform(overdue + 1, overdue + 14),
                rng.choice([10, 10, 15, 15, 15, 20, 30]),
                rng.choice(["face-to-face", "face-to-face", "face-to-face", "phone", "phone", "video"]),
                rng.random(),
                rng.random(),
                rng.random(),
                rng.uniform(8.5, 16.5),
            )
            held = times[i] + pd.Timedelta(days=delay_ok if on_time < HELD_ON_TIME_SHARE else delay_late)
            for t in times[i + 1 :]:  # never within a day of a completion
                if abs(held - t) < pd.Timedelta(days=1):
                    held = t + pd.Timedelta(days=1.1)
            if held > now_ts - pd.Timedelta(days=1):
                break  # not held yet: this cycle is on the GP's due list
            held_on = held.tz_localize("UTC").tz_convert(tz).date()
            covered = [k for k in range(i, len(times)) if times[k] <= held - pd.Timedelta(days=1)]
            i = covered[-1] + 1
            recorded = _at_local(held_on, hour, tz)
            phq = [s for t, s in scores.get(pid, []) if t <= recorded]
            how = "between" if not phq else "well" if phq[-1] < 10 else "between" if phq[-1] < 20 else "unwell"
            step_up = 0.7 if how == "unwell" else 0.95  # a GP steps up care more often for someone unwell
            kind = (
                "continue"
                if action < min(step_up, 0.9)
                else "step_up"
                if action < 0.95
                else "pause"
                if action < 0.98
                else "refer_on"
            )
            kind = "continue" if how == "well" and kind == "step_up" else kind
            notes = FOLLOWUP_NOTES[how]
            entry = str(uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | len(h.followups)))
            row = {
                "entry_id": entry,
                "version": 1,
                "idempotency_key": f"demo:{entry}",
                "patient_id": pid,
                "gp": gp_of[pid],
                "held_on": held_on,
                "minutes": int(minutes),
                "modality": str(modality),
                "module_position": positions[covered[-1]],
                "clinic_phq9": int(round(phq[-1])) if phq and extra < 0.6 else None,
                "action": kind,
                "pause_until": held_on + timedelta(weeks=3) if kind == "pause" else None,
                "next_on": held_on + timedelta(weeks=2) if extra > 0.8 else None,
                "note": ACTION_NOTES.get(kind) or (notes[int(note_pick * len(notes))] if note_pick < 0.7 else None),
                "withdrawn": False,
                "change_reason": None,
                "recorded_at": recorded.to_pydatetime(),
                "recorded_by": gp_of[pid],
            }
            h.followups.append(row)
            h.acts.append(
                {
                    "at": recorded,
                    "actor": gp_of[pid],
                    "action": "followup",
                    "patient_id": pid,
                    "detail": {"entry": entry, "gp_action": kind},
                    "held": held,
                }
            )


def _at_local(day: date, hour: float, tz: ZoneInfo) -> pd.Timestamp:
    local = pd.Timestamp(datetime.combine(day, time()), tz=tz) + pd.Timedelta(hours=hour)
    return local.tz_convert("UTC").tz_localize(None).floor("s")


# ---------------------------------------------------------------- reviews of other reasons


def _review_acks(
    h: _History,
    seed: int,
    platform: Engine,
    now: datetime,
    office: _Office,
    actor_for: _Actors,
    leads: dict[int, str],
    settings: Settings,
    tz: ZoneInfo,
) -> None:
    """The other reasons as the flag engine raises them now (in the demo's zone, as its
    screens judge a GP's pause). Deteriorations, not-on-track
    checkpoints and GP requests were reviewed with a note within a week, most within
    REVIEW_AFTER_DAYS (a GP request counted from when it was held, not written); of the reasons that expire
    (inactive, no contact, questionnaire overdue) open for a day or more, most were called
    about this week. Messages waiting for a reply stay as the platform shows them."""
    now_ts = pd.Timestamp(now)
    held = {a["detail"]["entry"]: a["held"] for a in h.acts if a["action"] == "followup"}
    written = pd.DataFrame(h.followups, columns=list(followups.c.keys())[1:])
    kinds = [*REVIEW_NOTES, *CALL_NOTES]
    for team in sorted(leads):
        viewer = load_viewer(platform, leads[team])
        if viewer is None:
            continue
        # the follow-ups just made, as the state database will hold them (flags.recorded_for)
        inputs = flags.load_inputs(platform, viewer, now, settings)
        mine = written[written["patient_id"].isin(inputs.patients["patient_id"])] if len(written) else written
        inputs = replace(inputs, followups=mine.reset_index(drop=True), acks=pd.DataFrame(columns=ACK_COLUMNS))
        judged = flags.evaluate(inputs, now, settings, tz)
        judged = judged[judged["flag"].isin(kinds) & judged["acked_at"].isna()]
        for r in judged.sort_values(["patient_id", "flag"]).itertuples(index=False):
            # one stream per reason: which reasons are open now moves a little with the time
            # of day (replies in office hours), and must not change the draws for the others
            own = np.random.default_rng([seed, STREAM, int(r.patient_id), kinds.index(r.flag)])
            pick, hours, start_min, note_pick = own.random(), own.uniform(3, 30), own.uniform(0, 75), own.random()
            trigger = pd.Timestamp(r.trigger_at)
            if r.flag in CALL_NOTES:
                if now_ts - trigger < pd.Timedelta(days=1) or pick >= CALLED_SHARE:
                    continue
                since, notes = max(trigger, now_ts - pd.Timedelta(days=6)), CALL_NOTES[r.flag]
            else:
                since = trigger
                if r.flag == "gp_action":
                    since = held.get(next(k for k, _ in r.evidence).split(":")[1], trigger)
                age = now_ts - since
                if age < pd.Timedelta(days=REVIEW_AFTER_DAYS) or (age < pd.Timedelta(weeks=1) and pick >= 0.7):
                    continue  # still to be reviewed: none waits more than a week
                notes = REVIEW_NOTES[r.flag]
            at = office.within(max(since, trigger) + pd.Timedelta(hours=hours), start_min, trigger, None)
            if at is None:  # not two minutes old yet: nobody can have reviewed it
                continue
            pid = int(r.patient_id)
            note = notes[int(note_pick * len(notes))]
            _ack(h, pid, r.flag, trigger, at, actor_for(pid, at), note, [k for k, _ in r.evidence])


# ---------------------------------------------------------------- audit trail


def _sessions(
    rng: np.random.Generator, staff: pd.DataFrame, acts: list[dict], now: datetime, tz: ZoneInfo
) -> list[dict]:
    """Logins and logouts of every clinician on weekdays over SESSION_WEEKS (and on any day
    they wrote something), a record opened before each write, and the leads' Monday report."""
    now_ts = pd.Timestamp(now)
    today = now_ts.tz_localize("UTC").tz_convert(tz).date()
    days: dict[tuple[str, date], list[pd.Timestamp]] = {}
    for u in staff["username"]:
        for k in range(SESSION_WEEKS * 7, -1, -1):
            d = today - timedelta(days=k)
            if d.weekday() < 5:
                days.setdefault((u, d), [])
    for a in acts:
        days.setdefault((a["actor"], a["at"].tz_localize("UTC").tz_convert(tz).date()), []).append(a["at"])
    role = dict(zip(staff["username"], staff["role"], strict=True))
    rows = []
    for (user, d), times in sorted(days.items()):
        start, end = rng.uniform(7.75, 9.25), rng.uniform(15.5, 17.75)
        login = _at_local(d, start, tz)
        if times:
            login = min(login, min(times) - pd.Timedelta(minutes=int(rng.integers(10, 30))))
        if login >= now_ts:
            continue
        # the login form records the attempt before it checks the password, then the login
        rows.append({"at": login - pd.Timedelta(seconds=1), "actor": user, "action": "login_attempt", "detail": {}})
        rows.append({"at": login, "actor": user, "action": "login", "detail": {"role": role.get(user, "")}})
        logout = _at_local(d, end, tz)
        if times:
            logout = max(logout, max(times) + pd.Timedelta(minutes=int(rng.integers(5, 30))))
        if logout < now_ts:
            rows.append({"at": logout, "actor": user, "action": "logout", "detail": {}})
        if role.get(user) == "team_lead" and d.weekday() == 0:
            report = login + pd.Timedelta(minutes=int(rng.integers(10, 50)))
            if report < now_ts:
                rows.append(
                    {
                        "at": report,
                        "actor": user,
                        "action": "export",
                        "patient_id": None,
                        "detail": {"what": "caseload_report_html"},
                    }
                )
    for a in acts:
        opened = a["at"] - pd.Timedelta(minutes=int(rng.integers(1, 8)))
        rows.append(
            {"at": opened, "actor": a["actor"], "action": "open_record", "patient_id": a["patient_id"], "detail": {}}
        )
    return rows


def _audit_rows(acts: list[dict], sessions: list[dict]) -> list[dict]:
    """Every row in time order (the audit's ids follow its inserts), in audit.record_in's form."""
    out = []
    for a in sorted([*acts, *sessions], key=lambda a: (a["at"], a["actor"], a["action"])):
        if a["action"] not in AUDIT_ACTIONS:
            raise ValueError(f"unknown audit action {a['action']!r}")
        detail = {k: v for k, v in a["detail"].items()}
        out.append(
            {
                "occurred_at": a["at"].floor("s").to_pydatetime(),
                "actor": a["actor"],
                "action": a["action"],
                "patient_id": a.get("patient_id"),
                "detail": json.dumps(detail, sort_keys=True, default=str) if detail else None,
            }
        )
    return out
