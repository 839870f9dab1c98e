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
#: A module's summary for the GP's agenda (the contract's optional ``modules.summary``),
#: by title: a title without one is left NULL, as a platform without summaries has.
MODULE_SUMMARIES: dict[str, str] = {
    "Understanding depression": "How low mood, inactivity and thoughts keep each other going.",
    "Behavioural activation": "Planning small, valued activities each day, and noticing their effect on mood.",
    "Thoughts and feelings": "Catching automatic thoughts in a thought record, beside the feeling they bring.",
    "Challenging unhelpful thoughts": "Weighing the evidence for and against a thought; a balanced alternative.",
    "Problem solving": "Breaking one practical problem into steps and trying the first.",
    "Core beliefs and self-compassion": "Spotting a long-held belief about oneself; answering it kindly.",
    "Sleep, activity and self-care": "Regular sleep, movement and meals as the base of recovery.",
    "Staying well": "A personal plan: early warning signs and what helped.",
    "Understanding anxiety": "What worry and anxiety are for, and how avoidance keeps them going.",
    "Worry and uncertainty": "Telling practical worries from hypothetical ones; tolerating not knowing.",
    "Worry time": "Postponing worry to a fixed daily slot.",
    "Challenging anxious thoughts": "Estimating how likely the feared outcome really is, and how one would cope.",
    "Facing your fears": "Building a ladder of feared situations and climbing it step by step.",
    "Relaxation and mindfulness": "Daily relaxation practice and noticing thoughts without following them.",
    "Understanding sleep": "How sleep works, and what keeps insomnia going.",
    "Sleep diary and sleep habits": "Keeping a sleep diary; habits that help and hinder sleep.",
    "Stimulus control": "Bed for sleep only; getting up when awake for long.",
    "Sleep restriction": "A fixed, shorter time in bed that is widened as sleep improves.",
    "Quieting a racing mind": "Winding down, and putting the day's thoughts on paper before bed.",
    "Keeping good sleep": "Keeping the schedule and handling a bad night without undoing progress.",
    "Understanding panic": "What a panic attack is, and why it is not dangerous.",
    "The panic cycle": "How body sensations, frightening thoughts and fear feed each other.",
    "Breathing and body sensations": "Slow breathing; noticing sensations without reading danger in them.",
    "Catastrophic thoughts": "Checking the feared meaning of a sensation against what happened.",
    "Interoceptive exposure": "Bringing on harmless sensations on purpose until they lose their alarm.",
    "Safety behaviours": "Dropping the small habits that keep the fear alive.",
    "Situational exposure": "Entering avoided places and staying until the fear falls.",
    "Your exposure ladder": "Planning the next steps of exposure week by week.",
    "Managing setbacks": "A bad day is not a relapse: what to do when panic returns.",
    "Understanding OCD": "What obsessions and compulsions are, and how they keep each other going.",
    "Obsessions, compulsions and the OCD cycle": "Mapping one's own cycle: trigger, thought, anxiety, ritual, relief.",
    "Exposure and response prevention": "Facing a feared trigger without the ritual, until the anxiety falls by itself.",
    "Building your exposure ladder": "Ranking feared situations and planning the first steps.",
    "Dropping rituals and reassurance seeking": "Cutting down checking and asking for reassurance, one step at a time.",
    "Unhelpful beliefs about thoughts": "Having a thought is not doing it: responsibility and thought-action fusion.",
    "Living with uncertainty": "Practising not knowing for sure, instead of checking.",
    "Understanding social anxiety": "How fear of others' judgement, avoidance and self-focus keep social anxiety going.",
    "Self-focused attention": "Shifting attention from oneself to the task and the people there.",
    "Behavioural experiments": "Testing a feared prediction in a real situation and noting what happened.",
    "Challenging negative predictions": "Weighing how likely and how bad the feared judgement really is.",
    "After the event: rumination": "Leaving the post-mortem of a social event instead of replaying it.",
    "Building confidence with people": "Planned social steps that grow week by week.",
    "Understanding your drinking": "Where one's drinking stands (the AUDIT zones) and what one wants to change.",
    "Drinking diary and goals": "Keeping a drinking diary and setting a weekly goal.",
    "Triggers and high-risk situations": "The places, people and feelings that lead to drinking more.",
    "Coping with cravings": "Riding out a craving: delay, distract, and ways to urge-surf.",
    "Saying no and social pressure": "Refusing a drink with ease, and planning for parties.",
    "Staying on track": "A plan for lapses, and keeping the changes that worked.",
}

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
