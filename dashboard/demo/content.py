"""The service's fixed content: programmes, modules, names, instruments and their shapes."""

from __future__ import annotations

import numpy as np

#: code -> (items, max item score); totals run 0 .. items * max. A profile
#: (dashboard/demo/profiles.py) uses the first few: the benchmark's the first four.
INSTRUMENTS: dict[str, tuple[int, int]] = {
    "PHQ9": (9, 3),
    "GAD7": (7, 3),
    "ISI": (7, 4),
    "PDSS": (7, 4),
    "OCIR": (18, 4),
    "SPIN": (17, 4),
    "AUDIT": (10, 4),
    "WSAS": (5, 8),
}
INSTRUMENT_CODES = tuple(INSTRUMENTS)
PHQ9, GAD7, ISI, PDSS, OCIR, SPIN, AUDIT, WSAS = range(8)
ITEM_COUNT = np.array([INSTRUMENTS[c][0] for c in INSTRUMENT_CODES])
ITEM_MAX = np.array([INSTRUMENTS[c][1] for c in INSTRUMENT_CODES])
TOTAL_MAX = ITEM_COUNT * ITEM_MAX
#: How readily each item scores (sleep and energy run high on the PHQ-9, item 9 is separate;
#: OCI-R obsessing and checking high, hoarding low; AUDIT consumption items 1-3 high,
#: items 9-10 drawn apart; WSAS item 1, work, is drawn with the others when it applies).
ITEM_WEIGHTS = (
    np.array([1.0, 1.1, 1.3, 1.4, 0.9, 1.0, 1.0, 0.6]),
    np.array([1.2, 1.2, 1.2, 1.1, 0.8, 1.0, 0.8]),
    np.array([1.1, 1.1, 0.9, 1.2, 0.9, 1.0, 1.0]),
    np.array([1.1, 1.0, 1.0, 1.0, 0.9, 1.1, 0.9]),
    # OCI-R items 1-18: hoarding 1 7 13, checking 2 8 14, ordering 3 9 15, neutralising
    # 4 10 16, washing 5 11 17, obsessing 6 12 18 (Foa et al. 2002, instruments.toml).
    np.tile([0.5, 1.3, 0.9, 0.8, 1.0, 1.5], 3),
    np.array([1.2, 1.0, 1.1, 1.0, 1.3, 1.1, 0.9, 1.0, 1.2, 1.1, 0.9, 1.0, 1.0, 1.2, 1.3, 1.0, 1.1]),
    np.array([1.6, 1.3, 1.2, 0.8, 0.7, 0.5, 1.0, 0.9]),
    np.array([1.1, 1.0, 1.2, 0.9, 1.0]),
)

PROGRAMS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "depression",
        "Depression",
        "PHQ9",
        (
            "Understanding depression",
            "Behavioural activation",
            "Thoughts and feelings",
            "Challenging unhelpful thoughts",
            "Problem solving",
            "Core beliefs and self-compassion",
            "Sleep, activity and self-care",
            "Staying well",
        ),
    ),
    (
        "anxiety",
        "Generalised anxiety",
        "GAD7",
        (
            "Understanding anxiety",
            "Worry and uncertainty",
            "Worry time",
            "Challenging anxious thoughts",
            "Facing your fears",
            "Relaxation and mindfulness",
            "Staying well",
        ),
    ),
    (
        "insomnia",
        "Insomnia",
        "ISI",
        (
            "Understanding sleep",
            "Sleep diary and sleep habits",
            "Stimulus control",
            "Sleep restriction",
            "Quieting a racing mind",
            "Keeping good sleep",
        ),
    ),
    (
        "panic",
        "Panic disorder",
        "PDSS",
        (
            "Understanding panic",
            "The panic cycle",
            "Breathing and body sensations",
            "Catastrophic thoughts",
            "Interoceptive exposure",
            "Safety behaviours",
            "Situational exposure",
            "Your exposure ladder",
            "Managing setbacks",
            "Staying well",
        ),
    ),
)
#: Modules of the longest programme any profile runs: the width of the module matrices
#: (fixed, because the random stream depends on it).
MAX_MODULES = 10
#: The benchmark's programme mix and baselines (profiles.BENCH); the demo's are in profiles.DEMO.
PROGRAM_MIX = np.array([0.40, 0.30, 0.15, 0.15])

