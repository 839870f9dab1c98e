"""Per-patient outcomes: reliable change per instrument and the NHS Talking
Therapies paired PHQ-9 + GAD-7 status (clinical-reference.md sections 1.6, 2.3, 3.2)."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.measures import INSTRUMENTS

IMPROVED, NO_CHANGE, DETERIORATED, NO_CRITERION, NOT_A_CHANGE_MEASURE = (
    "reliable improvement",
    "no reliable change",
    "reliable deterioration",
    "no reliable-change criterion",
    "not a change measure: zone transitions are reported",
)


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
) -> NhsOutcome:
    """The reference implementation of section 3.2, with GAD-7 as the anxiety measure."""
    phq, gad = INSTRUMENTS["PHQ9"], INSTRUMENTS["GAD7"]
    d_phq, d_anx = phq_last - phq_first, anx_last - anx_first
    case_start = phq_first >= phq.caseness or anx_first >= gad.caseness
    case_end = phq_last >= phq.caseness or anx_last >= gad.caseness
    improved_any = d_phq <= -phq.reliable_change or d_anx <= -gad.reliable_change
    deteriorated_any = d_phq >= phq.reliable_change or d_anx >= gad.reliable_change
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
