"""What a generated service runs: its programmes, who joins which, and what each answers.

Why two profiles: the benchmark's figures are comparable between runs only while its
data stays the same (tools/bench.py, its frozen ``PROFILE``), so ``BENCH`` is the four
programmes of content.py exactly as they were generated when it was frozen (a test pins
a hash of what it makes: tests/test_bench.py). ``DEMO``, the default, is the service the
app and the tests show: the same four plus OCD, social anxiety and alcohol programmes,
every programme with PHQ-9 (its risk item, clinical-reference 3.3's pairing) and WSAS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dashboard.demo.common import GENERATOR_VERSION
from dashboard.demo.content import (
    AUDIT,
    BASELINE_MEAN,
    CORRUPTIONS,
    GAD7,
    INSTRUMENT_CODES,
    ISI,
    ITEM_COUNT,
    MAX_MODULES,
    OCIR,
    PDSS,
    PHQ9,
    PROGRAM_MIX,
    PROGRAMS,
    SPIN,
    WSAS,
)

Program = tuple[str, str, str, tuple[str, ...]]  # (code, name, primary instrument, module titles)
#: (kind, share of responses, the only instrument it damages or None); at least MIN_CORRUPT each.
Corruption = tuple[str, float, int | None]


@dataclass(frozen=True)
class Profile:
    """One kind of generated service; ``version`` is written as demo_meta's generator_version."""

    name: str
    version: str
    programs: tuple[Program, ...]
    mix: np.ndarray  # share of patients per programme
    instruments: int  # the first this many of content.INSTRUMENT_CODES
    collected: tuple[tuple[int, ...], ...]  # per programme: the instruments of every sitting
    baseline_mean: np.ndarray  # (programmes, instruments)
    corruptions: tuple[Corruption, ...]
    #: programmes whose patients have a peer supporter on the care team (dashboard.demo.care_team)
    peer_programmes: tuple[str, ...] = ()
    #: share of completed courses with a follow-up sitting about 3 months after the end
    #: (papers/000's 3-month follow-up; dashboard.demo.questionnaires): none in the benchmark
    follow_up_share: float = 0.0

    def __post_init__(self) -> None:
        if self.module_count.max() > MAX_MODULES:
            raise ValueError(f"profile {self.name}: a programme has more than {MAX_MODULES} modules")

    @property
    def module_count(self) -> np.ndarray:
        return np.array([len(p[3]) for p in self.programs])

    @property
    def module_id_offset(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.module_count)[:-1]])

    @property
    def max_items(self) -> int:
        """Widest instrument: the width of the item matrices."""
        return int(ITEM_COUNT[: self.instruments].max())

    @property
    def sitting_size(self) -> np.ndarray:
        """Instruments answered at each sitting, per programme."""
        return np.array([len(c) for c in self.collected])

    @property
    def sitting_table(self) -> np.ndarray:
        """(programmes, widest sitting): the instrument at each position of a sitting, -1 past its end."""
        table = np.full((len(self.collected), int(self.sitting_size.max())), -1)
        for row, codes in enumerate(self.collected):
            table[row, : len(codes)] = codes
        return table

    def collects(self, instrument: int) -> bool:
        return any(instrument in codes for codes in self.collected)


BENCH = Profile(
    name="bench",
    version="2",  # the generator version the benchmark's databases were built with
    programs=PROGRAMS,
    mix=PROGRAM_MIX,
    instruments=4,
    collected=((PHQ9, GAD7), (PHQ9, GAD7), (PHQ9, GAD7, ISI), (PHQ9, GAD7, PDSS)),
    baseline_mean=BASELINE_MEAN,
    corruptions=tuple((kind, share, PHQ9 if phq9_only else None) for kind, share, phq9_only in CORRUPTIONS),
)

#: The demo's three programmes beyond the benchmark's four (HUS runs all seven, papers/004).
MORE_PROGRAMS: tuple[Program, ...] = (
    (
        "ocd",
        "Obsessive-compulsive disorder",
        "OCIR",
        (
            "Understanding OCD",
            "Obsessions, compulsions and the OCD cycle",
            "Exposure and response prevention",
            "Building your exposure ladder",
            "Dropping rituals and reassurance seeking",
            "Unhelpful beliefs about thoughts",
            "Living with uncertainty",
            "Staying well",
        ),
    ),
    (
        "social_anxiety",
        "Social anxiety",
        "SPIN",
        (
            "Understanding social anxiety",
            "Self-focused attention",
            "Safety behaviours",
            "Behavioural experiments",
            "Challenging negative predictions",
            "After the event: rumination",
            "Building confidence with people",
            "Staying well",
        ),
    ),
    (
        "alcohol",
        "Alcohol use",
        "AUDIT",
        (
            "Understanding your drinking",
            "Drinking diary and goals",
            "Triggers and high-risk situations",
            "Coping with cravings",
            "Saying no and social pressure",
            "Staying on track",
        ),
    ),
)


def _baselines(rows: dict[int, float]) -> list[float]:
    """One programme's row of baseline means; instruments it does not collect stay 0."""
    return [rows.get(i, 0.0) for i in range(len(INSTRUMENT_CODES))]


DEMO = Profile(
    name="demo",
    version=GENERATOR_VERSION,
    programs=PROGRAMS + MORE_PROGRAMS,
    mix=np.array([0.36, 0.26, 0.10, 0.08, 0.07, 0.07, 0.06]),
    instruments=len(INSTRUMENT_CODES),
    collected=(
        (PHQ9, GAD7, WSAS),
        (PHQ9, GAD7, WSAS),
        (PHQ9, GAD7, ISI, WSAS),
        (PHQ9, GAD7, PDSS, WSAS),
        (PHQ9, GAD7, OCIR, WSAS),
        (PHQ9, GAD7, SPIN, WSAS),
        (PHQ9, GAD7, AUDIT, WSAS),
    ),
    # The first four programmes as in the benchmark; OCI-R around 30 (severe, >= 28),
    # SPIN around 44 (well above its cut-off 19), AUDIT around 19 (zones II-IV), WSAS
    # 13-20 (significant impairment): clinical samples, clinical-reference 4's ranges.
    baseline_mean=np.array(
        [
            _baselines({PHQ9: 16.0, GAD7: 11.0, WSAS: 20.0}),
            _baselines({PHQ9: 11.0, GAD7: 14.0, WSAS: 16.0}),
            _baselines({PHQ9: 10.0, GAD7: 8.0, ISI: 18.0, WSAS: 13.0}),
            _baselines({PHQ9: 11.0, GAD7: 13.0, PDSS: 14.0, WSAS: 17.0}),
            _baselines({PHQ9: 11.0, GAD7: 11.0, OCIR: 30.0, WSAS: 18.0}),
            _baselines({PHQ9: 10.0, GAD7: 12.0, SPIN: 44.0, WSAS: 17.0}),
            _baselines({PHQ9: 9.0, GAD7: 8.0, AUDIT: 19.0, WSAS: 14.0}),
        ]
    ),
    corruptions=BENCH.corruptions
    + (
        ("bad_option", 0.0001, AUDIT),  # AUDIT item 9 or 10 answered 1 or 3 (only 0/2/4 exist)
        ("null_score", 0.0003, None),  # an item row with no score: missing (WSAS item 1 aside)
    ),
    peer_programmes=("depression", "anxiety"),  # the Swedish primary-care model (papers/000)
    follow_up_share=0.6,
)
