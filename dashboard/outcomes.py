"""Per-patient outcomes: reliable change per instrument and the NHS Talking
Therapies paired status of PHQ-9 with the anxiety measure: GAD-7, or the
anxiety-disorder-specific measure (ADSM) of the programme's problem descriptor
where the service configured its caseness and reliable change
(clinical-reference.md sections 1.6, 2.3, 3.2, 3.3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import pandas as pd

from dashboard.config import NO_DESCRIPTOR, Settings
from dashboard.i18n import N_
from dashboard.i18n import gettext as _
from dashboard.instruments import Instrument
from dashboard.measures import INSTRUMENTS

DEFAULT_ANXIETY = "GAD7"  # clinical-reference 3.3: the anxiety measure, and the ADSM's back-up

When = TypeVar("When", datetime, pd.Timestamp, pd.Series)  # one date, or a column of them


def episode_window(
    enrolled_at: When | None, ended_at: When | None, settings: Settings
) -> tuple[When | None, When | None]:
    """The episode of care whose first and last valid scores are the baseline and the
    outcome (clinical-reference 3.1): from ``baseline_window_days`` before enrolment to the
    end, both inclusive; None where the record has no such date (an open episode has no end).
    The one definition behind the patient page, the Caseload, the GP agenda and the peer
    supporter's page; scores after the end are follow-up, never the episode's outcome."""
    start = None if enrolled_at is None else enrolled_at - timedelta(days=float(settings.baseline_window_days))
    return start, ended_at


def follow_up_window(ended_at: When | None, settings: Settings) -> tuple[When, When] | None:
    """The post-treatment follow-up window (issue 20): ``follow_up_from_weeks`` to
    ``follow_up_to_weeks`` after the episode ended, both inclusive; None before it ended."""
    if ended_at is None:
        return None
    return (
        ended_at + timedelta(weeks=float(settings.follow_up_from_weeks)),
        ended_at + timedelta(weeks=float(settings.follow_up_to_weeks)),
    )


def weeks_after(at: datetime | pd.Timestamp, ended_at: datetime | pd.Timestamp) -> int:
    """Whole weeks from the episode end: how the chart, the follow-up table and a risk
    answer's reason name a score after it ("13 weeks after end")."""
    return int((pd.Timestamp(at) - pd.Timestamp(ended_at)) // pd.Timedelta(weeks=1))


# Codes compared by the rules, English; shown through ``change_words``.
IMPROVED, NO_CHANGE, DETERIORATED, NO_CRITERION, NOT_A_CHANGE_MEASURE = (
    N_("reliable improvement"),
    N_("no reliable change"),
    N_("reliable deterioration"),
    N_("no reliable-change criterion"),
    N_("not a change measure: zone transitions are reported"),
)


def change_words(code: str) -> str:
    """A ``reliable_change`` result in the run's language."""
    return _(code)


def reliable_change(instrument: str, baseline: float, latest: float) -> str:
    """Change is latest - baseline; a decrease of at least the criterion is improvement.
    AUDIT is not a change instrument (clinical-reference 4): its zones are compared instead."""
    inst = INSTRUMENTS[instrument]
    if not inst.change_instrument:
        return NOT_A_CHANGE_MEASURE
    criterion = inst.reliable_change
    if criterion is None:
        return NO_CRITERION
    change = latest - baseline
    if change <= -criterion:
        return IMPROVED
    if change >= criterion:
        return DETERIORATED
    return NO_CHANGE


def at_caseness(instrument: str, score: float) -> bool | None:
    """None where the instrument has no cut-off (PDSS): say so, never guess."""
    cut = INSTRUMENTS[instrument].caseness
    return None if cut is None else score >= cut


@dataclass(frozen=True)
class AnxietyMeasure:
    """The anxiety measure of the NHS pair with the values its outcome uses."""

    code: str
    name: str
    caseness: float
    reliable_change: float
    source: str | None = None  # where an ADSM's values come from (None: GAD-7's, clinical-reference 2.2-2.3)


def gad7() -> AnxietyMeasure:
    g = INSTRUMENTS[DEFAULT_ANXIETY]
    assert g.caseness is not None and g.reliable_change is not None
    return AnxietyMeasure(g.code, g.name, g.caseness, g.reliable_change)


def adsm(inst: Instrument | None) -> AnxietyMeasure | None:
    """The instrument as an ADSM, when the service configured its caseness (and, as the
    registry requires with it, a reliable-change criterion); None otherwise."""
    if inst is None or inst.adsm_caseness is None or inst.reliable_change is None:
        return None
    return AnxietyMeasure(inst.code, inst.name, inst.adsm_caseness, inst.reliable_change, inst.adsm_source)


@dataclass(frozen=True)
class AnxietyPlan:
    """A programme's anxiety measure (clinical-reference 3.3): its problem descriptor, the
    measure the reference (or the service) names for it, and the one the outcome uses."""

    descriptor: str
    named: str  # the instrument code the descriptor names
    measure: AnxietyMeasure  # the ADSM when configured, else GAD-7
    why_gad7: str | None = None  # why a named ADSM is not used (None: used, or GAD-7 is named)

    @property
    def uses_adsm(self) -> bool:
        return self.measure.code != DEFAULT_ANXIETY


def anxiety_plan(
    programme_code: str | None, settings: Settings, instruments: Mapping[str, Instrument] = INSTRUMENTS
) -> AnxietyPlan:
    """The anxiety measure a programme's paired outcomes use (settings
    ``programme_problem_descriptors`` and ``anxiety_measure_by_descriptor``)."""
    descriptor = settings.programme_problem_descriptors.get(programme_code or "", NO_DESCRIPTOR)
    named = settings.anxiety_measure_by_descriptor.get(descriptor, DEFAULT_ANXIETY)
    if named == DEFAULT_ANXIETY:
        return AnxietyPlan(descriptor, named, gad7())
    inst = instruments.get(named)
    measure = adsm(inst)
    if measure is not None:
        return AnxietyPlan(descriptor, named, measure)
    why = (
        _("{code} is not in the instrument registry").format(code=named)
        if inst is None
        else _("{name} has no ADSM caseness and reliable change configured").format(name=inst.name)
    )
    return AnxietyPlan(descriptor, named, gad7(), why)


@dataclass(frozen=True)
class NhsOutcome:
    case_start: bool
    case_end: bool
    recovery: bool | None  # None: not at caseness at the start, so undefined
    reliable_improvement: bool
    reliable_recovery: bool | None
    reliable_deterioration: bool
    no_reliable_change: bool


def nhs_outcome(
    phq_first: float,
    phq_last: float,
    anx_first: float,
    anx_last: float,
    deterioration_requires_no_improvement: bool = False,
    anxiety: AnxietyMeasure | None = None,
) -> NhsOutcome:
    """The reference implementation of section 3.2; the anxiety measure is GAD-7 unless
    ``anxiety`` names the ADSM that applies (3.3)."""
    phq, anx = INSTRUMENTS["PHQ9"], anxiety or gad7()
    assert phq.caseness is not None and phq.reliable_change is not None
    d_phq, d_anx = phq_last - phq_first, anx_last - anx_first
    case_start = phq_first >= phq.caseness or anx_first >= anx.caseness
    case_end = phq_last >= phq.caseness or anx_last >= anx.caseness
    improved_any = d_phq <= -phq.reliable_change or d_anx <= -anx.reliable_change
    deteriorated_any = d_phq >= phq.reliable_change or d_anx >= anx.reliable_change
    recovery = (case_start and not case_end) if case_start else None
    reliable_improvement = improved_any and not deteriorated_any
    reliable_deterioration = deteriorated_any and not (deterioration_requires_no_improvement and improved_any)
    return NhsOutcome(
        case_start=case_start,
        case_end=case_end,
        recovery=recovery,
        reliable_improvement=reliable_improvement,
        reliable_recovery=(recovery and reliable_improvement) if case_start else None,
        reliable_deterioration=reliable_deterioration,
        no_reliable_change=not improved_any and not deteriorated_any,
    )


Pair = tuple[float, float]  # the first and last valid scores of an instrument answered at least twice (3.1)


@dataclass(frozen=True)
class PairedOutcome:
    """One course's NHS paired status and the anxiety measure it used."""

    anxiety: AnxietyMeasure
    instead_of: AnxietyMeasure | None  # the programme's ADSM that GAD-7 stood in for (no pair), else None
    outcome: NhsOutcome

    @property
    def measures_text(self) -> str:
        """ "PHQ-9 and SPIN", or "PHQ-9 and GAD-7 (back-up: no SPIN pair)"."""
        text = _("{depression} and {anxiety}").format(depression=INSTRUMENTS["PHQ9"].name, anxiety=self.anxiety.name)
        if self.instead_of is not None:
            text += _(" (back-up: no {name} pair)").format(name=self.instead_of.name)
        return text


def planned_measures_text(plan: AnxietyPlan) -> str:
    """The pair a programme's courses use, before any is paired: "PHQ-9 + GAD-7", or
    "PHQ-9 + SPIN, GAD-7 the back-up"."""
    text = f"{INSTRUMENTS['PHQ9'].name} + {plan.measure.name}"
    return text + (_(", {name} the back-up").format(name=INSTRUMENTS[DEFAULT_ANXIETY].name) if plan.uses_adsm else "")


def paired_outcome(plan: AnxietyPlan, pairs: Mapping[str, Pair], strict: bool) -> PairedOutcome | None:
    """The course's paired status from its pairs by instrument code: PHQ-9 with the
    programme's ADSM where configured and paired, else with GAD-7, the ADSM's back-up
    (clinical-reference 3.3). None without a PHQ-9 pair or any anxiety pair. The one
    rule behind the Caseload's outcomes and the patient page's status."""
    phq = pairs.get("PHQ9")
    if phq is None:
        return None
    default = gad7()
    for measure in (plan.measure, default) if plan.uses_adsm else (default,):
        anx = pairs.get(measure.code)
        if anx is not None:
            instead_of = plan.measure if plan.uses_adsm and measure is default else None
            return PairedOutcome(measure, instead_of, nhs_outcome(*phq, *anx, strict, measure))
    return None


@dataclass(frozen=True)
class Maintained:
    """Whether an end-of-treatment recovery or reliable improvement held at follow-up: the
    3.2 rule re-run with the follow-up scores in place of the last ones (issue 20). Each
    verdict is None where there was nothing to maintain (no recovery, no reliable improvement
    at the end) or it cannot be assessed (``why`` says which measure is missing)."""

    end: PairedOutcome | None
    at_follow_up: NhsOutcome | None  # None: not assessable
    why: str | None = None  # why not assessable

    @property
    def assessable(self) -> bool:
        return self.at_follow_up is not None

    @property
    def recovery(self) -> bool | None:
        if self.at_follow_up is None or self.end is None or not self.end.outcome.recovery:
            return None
        return bool(self.at_follow_up.recovery)

    @property
    def reliable_improvement(self) -> bool | None:
        if self.at_follow_up is None or self.end is None or not self.end.outcome.reliable_improvement:
            return None
        return self.at_follow_up.reliable_improvement


def maintained(
    plan: AnxietyPlan, pairs: Mapping[str, Pair], follow_up: Mapping[str, float], strict: bool
) -> Maintained:
    """The end-of-treatment paired outcome from the episode's ``pairs`` (paired_outcome), and
    the same rule with the latest follow-up score of each measure (by instrument code) in
    place of the last: both measures of the end's pair, PHQ-9 and the anxiety measure it used,
    must have a follow-up score, else "not assessable"."""
    end = paired_outcome(plan, pairs, strict)
    if end is None:
        return Maintained(None, None, _("no paired end-of-treatment outcome"))
    phq, anx = INSTRUMENTS["PHQ9"], end.anxiety
    missing = [name for code, name in (("PHQ9", phq.name), (anx.code, anx.name)) if code not in follow_up]
    if missing:
        return Maintained(end, None, _("no {measures} score at follow-up").format(measures=_(" or ").join(missing)))
    outcome = nhs_outcome(pairs["PHQ9"][0], follow_up["PHQ9"], pairs[anx.code][0], follow_up[anx.code], strict, anx)
    return Maintained(end, outcome)


def maintained_words(m: Maintained) -> str:
    """ "recovery maintained, reliable improvement maintained", or why not assessable."""
    if not m.assessable:
        return _("not assessable: {why}").format(why=m.why)
    words = []
    for said, end_had, held in (
        (
            (N_("no recovery at the end to maintain"), N_("recovery maintained"), N_("recovery not maintained")),
            m.end is not None and m.end.outcome.recovery,
            m.recovery,
        ),
        (
            (
                N_("no reliable improvement at the end to maintain"),
                N_("reliable improvement maintained"),
                N_("reliable improvement not maintained"),
            ),
            m.end is not None and m.end.outcome.reliable_improvement,
            m.reliable_improvement,
        ),
    ):
        none, kept, lost = said
        words.append(_(none if not end_had else kept if held else lost))
    return ", ".join(words)
