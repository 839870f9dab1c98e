"""The GP's consultation agenda: one screen for the brief face-to-face follow-up
(issue 20, item 3; GPs valued that the programme "could add a structured agenda to
their consultations"). What happened since the last follow-up, the scores with
their bands, the reasons to talk about, the care team's last contact, and space
for what was agreed, which the follow-up form takes as its note.

Every fact comes from its one definition: "since the last follow-up" from
``followups_due`` (the due list's clock), the episode and its scores from
``patient``, the reasons from the flag engine's own judgement (``flags.evaluate``)
and clinician contact from ``facts``. Scope is checked here, in the data layer:
only the patient's GP and therapist (``MAY_VIEW``) may build it, and the printable
page is an export, built and audited only on click (dashboard.exports).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, select

from dashboard import audit, flags, i18n
from dashboard.config import Settings
from dashboard.db import platform_has
from dashboard.facts import of_own_programme
from dashboard.followups_due import after_followup, last_followups
from dashboard.i18n import N_
from dashboard.i18n import gettext as _
from dashboard.measures import INSTRUMENTS, band_label, band_words, display_score
from dashboard.outcomes import change_words, reliable_change
from dashboard.patient import (
    Patient,
    RecordRows,
    episode_responses,
    file_stem,
    find_patient_by_id,
    last_contact,
    load_page,
    summarise_instrument,
)
from dashboard.schema import modules, patients
from dashboard.scope import Viewer, patient_filter
from dashboard.timeutil import local_date, utcnow

MAY_VIEW = ("gp", "therapist")  # the patient's GP and therapist, as for the FHIR export
EXPORT_WHAT = "consultation_agenda"
#: The reasons a consultation talks about: risk and not being on track (the rest,
#: messages and reminders, are the therapist's work).
AGENDA_FLAGS = ("risk", "peer_concern", "risk_unknown", "deterioration", "not_on_track")
DENIED = N_("No such patient in your caseload.")
NOT_FOR_ROLE = N_("The consultation agenda is for the patient's GP and therapist.")


class AgendaRefused(ValueError):
    """No agenda was built; the message says why, in words for the clinician."""


@dataclass(frozen=True)
class ModuleDone:
    position: int
    title: str
    completed_at: datetime
    summary: str | None  # the platform's modules.summary (optional in the contract)


@dataclass(frozen=True)
class Score:
    """One measure now, at the last follow-up and at baseline, each with its band."""

    instrument: str
    latest: float
    latest_at: datetime
    band_latest: str | None
    baseline: float
    baseline_at: datetime
    band_baseline: str | None
    reliable_change: str  # since baseline (clinical-reference 1.6)
    at_followup: float | None  # the latest score on or before the last follow-up's day
    at_followup_at: datetime | None
    band_at_followup: str | None
    n: int

    @property
    def since_baseline(self) -> int | None:
        return display_score(self.latest) - display_score(self.baseline) if self.n > 1 else None

    @property
    def since_followup(self) -> int | None:
        if self.at_followup is None or self.at_followup_at == self.latest_at:
            return None
        return display_score(self.latest) - display_score(self.at_followup)


@dataclass(frozen=True)
class Reason:
    flag: str
    title: str
    reason: str
    since: datetime
    handled_by: str | None  # who marked it handled (None: open)
    handled_at: datetime | None


@dataclass(frozen=True)
class Agenda:
    patient: Patient
    as_of: datetime
    last_followup: date | None  # its day; None: no follow-up yet, so "since" is since enrolment
    modules: list[ModuleDone]
    latest_completed: int | None  # the highest module position completed (the form's default)
    exercises: int
    homework: int
    scores: list[Score]
    reasons: list[Reason]
    last_contact: datetime | None  # facts.clinician_contact: a clinician's message to the patient
    summaries_available: bool  # whether the platform has modules.summary


def refusal(viewer: Viewer) -> str | None:
    """Why this role may not see agendas at all, or None."""
    return None if viewer.role in MAY_VIEW else NOT_FOR_ROLE


def build(
    platform: Engine,
    state: Engine,
    viewer: Viewer,
    patient_id: int,
    now: datetime,
    settings: Settings,
    tz: ZoneInfo,
) -> Agenda:
    """The agenda of one patient the viewer may see, up to ``now``, or AgendaRefused
    (the same words whether the patient is someone else's or does not exist)."""
    patient = allowed_patient(platform, viewer, patient_id)
    rows, _summary, inputs = load_page(platform, viewer, patient, now, settings, state)
    return assemble(
        platform, viewer, patient, rows, inputs.followups, flags.evaluate(inputs, now, settings, tz), now, settings, tz
    )


def allowed_patient(platform: Engine, viewer: Viewer, patient_id: int) -> Patient:
    """The patient, if the viewer may see their agenda; else AgendaRefused."""
    if (why := refusal(viewer)) is not None:
        raise AgendaRefused(_(why))
    patient = find_patient_by_id(platform, viewer, patient_id)
    if patient is None:
        raise AgendaRefused(_(DENIED))
    return patient


def assemble(
    platform: Engine,
    viewer: Viewer,
    patient: Patient,
    rows: RecordRows,
    followups: pd.DataFrame | None,
    judged: pd.DataFrame,
    now: datetime,
    settings: Settings,
    tz: ZoneInfo,
) -> Agenda:
    """The agenda from the patient page's rows, follow-ups and judged flags at ``now``:
    the page and its agenda show one snapshot, read once."""
    patient_id = patient.patient_id
    held = last_followups(followups).get(patient_id) if followups is not None else None
    summaries, available = _summaries(platform, viewer, patient_id)
    completed = rows.modules.dropna(subset=["completed_at"])
    done = [
        ModuleDone(int(m.position), str(m.title), m.completed_at.to_pydatetime(), summaries.get(int(m.position)))
        for m in completed.sort_values("completed_at").itertuples()
        if after_followup(m.completed_at, held, tz)
    ]
    acts = rows.activity[rows.activity["occurred_at"].map(lambda t: after_followup(t, held, tz)).astype(bool)]
    return Agenda(
        patient=patient,
        as_of=now,
        last_followup=held,
        modules=done,
        latest_completed=int(completed["position"].max()) if not completed.empty else None,
        exercises=int((acts["kind"] == "exercise").sum()),
        homework=int((acts["kind"] == "homework").sum()),
        scores=_scores(patient, rows.responses, held, settings, tz),
        reasons=_reasons(platform, judged),
        last_contact=None if (contact := last_contact(rows)) is None else contact.to_pydatetime(),
        summaries_available=available,
    )


def _summaries(platform: Engine, viewer: Viewer, patient_id: int) -> tuple[dict[int, str], bool]:
    """(position -> the module's summary, whether the platform has the column)."""
    if not platform_has(platform, "modules", "summary"):
        return {}, False
    stmt = (
        select(modules.c.position, modules.c.summary)
        .select_from(modules.join(patients, of_own_programme()))
        .where(patients.c.id == patient_id, patient_filter(viewer), modules.c.summary.is_not(None))
    )
    with platform.connect() as conn:
        return {int(p): str(s) for p, s in conn.execute(stmt) if str(s).strip()}, True


def _scores(patient: Patient, scored: pd.DataFrame, held: date | None, settings: Settings, tz: ZoneInfo) -> list[Score]:
    """The programme's measure, then PHQ-9 and GAD-7 (the patient page's measures)."""
    episode = episode_responses(scored, patient.enrolled_at, patient.ended_at, settings)
    out = []
    for instrument in dict.fromkeys([patient.primary_instrument, "PHQ9", "GAD7"]):
        if instrument not in INSTRUMENTS or (s := summarise_instrument(instrument, episode)) is None:
            continue
        before = pd.DataFrame()
        if held is not None:
            mine = episode[episode["instrument"] == instrument]
            before = mine[mine["administered_at"].map(lambda t: local_date(t, tz) <= held).astype(bool)]
        at = None if before.empty else before.iloc[-1]
        out.append(
            Score(
                instrument=instrument,
                latest=s.latest,
                latest_at=s.latest_at,
                band_latest=s.band_latest,
                baseline=s.baseline,
                baseline_at=s.baseline_at,
                band_baseline=s.band_baseline,
                reliable_change=reliable_change(instrument, s.baseline, s.latest),
                at_followup=None if at is None else float(at["score"]),
                at_followup_at=None if at is None else at["administered_at"].to_pydatetime(),
                band_at_followup=None if at is None else band_label(instrument, float(at["score"])),
                n=s.n,
            )
        )
    return out


def _reasons(platform: Engine, judged: pd.DataFrame) -> list[Reason]:
    """The flag engine's reasons of AGENDA_FLAGS, most urgent first, handled ones with who and when."""
    mine = judged[judged["flag"].isin(AGENDA_FLAGS)].sort_values(["priority", "since"])
    handled = sorted({str(a) for a in mine["acked_by"].dropna()})
    names = audit.actor_labels(platform, handled) if handled else {}
    return [
        Reason(
            flag=r.flag,
            title=flags.title(r.flag),
            reason=str(r.reason),
            since=pd.Timestamp(r.since).to_pydatetime(),
            handled_by=None if pd.isna(r.acked_at) else names.get(str(r.acked_by), str(r.acked_by)),
            handled_at=None if pd.isna(r.acked_at) else pd.Timestamp(r.acked_at).to_pydatetime(),
        )
        for r in mine.itertuples()
    ]


# ---------------------------------------------------------------- words shared by the screen and the page


def since_words(a: Agenda, tz: ZoneInfo) -> str:
    if a.last_followup:
        return _("since the last follow-up on {date}").format(date=i18n.format_day_or_dash(a.last_followup, tz))
    return _("since enrolment")


def score_line(s: Score, last_followup: date | None, tz: ZoneInfo) -> tuple[str, str, str]:
    """(now, since the last follow-up, since baseline), each with its band, in words."""

    def shown(score: float, band: str | None) -> str:
        return _("{score} ({band})").format(score=display_score(score), band=band_words(band) or _("no bands"))

    now = _("{score} on {date}").format(
        score=shown(s.latest, s.band_latest), date=i18n.format_day_or_dash(s.latest_at, tz)
    )
    if last_followup is None:
        followup = _("no follow-up yet")
    elif s.at_followup is None:
        followup = _("no score by the last follow-up")
    elif s.since_followup is None:
        followup = _("no new score since {score}").format(score=shown(s.at_followup, s.band_at_followup))
    else:
        followup = _("{change} from {score}").format(
            change=f"{s.since_followup:+d}", score=shown(s.at_followup, s.band_at_followup)
        )
    if s.since_baseline is None:
        baseline = _("only a baseline so far")
    else:
        baseline = _("{change} from {score}: {reliable}").format(
            change=f"{s.since_baseline:+d}",
            score=shown(s.baseline, s.band_baseline),
            reliable=change_words(s.reliable_change),
        )
    return now, followup, baseline


def reason_words(r: Reason, tz: ZoneInfo) -> str:
    words = _("{title}: {reason}").format(title=r.title, reason=r.reason)
    if r.handled_by:
        words += " " + _("(handled by {name} on {date})").format(
            name=r.handled_by, date=i18n.format_day_or_dash(r.handled_at, tz)
        )
    return words


def contact_words(a: Agenda, tz: ZoneInfo) -> str:
    when = i18n.format_day_or_dash(a.last_contact, tz) if a.last_contact else _("no clinician message yet")
    who = a.patient.therapist or _("no therapist assigned")
    return _("{when} · therapist {name}").format(when=when, name=who)


def activity_words(a: Agenda) -> str:
    exercises = i18n.ngettext("{n} exercise", "{n} exercises", a.exercises).format(n=a.exercises)
    homework = i18n.ngettext("{n} homework task", "{n} homework tasks", a.homework).format(n=a.homework)
    return _("{exercises} and {homework}").format(exercises=exercises, homework=homework)


# ---------------------------------------------------------------- the printable page

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#222;margin:2em;max-width:800px}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left}
th{background:#f4f4f4}.small{color:#555;font-size:.85em}.risk{font-weight:600}
.agreed{border:1px solid #999;min-height:8em;padding:.5em;white-space:pre-wrap}
@media print{body{margin:0}h2{page-break-after:avoid}table{page-break-inside:avoid}}
"""


def to_html(a: Agenda, tz: ZoneInfo, agreed: str = "") -> str:
    """One self-contained page (no script, font or image from the internet: a clinic PC
    may be offline) in the run's language, named in ``<html lang>``; every platform and
    clinician text is escaped."""
    e = html.escape
    p = a.patient
    name = f"{p.code} · {p.display_name}" if p.display_name else p.code
    parts = [
        "<h1>" + e(_("Consultation agenda · {name}").format(name=name)) + "</h1>",
        "<p class=small>"
        + e(
            _("{programme} · therapist {therapist} · GP {gp} · data as of {when} ({zone})").format(
                programme=p.programme or _("no programme"),
                therapist=p.therapist or _("unassigned"),
                gp=p.gp or _("none recorded"),
                when=i18n.format_day_time(a.as_of, tz),
                zone=tz.key,
            )
        )
        + "</p>",
        "<h2>" + e(_("Modules completed {since}").format(since=since_words(a, tz))) + "</h2>",
    ]
    if a.modules:
        items = "".join(
            f"<li><b>{m.position}. {e(m.title)}</b> ("
            + e(_("completed {date}").format(date=i18n.format_day_or_dash(m.completed_at, tz)))
            + ")"
            + (f"<br>{e(m.summary)}" if m.summary else "")
            + "</li>"
            for m in a.modules
        )
        parts.append(f"<ul>{items}</ul>")
    else:
        parts.append("<p>" + e(_("None.")) + "</p>")
    parts.append(
        "<p>"
        + e(
            _("Exercises and homework {since}: {activity}.").format(
                since=since_words(a, tz), activity=activity_words(a)
            )
        )
        + "</p>"
    )
    parts.append("<h2>" + e(_("Scores")) + "</h2>")
    if a.scores:
        body = "".join(
            f"<tr><td>{e(INSTRUMENTS[s.instrument].name)}</td>"
            + "".join(f"<td>{e(cell)}</td>" for cell in score_line(s, a.last_followup, tz))
            + "</tr>"
            for s in a.scores
        )
        heads = (_("Measure"), _("Now"), _("Since the last follow-up"), _("Since baseline"))
        parts.append(
            "<table><thead><tr>"
            + "".join(f"<th>{e(h)}</th>" for h in heads)
            + f"</tr></thead><tbody>{body}</tbody></table>"
        )
    else:
        parts.append("<p>" + e(_("No valid questionnaire yet.")) + "</p>")
    parts.append("<h2>" + e(_("Risk and progress")) + "</h2>")
    if a.reasons:
        parts.append("<ul>" + "".join(f"<li class=risk>{e(reason_words(r, tz))}</li>" for r in a.reasons) + "</ul>")
    else:
        parts.append("<p>" + e(_("No risk answer, deterioration or not-on-track reason.")) + "</p>")
    parts.append("<p>" + e(_("Last clinician contact: {contact}.").format(contact=contact_words(a, tz))) + "</p>")
    parts.append("<h2>" + e(_("What we agreed")) + f"</h2><div class=agreed>{e(agreed)}</div>")
    title = e(_("Consultation agenda · {name}").format(name=p.code))
    return (
        f"<!doctype html><html lang={html_lang()}><head><meta charset=utf-8><title>{title}"
        f"</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>"
    )


def html_lang() -> str:
    """The run's language as an HTML language tag (``fr-CA``; the pseudo-locale is English)."""
    code = i18n.current_language()
    return (i18n.SOURCE if code == i18n.PSEUDO else code).replace("_", "-")


def file_name(patient: Patient) -> str:
    return f"agenda-{file_stem(patient)}.html"


def export_html(
    platform: Engine,
    state: Engine,
    viewer: Viewer,
    patient_id: int,
    now: datetime,
    settings: Settings,
    tz: ZoneInfo,
    agreed: str = "",
) -> str:
    """The printable page, audited as an export of this patient; a refusal is audited
    as ``denied`` (naming the requested patient, so their lead sees it) and raised."""
    try:
        agenda = build(platform, state, viewer, patient_id, now, settings, tz)
    except AgendaRefused as refused:
        audit.record(state, viewer.username, "denied", patient_id, export=EXPORT_WHAT, reason=str(refused))
        raise
    page = to_html(agenda, tz, agreed)
    audit.record(state, viewer.username, "export", patient_id, what=EXPORT_WHAT, format="html")
    return page


def audited_download(
    platform: Engine,
    state: Engine,
    viewer: Viewer,
    patient_id: int,
    settings: Settings,
    tz: ZoneInfo,
    agreed: str = "",
) -> Callable[[], bytes]:
    """The ``data`` callable of the download button: built and audited only on click, in
    the language of the run that drew the button (dashboard.exports)."""
    code = i18n.current_language()

    def on_click() -> bytes:
        with i18n.language(code):
            return export_html(platform, state, viewer, patient_id, utcnow(), settings, tz, agreed).encode()

    return on_click
