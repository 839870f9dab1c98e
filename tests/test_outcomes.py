"""Outcome rules, quoting clinical-reference.md sections 1.6, 2.3, 3.2 and the section 8 vectors."""

from datetime import datetime, timedelta

import pytest

from dashboard.config import Settings
from dashboard.outcomes import (
    DETERIORATED,
    IMPROVED,
    NO_CHANGE,
    NO_CRITERION,
    NOT_A_CHANGE_MEASURE,
    anxiety_plan,
    at_caseness,
    episode_window,
    follow_up_window,
    maintained,
    maintained_words,
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


# Maintained at follow-up (issue 20): the 3.2 rule re-run with the follow-up scores in place
# of the last ones. PHQ-9 caseness 10, reliable change 6; GAD-7 caseness 8, reliable change 4.
MAINTAINED_CASES = [
    # (PHQ first, last), (GAD first, last), follow-up scores, recovery held, improvement held, words
    ((15, 8), (12, 6), {"PHQ9": 7, "GAD7": 5}, True, True, "recovery maintained, reliable improvement maintained"),
    # relapse: PHQ-9 back to 14 (>= 10; -1) and GAD-7 to 10 (-2): no reliable change, neither held
    (
        (15, 8),
        (12, 6),
        {"PHQ9": 14, "GAD7": 10},
        False,
        False,
        "recovery not maintained, reliable improvement not maintained",
    ),
    # GAD-7 back to 8 (caseness) but PHQ-9 still 9 below baseline: improvement held, recovery not
    ((15, 8), (12, 6), {"PHQ9": 6, "GAD7": 8}, False, True, "recovery not maintained, reliable improvement maintained"),
    # section 8's second vector (15 -> 10, 12 -> 7): improvement without recovery, nothing to maintain on recovery
    (
        (15, 10),
        (12, 7),
        {"PHQ9": 9, "GAD7": 7},
        None,
        True,
        "no recovery at the end to maintain, reliable improvement maintained",
    ),
]


@pytest.mark.parametrize("phq,gad,follow_up,recovery,improvement,words", MAINTAINED_CASES)
def test_maintained_reruns_section_3_2_with_the_follow_up_scores(phq, gad, follow_up, recovery, improvement, words):
    m = maintained(anxiety_plan(None, Settings()), {"PHQ9": phq, "GAD7": gad}, follow_up, False)
    assert m.assessable and (m.recovery, m.reliable_improvement) == (recovery, improvement)
    assert maintained_words(m) == words


@pytest.mark.parametrize(
    "pairs,follow_up,why",
    [
        ({"PHQ9": (15, 8), "GAD7": (12, 6)}, {"PHQ9": 7}, "no GAD-7 score at follow-up"),
        ({"PHQ9": (15, 8), "GAD7": (12, 6)}, {"GAD7": 5}, "no PHQ-9 score at follow-up"),
        ({"PHQ9": (15, 8), "GAD7": (12, 6)}, {}, "no PHQ-9 or GAD-7 score at follow-up"),
        ({"PHQ9": (15, 8)}, {"PHQ9": 7, "GAD7": 5}, "no paired end-of-treatment outcome"),
    ],
)
def test_maintained_needs_both_measures_paired(pairs, follow_up, why):
    m = maintained(anxiety_plan(None, Settings()), pairs, follow_up, False)
    assert not m.assessable and m.recovery is None and m.reliable_improvement is None
    assert maintained_words(m) == f"not assessable: {why}"


END = datetime(2026, 3, 1, 12, 0)


@pytest.mark.parametrize(
    "after,inside",
    [
        (timedelta(weeks=3), False),  # too soon: not yet follow-up
        (timedelta(weeks=4), True),  # follow_up_from_weeks, inclusive
        (timedelta(weeks=13), True),  # the 3-month follow-up (papers/000)
        (timedelta(weeks=26), True),  # follow_up_to_weeks, inclusive
        (timedelta(weeks=27), False),  # too late
    ],
)
def test_follow_up_window_is_4_to_26_weeks_after_the_end(after, inside):
    lo, hi = follow_up_window(END, Settings())
    assert (lo <= END + after <= hi) == inside
    assert follow_up_window(None, Settings()) is None


def test_episode_window_starts_14_days_before_enrolment_and_ends_at_the_end():
    assert episode_window(datetime(2026, 1, 15), END, Settings()) == (datetime(2026, 1, 1), END)
    assert episode_window(None, None, Settings()) == (None, None)
