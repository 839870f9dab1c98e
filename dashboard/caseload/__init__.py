"""The team lead's Caseload figures: adherence, drop-out by module, workload,
outcomes, GP follow-up compliance and trends for a reporting period.

Every aggregate is a GROUP BY or window function in SQL over the viewer's scope
(``scope.patient_filter``), so only small frames come back. Two figures need
per-row rules that SQL cannot state portably and are finished in pandas over
already-small inputs: NHS outcomes (per-response scoring with proration,
``measures.score_responses``, over the finished episodes only) and GP follow-up
cycles (follow-ups live in the state database, which may be another server).
Definitions follow clinical-reference.md 3 and 5.1; each figure carries its
numerator and denominator.

The package follows the page's sections: ``shared`` (filters, rates, scope), ``workload``
(headline and workload), ``adherence``, ``outcomes``, ``gp_compliance``, ``trends`` and ``page``
(the assembly), and ``tables`` (the figures as tables for people: the CSVs). Callers import
from here, the tables from ``dashboard.caseload.tables``.
"""

from __future__ import annotations

from dashboard.caseload.adherence import adherence, funnel, lapsed_patients, module_days
from dashboard.caseload.gp_compliance import followup_cycles, gp_compliance
from dashboard.caseload.outcomes import (
    NATIONAL,
    OUTCOME_COLUMNS,
    OUTCOME_LABELS,
    OUTCOME_RATES,
    finished_episodes,
    outcome_rates,
    outcome_table,
)
from dashboard.caseload.page import (
    SESSION_DEFINITIONS,
    Caseload,
    caseload,
    definitions,
    in_language,
    programme_names,
    team_name,
    therapist_names,
    with_triage_flags,
)
from dashboard.caseload.shared import UNASSIGNED_ID, Filters, Rate, period, scope_conditions
from dashboard.caseload.trends import TREND_WEEKS, quiet_weeks, weekly_trends
from dashboard.caseload.workload import (
    HEADLINE_COLUMNS,
    feedback_within,
    filtered_flags,
    headline,
    open_episode_counts,
    period_inputs,
    reply_times,
    triage_counts,
    workload,
)

__all__ = [
    "OUTCOME_RATES",
    "OUTCOME_LABELS",
    "NATIONAL",
    "SESSION_DEFINITIONS",
    "Filters",
    "period",
    "Rate",
    "Caseload",
    "TREND_WEEKS",
    "HEADLINE_COLUMNS",
    "scope_conditions",
    "open_episode_counts",
    "UNASSIGNED_ID",
    "reply_times",
    "feedback_within",
    "adherence",
    "funnel",
    "module_days",
    "lapsed_patients",
    "finished_episodes",
    "outcome_rates",
    "OUTCOME_COLUMNS",
    "outcome_table",
    "followup_cycles",
    "gp_compliance",
    "weekly_trends",
    "quiet_weeks",
    "team_name",
    "programme_names",
    "therapist_names",
    "period_inputs",
    "headline",
    "filtered_flags",
    "triage_counts",
    "workload",
    "caseload",
    "definitions",
    "in_language",
    "with_triage_flags",
]
