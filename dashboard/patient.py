"""One patient's record: the rows behind the patient page, read in a handful of
small per-patient queries, and the pure functions that summarise them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine, and_, bindparam, select
from sqlalchemy.orm import aliased

from dashboard import flags
from dashboard import my_patients as my_patients_data
from dashboard.config import Settings
from dashboard.facts import from_peer_supporter, is_clinician_contact, of_own_programme
from dashboard.frames import read_frame
from dashboard.i18n import gettext as _
from dashboard.measures import INSTRUMENTS, band_words, display_score, reliable_change_index
from dashboard.outcomes import (
    NO_CRITERION,
    AnxietyPlan,
    Maintained,
    PairedOutcome,
    episode_window,
    follow_up_window,
    maintained,
    paired_outcome,
    reliable_change,
    weeks_after,
)
from dashboard.responses import read_scored, read_subscales, responses_query
from dashboard.schema import activity, clinicians, messages, module_progress, modules, patients, programs, responses
from dashboard.scope import Viewer, patient_filter, role_filter, scope_params
from dashboard.statements import NOW, PATIENT_ID, prepared
from dashboard.timeutil import DAY
from dashboard.trajectory import (
    ESCALATION_WORDS,
    Scale,
    Transition,
    bands_of,
    moved,
    scale_of,
    series_rows,
    zone_index,
    zone_transitions,
)


@dataclass(frozen=True)
class Patient:
    patient_id: int
    code: str
    display_name: str | None
    programme: str | None
    programme_code: str | None  # the key of the programme settings (programme_problem_descriptors)
    primary_instrument: str | None
    therapist: str | None
    gp: str | None
    enrolled_at: datetime | None  # None: the platform row lacks it (bad data); the treatment clock is unknown
    status: str | None
    ended_at: datetime | None


def file_stem(patient: Patient) -> str:
    """A file name's stem for the patient's exports: the code where it is safe in a
    path, else the record id."""
    code = patient.code or ""
    safe = code and all(c.isascii() and (c.isalnum() or c in "-_") for c in code)
    return code if safe else f"patient-{patient.patient_id}"


def find_patient(engine: Engine, viewer: Viewer, code: str, at: datetime | None = None) -> Patient | None:
    """The patient with this code if the viewer may see them and the code names one
    record. None both when the code does not exist and when it is out of scope: the
    page must not tell them apart. A code two records share (a platform view need
    not enforce UNIQUE) names nobody: use ``patients_with_code``. ``at``: the moment
    scope is judged at (a peer supporter's care_team rows), the wall clock by default."""
    found = patients_with_code(engine, viewer, code, at)
    return found[0] if len(found) == 1 else None


def patients_with_code(engine: Engine, viewer: Viewer, code: str, at: datetime | None = None) -> list[Patient]:
    """Every record in the viewer's scope with this code, by id (more than one is the
    ``code_duplicate`` data-quality problem)."""
    with engine.connect() as conn:
        rows = conn.execute(_find_statement(viewer.role, "code"), {"key": code, **scope_params(viewer, at)}).all()
    return sorted((Patient(*row) for row in rows), key=lambda p: p.patient_id)


def find_patient_by_id(engine: Engine, viewer: Viewer, patient_id: int, at: datetime | None = None) -> Patient | None:
    return _find(engine, viewer, "id", patient_id, at)


@prepared
def _find_statement(role: str, key: str):
    therapist, gp = aliased(clinicians), aliased(clinicians)
    return (
        select(
            patients.c.id,
            patients.c.code,
            patients.c.display_name,
            programs.c.name,
            programs.c.code,
            programs.c.primary_instrument,
            therapist.c.display_name,
            gp.c.display_name,
            patients.c.enrolled_at,
            patients.c.status,
            patients.c.ended_at,
        )
        .select_from(
            patients.outerjoin(programs, programs.c.id == patients.c.program_id)
            .outerjoin(therapist, therapist.c.id == patients.c.therapist_id)
            .outerjoin(gp, gp.c.id == patients.c.gp_id)
        )
        .where(patients.c[key] == bindparam("key"), role_filter(role))
    )


def _find(engine: Engine, viewer: Viewer, key: str, value, at: datetime | None) -> Patient | None:
    with engine.connect() as conn:
        row = conn.execute(_find_statement(viewer.role, key), {"key": value, **scope_params(viewer, at)}).first()
    return None if row is None else Patient(*row)


def programme_modules(engine: Engine, viewer: Viewer, patient_id: int) -> list[tuple[int, str]]:
    """(position, title) of the modules of this patient's programme, if in scope."""
    stmt = (
        select(modules.c.position, modules.c.title)
        .select_from(modules.join(patients, of_own_programme()))
        .where(patients.c.id == patient_id, patient_filter(viewer))
        .order_by(modules.c.position)
    )
    with engine.connect() as conn:
        return [(int(p), str(t)) for p, t in conn.execute(stmt)]


@dataclass(frozen=True)
class RecordRows:
    responses: pd.DataFrame  # scored, all instruments
    subscales: pd.DataFrame  # response_id, instrument, subscale, score (measures.score_subscales)
    modules: pd.DataFrame  # position, title, started_at, completed_at (all modules of the programme)
    activity: pd.DataFrame  # occurred_at, kind
    messages: pd.DataFrame  # sent_at, direction, clinician_id


@prepared
def _record_statements(role: str):
    """(responses, modules, activity, messages) of one patient; every one repeats the scope filter."""
    in_scope = select(patients.c.id).where(patients.c.id == PATIENT_ID, role_filter(role))
    mods = (
        select(modules.c.position, modules.c.title, module_progress.c.started_at, module_progress.c.completed_at)
        .select_from(
            patients.join(modules, of_own_programme()).outerjoin(
                module_progress,
                and_(
                    module_progress.c.module_id == modules.c.id,
                    module_progress.c.patient_id == patients.c.id,
                    module_progress.c.started_at <= NOW,
                ),
            )
        )
        .where(patients.c.id.in_(in_scope))
        .order_by(modules.c.position)
    )
    acts = (
        select(activity.c.occurred_at, activity.c.kind)
        .where(activity.c.patient_id.in_(in_scope), activity.c.occurred_at <= NOW)
        .order_by(activity.c.occurred_at)
    )
    msgs = (
        select(
            messages.c.sent_at,
            messages.c.direction,
            messages.c.clinician_id,
            from_peer_supporter(messages).label("from_peer"),
        )
        .where(messages.c.patient_id.in_(in_scope), messages.c.sent_at <= NOW)
        .order_by(messages.c.sent_at)
    )
    return responses_query(in_scope), mods, acts, msgs


def load_record_rows(engine: Engine, viewer: Viewer, patient: Patient, now: datetime, settings: Settings) -> RecordRows:
    """Everything the page draws, up to ``now``."""
    responses_stmt, mods_stmt, acts_stmt, msgs_stmt = _record_statements(viewer.role)
    at = {"now": now, **scope_params(viewer, now), "patient_id": patient.patient_id}
    with engine.connect() as conn:
        scored = read_scored(conn, responses_stmt, at, settings)
        mods = read_frame(conn, mods_stmt, at, ("started_at", "completed_at"))
        acts = read_frame(conn, acts_stmt, at, ("occurred_at",))
        msgs = read_frame(conn, msgs_stmt, at, ("sent_at",))
        subscales = _read_subscales(conn, scored)
    # A completion after `now` has not happened yet.
    mods.loc[mods["completed_at"] > pd.Timestamp(now), "completed_at"] = pd.NaT
    # A timestamp in another format reads as missing (schema.ContractTimestamp): such a
    # row cannot be placed in time, so it is left out (dashboard.quality reports it).
    return RecordRows(scored, subscales, mods, acts.dropna(subset=["occurred_at"]), msgs.dropna(subset=["sent_at"]))


def _read_subscales(conn, scored: pd.DataFrame) -> pd.DataFrame:
    """Subscale scores of the responses already read (so already scoped to the viewer),
    queried only when one of them is of an instrument with subscales."""
    with_subscales = [code for code, inst in INSTRUMENTS.items() if inst.subscales]
    ids = [int(i) for i in scored.loc[scored["instrument"].isin(with_subscales), "response_id"]]
    if not ids:
        return pd.DataFrame({"response_id": [], "instrument": [], "subscale": [], "score": []})
    return read_subscales(conn, select(responses.c.id).where(responses.c.id.in_(ids)))


def load_page(
    engine: Engine, viewer: Viewer, patient: Patient, now: datetime, settings: Settings, state: Engine | None = None
) -> tuple[RecordRows, pd.DataFrame, flags.FlagInputs]:
    """(rows, list row, flag inputs) for the patient page: the questionnaires are
    read and scored once and the patient's facts once, though three views use them."""
    rows = load_record_rows(engine, viewer, patient, now, settings)
    inputs = flags.load_inputs(engine, viewer, now, settings, patient.patient_id, state, scored=rows.responses)
    primary = rows.responses[rows.responses["instrument"] == patient.primary_instrument]
    return rows, my_patients_data.list_rows(inputs.patients, primary, now), inputs


# ---------------------------------------------------------------- outcomes


def episode_responses(
    scored: pd.DataFrame, enrolled_at: datetime | None, ended_at: datetime | None, settings: Settings
) -> pd.DataFrame:
    """Valid responses of the episode (outcomes.episode_window): the baseline window before
    enrolment to the end; without an enrolment date every valid response up to the end, and
    without an end (an open episode) every one from the start: the best the record allows."""
    valid = scored[scored["valid"]]
    start, end = episode_window(_stamp(enrolled_at), _stamp(ended_at), settings)
    if start is not None:
        valid = valid[valid["administered_at"] >= start]
    if end is not None:
        valid = valid[valid["administered_at"] <= end]
    return valid.sort_values(["administered_at", "response_id"])


def follow_up_responses(scored: pd.DataFrame, ended_at: datetime | None, settings: Settings) -> pd.DataFrame:
    """Valid responses in the follow-up window after the episode ended (outcomes.follow_up_window),
    oldest first; none while the episode is open."""
    window = follow_up_window(_stamp(ended_at), settings)
    valid = scored[scored["valid"]]
    if window is None:
        return valid.iloc[:0]
    at = valid["administered_at"]
    return valid[(at >= window[0]) & (at <= window[1])].sort_values(["administered_at", "response_id"])


def _stamp(ts: datetime | None) -> pd.Timestamp | None:
    return None if ts is None or pd.isna(ts) else pd.Timestamp(ts)


@dataclass(frozen=True)
class InstrumentSummary:
    """One trajectory's first and last valid scores and what the reference says of them."""

    instrument: str
    n: int
    baseline: float
    baseline_at: datetime
    latest: float
    latest_at: datetime
    band_baseline: str | None  # AUDIT: the zone, with the item rule applied
    band_latest: str | None
    reliable_change: str
    caseness_baseline: bool | None  # at or above the cut-off; None: no cut-off
    caseness_latest: bool | None
    status: str  # recovery (NHS caseness), the cut-off, response/remission (ISI), zones (AUDIT), or why none
    scale: Scale
    escalated_baseline: bool = False
    escalated_latest: bool = False
    rci: float | None = None  # Jacobson-Truax RCI where the service configured it (1.7)
    transitions: tuple[Transition, ...] = ()  # AUDIT's zone transitions, oldest first

    @property
    def change(self) -> float:
        return self.latest - self.baseline

    @property
    def most_severe(self) -> bool:
        """The latest score is in the scale's highest band (AUDIT: zone IV, the item rule applied)."""
        return bool(self.scale.bands) and self.band_latest == self.scale.bands[-1].label

    @property
    def change_words(self) -> str:
        """The change as the page shows it: points (with a configured RCI beside them, 1.7),
        or on AUDIT the zones moved, never a score change ("not a change instrument", 4)."""
        if self.n < 2:
            return "\u2014"
        if self.scale.zones:
            return moved(_zone_steps(self.scale, self.band_baseline, self.band_latest))
        return f"{self.change:+.0f}" + (f" (RCI {self.rci:+.2f})" if self.rci is not None else "")

    def shown(self, which: str) -> str:
        """ "14 (moderate)", "7 (zone II hazardous, one zone up by the item rule)", "12 (no bands)"."""
        score, band, up = (
            (self.baseline, self.band_baseline, self.escalated_baseline)
            if which == "baseline"
            else (self.latest, self.band_latest, self.escalated_latest)
        )
        if band is None and self.scale.not_applicable:
            return _("{score} (no bands, {sum})").format(score=display_score(score), sum=self.scale.sum_name)
        return score_in_band(score, band, up)


def score_in_band(score: float, band: str | None, escalated: bool) -> str:
    """ "14 (moderate)", "7 (zone II hazardous, one zone up by the item rule)", "12 (no bands)",
    in the run's language."""
    if band is None:
        return _("{score} (no bands)").format(score=display_score(score))
    words = str(band_words(band)) + (", " + _(ESCALATION_WORDS) if escalated else "")
    return _("{score} ({band})").format(score=display_score(score), band=words)


# The cut-off a registry entry labels "caseness" is NHS Talking Therapies caseness
# (clinical-reference 3.1: PHQ-9 >= 10, GAD-7 >= 8), below which a patient has recovered;
# any other cut-off (OCI-R >= 21 likely OCD, SPIN >= 19) is reported as crossed or not.
NHS_CASENESS = "caseness"


def summarise_instrument(
    instrument: str, episode: pd.DataFrame, not_applicable: bool = False
) -> InstrumentSummary | None:
    """The summary of one trajectory: ``instrument``'s total, or with ``not_applicable``
    its sum without the not-applicable item (WSAS work: the 4-item sum, no bands)."""
    scale = scale_of(instrument, not_applicable)
    rows = series_rows(episode, scale)
    if rows.empty:
        return None
    first, last = rows.iloc[0], rows.iloc[-1]
    baseline, latest = float(first["score"]), float(last["score"])
    bands = bands_of(scale, rows)
    up = [bool(e) for e in rows["escalated"]] if "escalated" in rows else [False] * len(rows)
    case_base, case_now = (
        (None, None) if scale.cut_off is None else (baseline >= scale.cut_off, latest >= scale.cut_off)
    )
    change = NO_CRITERION if scale.not_applicable else reliable_change(instrument, baseline, latest)
    transitions = tuple(zone_transitions(scale, rows))
    return InstrumentSummary(
        instrument=instrument,
        n=len(rows),
        baseline=baseline,
        baseline_at=first["administered_at"].to_pydatetime(),
        latest=latest,
        latest_at=last["administered_at"].to_pydatetime(),
        band_baseline=bands[0],
        band_latest=bands[-1],
        reliable_change=change,
        caseness_baseline=case_base,
        caseness_latest=case_now,
        status=_status(scale, baseline, latest, bands[0], bands[-1], case_base, case_now, len(rows)),
        scale=scale,
        escalated_baseline=up[0],
        escalated_latest=up[-1],
        rci=None if scale.not_applicable else reliable_change_index(instrument, baseline, latest),
        transitions=transitions,
    )


def summaries(episode: pd.DataFrame, scales: list[Scale]) -> list[InstrumentSummary]:
    """One summary per trajectory, in the order of ``scales`` (trajectory.scales)."""
    found = (summarise_instrument(s.instrument, episode, s.not_applicable) for s in scales)
    return [s for s in found if s is not None]


def _zone_steps(scale: Scale, before: str | None, after: str | None) -> int:
    return (zone_index(scale, after) or 0) - (zone_index(scale, before) or 0)


def current(outcomes: list[InstrumentSummary]) -> list[InstrumentSummary]:
    """The summaries that hold their instrument's latest response (WSAS: the full total or
    the 4-item sum, whichever came last), so a warning is never about a superseded score."""
    latest: dict[str, datetime] = {}
    for s in outcomes:
        latest[s.instrument] = max(latest.get(s.instrument, s.latest_at), s.latest_at)
    return [s for s in outcomes if s.latest_at == latest[s.instrument]]


def _status(
    scale: Scale,
    baseline: float,
    latest: float,
    band_base: str | None,
    band_now: str | None,
    case_base: bool | None,
    case_now: bool | None,
    n: int,
) -> str:
    inst = INSTRUMENTS[scale.instrument]
    if n < 2:
        return _("only a baseline so far")
    if scale.zones:  # AUDIT: zone transitions, not reliable change (clinical-reference 4)
        return _("{base} at baseline, {now} now ({moved})").format(
            base=band_words(band_base), now=band_words(band_now), moved=moved(_zone_steps(scale, band_base, band_now))
        )
    if scale.not_applicable:
        return _("no cut-off or recovery criterion for the {sum}").format(sum=scale.sum_name)
    if inst.response_decrease is not None:  # ISI: response and remission (clinical-reference 4, [S28])
        response = baseline - latest >= inst.response_decrease
        remission = latest < inst.remission_below
        return _("{response} (decrease of {decrease} or more); {remission} (below {below})").format(
            response=_("response") if response else _("no response"),
            decrease=inst.response_decrease,
            remission=_("remission") if remission else _("no remission"),
            below=inst.remission_below,
        )
    if case_base is None:
        return _("no cut-off or recovery criterion")  # the Criterion column says a service may configure one
    if scale.cut_off_label == NHS_CASENESS:
        if not case_base:
            return _("not at caseness at baseline: recovery does not apply")
        return _("recovered (below caseness now)") if not case_now else _("not recovered (still at caseness)")
    cut = (
        _("the cut-off {value} ({label})").format(value=f"{scale.cut_off:g}", label=band_words(scale.cut_off_label))
        if scale.cut_off_label
        else _("the cut-off {value}").format(value=f"{scale.cut_off:g}")
    )
    return (_("at or above {cut} at baseline") if case_base else _("below {cut} at baseline")).format(cut=cut) + (
        _(", at or above it now") if case_now else _(", below it now")
    )


def subscale_table(subscales: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """The subscale scores of the responses ``rows`` (one instrument's, newest first): their
    ``administered_at`` and one column per subscale in the registry's order, NaN where a
    subscale's items are not all answered. Empty (no columns) when the instrument has none
    in the registry (SPIN: the reference does not list their items)."""
    if rows.empty or not INSTRUMENTS[rows["instrument"].iloc[0]].subscales:
        return pd.DataFrame()
    names = [sub.name for sub in INSTRUMENTS[rows["instrument"].iloc[0]].subscales]
    ordered = rows.sort_values(["administered_at", "response_id"], ascending=False)
    scores = subscales[subscales["response_id"].isin(ordered["response_id"])]
    wide = scores.pivot_table(index="response_id", columns="subscale", values="score", aggfunc="first", dropna=False)
    wide = wide.reindex(index=ordered["response_id"], columns=names)
    return pd.concat(
        [ordered[["administered_at"]].reset_index(drop=True), wide.reset_index(drop=True).astype(float)], axis=1
    )


def nhs_status(episode: pd.DataFrame, plan: AnxietyPlan, settings: Settings) -> PairedOutcome | None:
    """Paired status of PHQ-9 with the programme's anxiety measure (``plan``: the ADSM
    where configured, GAD-7 its back-up, 3.3), for a patient with both paired (3.2): the
    Caseload's rule, so the page and the Caseload agree about a patient."""
    pairs = {}
    for code in dict.fromkeys(("PHQ9", plan.measure.code, "GAD7")):
        s = summarise_instrument(code, episode)
        if s is not None and s.n >= 2:
            pairs[code] = (s.baseline, s.latest)
    return paired_outcome(plan, pairs, bool(settings.deterioration_requires_no_improvement))


@dataclass(frozen=True)
class FollowUpScore:
    """One trajectory's latest valid score in the follow-up window, against the episode's baseline."""

    summary: InstrumentSummary  # the episode's (baseline, end of treatment)
    score: float
    at: datetime
    weeks_after_end: int
    band: str | None
    escalated: bool
    reliable_change: str

    @property
    def change_words(self) -> str:
        s = self.summary
        if s.scale.zones:
            return moved(_zone_steps(s.scale, s.band_baseline, self.band))
        return f"{self.score - s.baseline:+.0f}"

    def shown(self) -> str:
        """ "9 (mild)", as InstrumentSummary.shown."""
        return score_in_band(self.score, self.band, self.escalated)


def follow_up_scores(
    outcomes: list[InstrumentSummary], follow_up: pd.DataFrame, ended_at: datetime | None
) -> list[FollowUpScore]:
    """The latest follow-up score of each trajectory with an episode summary (``follow_up``:
    follow_up_responses), its band and reliable change since the episode's baseline by the
    same criterion as the end-of-treatment column."""
    out = []
    for s in outcomes:
        rows = series_rows(follow_up, s.scale)
        if rows.empty or ended_at is None:
            continue
        last = rows.iloc[-1]
        score = float(last["score"])
        out.append(
            FollowUpScore(
                summary=s,
                score=score,
                at=last["administered_at"].to_pydatetime(),
                weeks_after_end=weeks_after(last["administered_at"], ended_at),
                band=bands_of(s.scale, rows)[-1],
                escalated=bool(last["escalated"]) if "escalated" in rows else False,
                reliable_change=NO_CRITERION
                if s.scale.not_applicable
                else reliable_change(s.instrument, s.baseline, score),
            )
        )
    return out


def follow_up_outcome(
    episode: pd.DataFrame, follow_up: pd.DataFrame, plan: AnxietyPlan, settings: Settings
) -> Maintained:
    """Whether the end-of-treatment paired outcome held at follow-up (outcomes.maintained),
    from the same pairs as nhs_status and each measure's latest follow-up score."""
    pairs, latest = {}, {}
    for code in dict.fromkeys(("PHQ9", plan.measure.code, "GAD7")):
        s = summarise_instrument(code, episode)
        if s is not None and s.n >= 2:
            pairs[code] = (s.baseline, s.latest)
        f = summarise_instrument(code, follow_up)
        if f is not None:
            latest[code] = f.latest
    return maintained(plan, pairs, latest, bool(settings.deterioration_requires_no_improvement))


# ---------------------------------------------------------------- modules


def module_timeline(
    mods: pd.DataFrame, enrolled_at: datetime | None, now: datetime, settings: Settings
) -> pd.DataFrame:
    """Each module with its due date (enrolment + k x pace) and state; overdue
    once ``reminder_module_overdue_days`` have passed after the due date (5.3).
    Without an enrolment date nothing is due, so nothing is overdue."""
    pace = timedelta(days=float(settings.module_pace_days))
    grace = timedelta(days=float(settings.reminder_module_overdue_days))
    out = mods.copy()
    start = pd.Timestamp(enrolled_at) if enrolled_at is not None else pd.NaT
    out["due_at"] = pd.to_datetime(
        pd.Series([start + k * pace for k in out["position"]], index=out.index, dtype=object)
    )
    done = out["completed_at"].notna()
    overdue = ~done & (pd.Timestamp(now) >= out["due_at"] + grace)
    late = done & (out["completed_at"] > out["due_at"] + grace)
    out["state"] = np.select(
        [done & late, done, overdue & out["started_at"].notna(), overdue, out["started_at"].notna()],
        ["completed late", "completed", "overdue (started)", "overdue (not started)", "in progress"],
        default="not started",
    )
    return out


def current_module(timeline: pd.DataFrame) -> int | None:
    """The lowest-position module not completed (clinical-reference 5.3 / docs/design.md)."""
    pending = timeline.loc[timeline["completed_at"].isna(), "position"]
    return None if pending.empty else int(pending.min())


# ---------------------------------------------------------------- engagement


def treatment_week(ts: pd.Series, enrolled_at: datetime | None) -> pd.Series:
    """Week w covers [7(w-1), 7w) days after enrolment; before enrolment is week 0.
    Missing (<NA>) where the time or the enrolment date is unknown."""
    if enrolled_at is None:
        return pd.Series(pd.NA, index=ts.index, dtype="Int64")
    days = (pd.to_datetime(ts) - pd.Timestamp(enrolled_at)) / DAY
    return (np.floor(days / 7) + 1).clip(lower=0).astype("Int64")


@dataclass(frozen=True)
class Engagement:
    last_clinician_contact: datetime | None
    waiting_since: datetime | None  # the patient's earliest message after the last clinician contact
    weekly: pd.DataFrame  # week, logins, exercises, from_patient, to_patient (clinician), from_peer


def last_contact(rows: RecordRows) -> pd.Timestamp | None:
    """The patient's latest clinician contact in the record, or None."""
    contact = rows.messages.loc[is_clinician_contact(rows.messages), "sent_at"]
    return contact.max() if not contact.empty else None


def engagement(rows: RecordRows, enrolled_at: datetime, now: datetime) -> Engagement:
    msgs = rows.messages
    last_contact_at = last_contact(rows)
    from_patient = msgs.loc[msgs["direction"] == "from_patient", "sent_at"]
    unanswered = from_patient[from_patient > last_contact_at] if last_contact_at is not None else from_patient
    acts = rows.activity.assign(week=treatment_week(rows.activity["occurred_at"], enrolled_at))
    current = treatment_week(pd.Series([now]), enrolled_at).iloc[0]
    weeks = range(0, 0 if pd.isna(current) else int(current) + 1)
    weekly = pd.DataFrame({"week": list(weeks)}).set_index("week")
    weekly["logins"] = acts[acts["kind"] == "login"].groupby("week").size()
    weekly["exercises"] = acts[acts["kind"].isin(["exercise", "homework"])].groupby("week").size()
    m = msgs.assign(week=treatment_week(msgs["sent_at"], enrolled_at))
    weekly["from_patient"] = m[m["direction"] == "from_patient"].groupby("week").size()
    weekly["to_patient"] = m[is_clinician_contact(msgs)].groupby("week").size()
    # peer contact is its own fact (facts.clinician_contact): counted apart, never as the clinician's
    weekly["from_peer"] = m[(m["direction"] == "to_patient") & m["from_peer"].astype(bool)].groupby("week").size()
    weekly = weekly.fillna(0).astype(int).reset_index()
    return Engagement(
        last_clinician_contact=None if last_contact_at is None else last_contact_at.to_pydatetime(),
        waiting_since=None if unanswered.empty else unanswered.min().to_pydatetime(),
        weekly=weekly,
    )