#: Baseline mean per (programme, instrument); SD per instrument; lowest plausible baseline.
BASELINE_MEAN = np.array([[16.0, 11.0, 0, 0], [11.0, 14.0, 0, 0], [10.0, 8.0, 18.0, 0], [11.0, 13.0, 0, 14.0]])
BASELINE_SD = np.array([4.5, 3.5, 4.0, 4.5, 9.0, 10.0, 5.0, 7.0])
BASELINE_MIN = np.array([3, 2, 6, 4, 10, 15, 8, 3])
NOISE_SD = np.array([1.6, 1.3, 1.6, 1.8, 3.0, 3.0, 1.5, 2.5])
#: Reliable-deterioration sized rises (PHQ-9 6+, GAD-7 4+) for the deteriorating minority.
RISE_RANGE = np.array([[6, 10], [4, 7], [6, 10], [6, 10], [8, 14], [8, 14], [4, 8], [6, 10]])

ACTIVITY_KINDS = np.array(["login", "module_page", "exercise", "homework"])
#: Direction codes used while building messages.
FROM_PATIENT, TO_PATIENT = 0, 1
DIRECTIONS = np.array(["from_patient", "to_patient"])
STATUSES = np.array(["active", "completed", "withdrawn"])
ACTIVE, COMPLETED, WITHDRAWN = range(3)

#: (kind, share of responses, PHQ-9 only); at least MIN_CORRUPT of each per chunk.
CORRUPTIONS: tuple[tuple[str, float, bool], ...] = (
    ("out_of_range", 0.0006, False),
    ("missing_some", 0.0008, True),
    ("missing_item9", 0.0003, True),
    ("missing_many", 0.0004, False),
    ("total_mismatch", 0.0008, False),
    ("no_items", 0.0008, False),
)
MIN_CORRUPT = 2

FIRST_NAMES = np.array(
    "Sam Alex Jamie Maria Ahmed Li Sofia Oliver Amira Tom Chloe Noah Fatima Lucas Emma Yusuf "
    "Grace Mateo Aino Mikko Åsa Zoë Jörg Siobhán Kofi Daniel Hannah Omar Elif Ben Leila Ravi "
    "Nina Oskar Ingrid Chen Aisha Marco Julia Ewa Tariq Ruth Kai Ida Leon Mei Ana Finn Sara "
    "Joseph Laura Mohammed Eeva Patrick Agnieszka Samuel Niamh David Lotta Farah".split()
)
SURNAMES = np.array(
    "Smith Khan Jones Nguyen Virtanen Andersson Okafor Patel Brown Kowalski Murphy Silva Müller "
    "Rossi García Haddad Ali Taylor Johansson Korhonen Wilson Evans Novak Wright Mensah Lindberg "
    "O'Brien Dubois Hughes Nieminen Begum Costa Fischer Ahmed Clarke Walker Larsen Yilmaz Hall "
    "Laine Mäkinen Osei Byrne Morgan Svensson Hussain Kaur Petrov Santos Ward Bergström Reid "
    "Olsen Lehtonen Adeyemi Moreau Kelly Price Jensen Hakala".split()
)
LONG_PATIENT_NAMES = np.array(
    [
        "Anna-Karin Vähä-Heikkilä",
        "Christopher Montgomery-Fairweather",
        "Oluwaseun Adebayo-Williams",
        "Marie-Claire Beaumont-Laurent",
        "Maximilian von Hohenberg-Sternfeld",
        "Bartholomew Featherstonehaugh",
    ]
)
TEAM_NAMES = (
    "Northside iCBT team",
    "Riverside iCBT team",
    "Harbour iCBT team",
    "Westfield iCBT team",
    "Eastgate iCBT team",
    "Hillcrest iCBT team",
    "Lakeside iCBT team",
    "Meadowbank iCBT team",
)
