"""Outcome rules, quoting clinical-reference.md sections 1.6, 2.3, 3.2 and the section 8 vectors."""

import pytest

from dashboard.outcomes import (
    DETERIORATED,
    IMPROVED,
    NO_CHANGE,
    NO_CRITERION,
    NOT_A_CHANGE_MEASURE,
    at_caseness,
    nhs_outcome,
    reliable_change,
)

# Section 8, outcome-rule vectors: PHQ first->last, GAD-7 first->last,
# recovery, reliable improvement, reliable recovery, reliable deterioration (None = n/a).
OUTCOME_VECTORS = [
    ((15, 8), (12, 6), True, True, True, False),
    ((15, 10), (12, 7), False, True, False, False),
    ((12, 9), (9, 7), True, False, False, False),
    ((8, 5), (6, 4), None, False, None, False),
    ((14, 7), (8, 12), False, False, False, True),
    ((11, 17), (9, 9), False, False, False, True),
]


@pytest.mark.parametrize("phq,gad,recovery,improvement,reliable_recovery,deterioration", OUTCOME_VECTORS)
def test_section_8_outcome_vectors(phq, gad, recovery, improvement, reliable_recovery, deterioration):
    out = nhs_outcome(phq[0], phq[1], gad[0], gad[1])
    assert out.recovery is recovery
    assert out.reliable_improvement is improvement
    assert out.reliable_recovery is reliable_recovery
    assert out.reliable_deterioration is deterioration


def test_improving_on_one_and_deteriorating_on_the_other_is_deterioration_only():
    out = nhs_outcome(16, 9, 6, 10)  # PHQ -7, GAD +4 (3.2 edge case)
    assert not out.reliable_improvement and out.reliable_deterioration and not out.no_reliable_change
    # 3.5: the optional national-replication rule
    strict = nhs_outcome(16, 9, 6, 10, deterioration_requires_no_improvement=True)
    assert not strict.reliable_deterioration


@pytest.mark.parametrize(
    "instrument,baseline,latest,expected",
    [
        ("PHQ9", 15, 9, IMPROVED),
        ("PHQ9", 15, 10, NO_CHANGE),  # 1.6: decrease >= 6
        ("PHQ9", 10, 16, DETERIORATED),
        ("PHQ9", 10, 15, NO_CHANGE),  # increase >= 6
        ("PHQ9", 15, 9.5, NO_CHANGE),  # unrounded prorated value: 5.5 is not 6
        ("GAD7", 12, 8, IMPROVED),
        ("GAD7", 12, 9, NO_CHANGE),  # 2.3: 4 points
        ("GAD7", 8, 12, DETERIORATED),
        ("GAD7", 8, 11, NO_CHANGE),
        ("ISI", 20, 5, NO_CRITERION),
        ("PDSS", 20, 5, NO_CRITERION),  # no published criterion
        ("OCIR", 40, 10, NO_CRITERION),  # section 4: "none published in the cited sources -> RCI (1.7)"
        ("SPIN", 40, 10, NO_CRITERION),
        ("WSAS", 30, 5, NO_CRITERION),
        ("AUDIT", 30, 5, NOT_A_CHANGE_MEASURE),  # "not a change instrument; report zone transitions"
    ],
)
def test_reliable_change_edges(instrument, baseline, latest, expected):
    assert reliable_change(instrument, baseline, latest) == expected


@pytest.mark.parametrize(
    "instrument,score,expected",
    [
        ("PHQ9", 9, False),
        ("PHQ9", 10, True),
        ("GAD7", 7, False),
        ("GAD7", 8, True),  # 1.4, 2.2 (NHS 8)
        ("PHQ9", 9.6, False),
        ("PDSS", 20, None),
    ],
)
def test_caseness(instrument, score, expected):
    assert at_caseness(instrument, score) is expected
