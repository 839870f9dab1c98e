"""Synthetic platform data for the demo, the tests and the benchmarks.

Why: the dashboard has to be shown, tested and load-tested on data that behaves
like a real guided-iCBT service -- module-by-module attrition, lapsed patients
nobody closed, replies that come after days, deteriorating scores, a few
corrupt questionnaires -- without ever touching real patient data.

Run ``caseboard demo --db URL [--patients N] [--seed S] [--now ISO]``.

Design notes:

* Everything is generated vectorised with numpy for a chunk of patients at a
  time, so 100,000 patients (tens of millions of rows) fit in minutes and in
  bounded memory. One ``numpy.random.Generator`` is consumed in a fixed order,
  so the same seed and ``now`` give the same database.
* Times are int64 microseconds since the Unix epoch (naive UTC) until they are
  written. Nothing is ever later than ``now``.
* Loading is backend-specific because generic inserts are far too slow:
  PostgreSQL gets binary ``COPY ... FREEZE`` in one transaction (the tables
  are created in it, so a failed run leaves the old data), SQLite gets
  ``executemany`` with one transaction per chunk. Secondary indexes are built
  after the load.
* Only ``dashboard.schema`` and ``dashboard.engine`` are imported: the
  instrument shapes are hard-coded here so that tests of the dashboard's own
  scoring and flag code stay independent of the data they are tested on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    String,
    Table,
    delete,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.schema import CreateTable

from dashboard.schema import metadata

DEFAULT_PATIENTS = 480
DEFAULT_SEED = 7
GENERATOR_VERSION = "1"

#: Patients generated and loaded together; fixed, because the random stream
#: (and so the content) depends on it.
CHUNK_PATIENTS = 2500

#: Demo logins shown on the login page: (username, role, display name, team number or None).
DEMO_USERS: list[tuple[str, str, str, int | None]] = [
    ("gp1", "gp", "Dr Amelia Hart", None),
    ("gp2", "gp", "Dr Maria-Fernanda Castellanos-Villanueva", None),
    ("therapist1", "therapist", "Jonas Lindqvist", 1),
    ("therapist2", "therapist", "Priya Natarajan", 2),
    ("lead1", "team_lead", "Helen O'Connor", 1),
    ("lead2", "team_lead", "Kwame Mensah", 2),
]

demo_meta_metadata = MetaData()
demo_meta = Table(
    "demo_meta",
    demo_meta_metadata,
    Column("key", String(50), primary_key=True),
    Column("value", String(200), nullable=False),
)


class DemoRefused(RuntimeError):
    """The target database holds platform data the generator did not create."""


@dataclass
class GenerationReport:
    """What a generation run produced, for the CLI and the app's start-up log."""

    seconds: float
    rows: dict[str, int]
    db_bytes: int | None

    def format(self) -> str:
        width = max(len(name) for name in self.rows) if self.rows else 5
        lines = [f"generated in {self.seconds:.1f} s"]
        lines += [f"  {name:<{width}}  {count:>12,}" for name, count in self.rows.items()]
        lines.append(f"  {'total':<{width}}  {sum(self.rows.values()):>12,}")
        size = "unknown" if self.db_bytes is None else f"{self.db_bytes / 1e6:,.1f} MB"
        lines.append(f"database size: {size}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- time

SECOND = 1_000_000  # times are int64 microseconds
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY
NAT = np.iinfo(np.int64).min  # numpy's NaT as int64
ENROLMENT_WINDOW_DAYS = 182.5

#: Share of platform use by hour of day (UTC ~ local): mornings, lunch, evenings.
_HOURLY_USE = [
    1,
    0.5,
    0.3,
    0.2,
    0.2,
    0.4,
    1.5,
    3,
    4,
    3.5,
    3,
    3,
    4,
    3.5,
    3,
    3,
    3.5,
    4,
    5,
    6,
    6.5,
    6,
    4.5,
    2.5,
]
HOUR_WEIGHTS = np.array(_HOURLY_USE) / sum(_HOURLY_USE)


def _to_us(moment: datetime) -> int:
    """Microseconds since the epoch of a naive UTC datetime."""
    return int(np.datetime64(moment, "us").astype(np.int64))


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _days_to_workday(workdays: np.ndarray) -> np.ndarray:
    """For (n, 7) working-day masks (Monday first): days from each weekday to the next workday."""
    wait = np.full(workdays.shape, 7)
    for k in reversed(range(7)):
        wait = np.where(np.roll(workdays, -k, axis=1), k, wait)
    return wait


def _office_hours(t: np.ndarray, wait: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Move clinician actions into their working hours: 08-17 on their working days.

    ``wait`` is one row of _days_to_workday per time in ``t``.
    """
    day, tod = np.divmod(t, DAY)
    late = tod >= 17 * HOUR
    day = day + late
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    skip = wait[np.arange(t.size), weekday]
    moved = late | (tod < 8 * HOUR) | (skip > 0)
    tod = np.where(moved, 8 * HOUR + rng.integers(0, 3 * HOUR, t.size), tod)
    return (day + skip) * DAY + tod


def _ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Owner index and position within owner of a flat array holding counts[i] items per owner."""
    counts = counts.astype(np.int64)
    owner = np.repeat(np.arange(counts.size), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(owner.size) - starts[owner]


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


# --------------------------------------------------------------------------- content

#: code -> (items, max item score); totals run 0 .. items * max.
INSTRUMENTS: dict[str, tuple[int, int]] = {
    "PHQ9": (9, 3),
    "GAD7": (7, 3),
    "ISI": (7, 4),
    "PDSS": (7, 4),
}
INSTRUMENT_CODES = tuple(INSTRUMENTS)
PHQ9, GAD7, ISI, PDSS = range(4)
ITEM_COUNT = np.array([INSTRUMENTS[c][0] for c in INSTRUMENT_CODES])
ITEM_MAX = np.array([INSTRUMENTS[c][1] for c in INSTRUMENT_CODES])
TOTAL_MAX = ITEM_COUNT * ITEM_MAX
#: How readily each item scores (sleep and energy run high on the PHQ-9, item 9 is separate).
ITEM_WEIGHTS = (
    np.array([1.0, 1.1, 1.3, 1.4, 0.9, 1.0, 1.0, 0.6]),
    np.array([1.2, 1.2, 1.2, 1.1, 0.8, 1.0, 0.8]),
    np.array([1.1, 1.1, 0.9, 1.2, 0.9, 1.0, 1.0]),
    np.array([1.1, 1.0, 1.0, 1.0, 0.9, 1.1, 0.9]),
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
PROGRAM_MIX = np.array([0.40, 0.30, 0.15, 0.15])
MODULE_COUNT = np.array([len(p[3]) for p in PROGRAMS])
MODULE_ID_OFFSET = np.concatenate([[0], np.cumsum(MODULE_COUNT)[:-1]])
MAX_MODULES = int(MODULE_COUNT.max())
#: Instrument each programme adds to PHQ-9 and GAD-7 (-1: none).
EXTRA_INSTRUMENT = np.array([-1, -1, ISI, PDSS])

#: Baseline mean per (programme, instrument); SD per instrument; lowest plausible baseline.
BASELINE_MEAN = np.array(
    [[16.0, 11.0, 0, 0], [11.0, 14.0, 0, 0], [10.0, 8.0, 18.0, 0], [11.0, 13.0, 0, 14.0]]
)
BASELINE_SD = np.array([4.5, 3.5, 4.0, 4.5])
BASELINE_MIN = np.array([3, 2, 6, 4])
NOISE_SD = np.array([1.6, 1.3, 1.6, 1.8])
#: Reliable-deterioration sized rises (PHQ-9 6+, GAD-7 4+) for the deteriorating minority.
RISE_RANGE = np.array([[6, 10], [4, 7], [6, 10], [6, 10]])

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


# --------------------------------------------------------------------------- staff


@dataclass(frozen=True)
class _Staff:
    """Teams, clinicians and the therapist traits that shape their patients' data."""

    teams: dict[str, np.ndarray]
    clinicians: dict[str, np.ndarray]
    n_teams: int
    therapist_id: np.ndarray
    therapist_team: np.ndarray
    therapist_share: np.ndarray  # probability a patient is allocated to them
    therapist_dropout: np.ndarray  # shift of the per-module drop-out log-odds
    therapist_slowness: np.ndarray  # multiplier on reply delays
    therapist_wait: np.ndarray  # (n, 7) days from each weekday to their next working day
    therapist_leave: np.ndarray  # when their current leave began (µs); after now if at work
    gp_id: np.ndarray


def _staff_sizes(patients: int) -> tuple[int, int, int]:
    """(teams, therapists, GPs) for a service of this size: ~60 per therapist, 6 GPs in the demo."""
    n_teams = max(2, round(patients / 5000))
    n_therapists = max(4 * n_teams, round(patients / 60))
    n_gps = max(6, round(patients / 80)) if patients <= 1000 else round(patients / 25)
    return n_teams, n_therapists, n_gps


def _staff(rng: np.random.Generator, patients: int, now: int) -> _Staff:
    n_teams, n_ther, n_gps = _staff_sizes(patients)
    demo = {username: (name, team) for username, _role, name, team in DEMO_USERS}
    pool = rng.permutation(FIRST_NAMES.size * SURNAMES.size)
    people = [f"{FIRST_NAMES[i // SURNAMES.size]} {SURNAMES[i % SURNAMES.size]}" for i in pool]

    usernames, names, roles, team_ids = [], [], [], []
    for role, prefix, count, title in (
        ("therapist", "therapist", n_ther, ""),
        ("gp", "gp", n_gps, "Dr "),
        ("team_lead", "lead", n_teams, ""),
    ):
        for i in range(1, count + 1):
            username = f"{prefix}{i}"
            team = None if role == "gp" else (i - 1) % n_teams + 1
            name = (
                demo[username][0] if username in demo else title + people[len(names) % len(people)]
            )
            usernames.append(username)
            names.append(name)
            roles.append(role)
            team_ids.append(np.nan if team is None else team)

    ids = np.arange(1, len(usernames) + 1)
    role_arr = np.array(roles)
    team_arr = np.array(team_ids)
    therapist = role_arr == "therapist"
    share = rng.gamma(16.0, 1 / 16.0, n_ther)
    team_names = [
        TEAM_NAMES[i] if i < len(TEAM_NAMES) else f"iCBT team {i + 1}" for i in range(n_teams)
    ]
    return _Staff(
        teams={"id": np.arange(1, n_teams + 1), "name": np.array(team_names)},
        clinicians={
            "id": ids,
            "username": np.array(usernames),
            "display_name": np.array(names),
            "role": role_arr,
            "team_id": team_arr,
        },
        n_teams=n_teams,
        therapist_id=ids[therapist],
        therapist_team=team_arr[therapist].astype(np.int64),
        therapist_share=share / share.sum(),
        therapist_dropout=rng.normal(0.0, 0.6, n_ther),
        therapist_slowness=rng.lognormal(0.0, 0.4, n_ther),
        therapist_wait=_days_to_workday(_workdays(rng, n_ther)),
        therapist_leave=_leave(rng, n_ther, now),
        gp_id=ids[role_arr == "gp"],
    )


def _leave(rng: np.random.Generator, n: int, now: int) -> np.ndarray:
    """Start of each therapist's current leave: about 10% (at least one) are away without cover
    since 3-12 days before now, so their patients' messages pile up. Others: a time after now."""
    start = np.full(n, now + WEEK)
    away = rng.choice(n, size=max(1, round(0.1 * n)), replace=False)
    start[away] = now - (rng.uniform(3, 12, away.size) * DAY).astype(np.int64)
    return start


def _workdays(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 7) working days, Monday first: most work Mon-Fri, a third part-time on 2-3 days."""
    days = np.zeros((n, 7), bool)
    part_time = rng.random(n) < 0.35
    rank = np.argsort(np.argsort(rng.random((n, 5)), axis=1), axis=1)
    days[:, :5] = np.where(part_time[:, None], rank < rng.integers(2, 4, n)[:, None], True)
    return days


def _program_tables() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    programs = {
        "id": np.arange(1, len(PROGRAMS) + 1),
        "code": np.array([p[0] for p in PROGRAMS]),
        "name": np.array([p[1] for p in PROGRAMS]),
        "primary_instrument": np.array([p[2] for p in PROGRAMS]),
    }
    titles = [
        (pid, pos, title) for pid, p in enumerate(PROGRAMS, 1) for pos, title in enumerate(p[3], 1)
    ]
    modules = {
        "id": np.arange(1, len(titles) + 1),
        "program_id": np.array([t[0] for t in titles]),
        "position": np.array([t[1] for t in titles]),
        "title": np.array([t[2] for t in titles]),
    }
    return programs, modules


# --------------------------------------------------------------------------- patients


@dataclass(frozen=True)
class _Cohort:
    """One chunk of patients and their planned course; times in µs unless named *_d (days)."""

    id: np.ndarray
    program: np.ndarray
    therapist: np.ndarray  # index into _Staff.therapist_*, -1 = unassigned
    gp: np.ndarray  # index into _Staff.gp_id, -1 = none
    team: np.ndarray
    enrolled: np.ndarray
    last: np.ndarray  # last moment the patient engages (<= now)
    ended: np.ndarray  # NAT when still active
    status: np.ndarray
    quit_by_now: np.ndarray  # dropped out (stopped engaging) before now
    module_start: np.ndarray  # (n, MAX_MODULES)
    module_done: np.ndarray
    started: np.ndarray  # (n, MAX_MODULES) bool, at or before now
    completed: np.ndarray


def _cohort(rng: np.random.Generator, staff: _Staff, ids: np.ndarray, now: int) -> _Cohort:
    """Enrolment, allocation, module timeline, drop-out and closure of a chunk of patients."""
    n = ids.size
    rows = np.arange(n)
    enrolled = now - (rng.random(n) * ENROLMENT_WINDOW_DAYS * DAY).astype(np.int64)
    program = rng.choice(len(PROGRAMS), size=n, p=PROGRAM_MIX)
    n_mod = MODULE_COUNT[program]

    assigned = rng.random(n) >= 0.01
    therapist = np.where(
        assigned, rng.choice(staff.therapist_id.size, size=n, p=staff.therapist_share), -1
    )
    team = np.where(
        assigned, staff.therapist_team[therapist], rng.integers(1, staff.n_teams + 1, n)
    )
    gp = np.where(rng.random(n) >= 0.015, rng.integers(0, staff.gp_id.size, n), -1)

    # Module timeline in days since enrolment: ~1 week per module, some fast, some slow.
    delay = np.where(rng.random(n) < 0.8, rng.exponential(1.5, n), rng.uniform(3, 16, n))
    pace = rng.lognormal(0.0, 0.35, n)
    dur = np.maximum(0.3, 7 * pace[:, None] * rng.lognormal(0.0, 0.3, (n, MAX_MODULES)))
    gap = rng.exponential(0.8, (n, MAX_MODULES))
    start_d = delay[:, None] + np.cumsum(dur + gap, axis=1) - (dur + gap)
    done_d = start_d + dur

    # Module-by-module attrition: about half of those with time finish; therapists differ.
    shift = np.where(assigned, staff.therapist_dropout[np.maximum(therapist, 0)], 0.5)
    hazard = _sigmoid(_logit(1 - 0.5 ** (1 / n_mod)) + shift + rng.normal(0.0, 0.5, n))
    k = np.arange(MAX_MODULES)
    quits = (rng.random((n, MAX_MODULES)) < hazard[:, None]) & (k < n_mod[:, None])
    stop = np.where(quits.any(axis=1), quits.argmax(axis=1), n_mod)
    never = rng.random(n) < 0.03
    stop = np.where(never, 0, stop)
    dropout = stop < n_mod
    opened = dropout & ~never & (rng.random(n) >= 0.3)  # started the module they abandoned
    at = np.minimum(stop, MAX_MODULES - 1)
    prev_done = np.where(stop > 0, done_d[rows, np.maximum(stop - 1, 0)], 0.0)
    quit_d = np.where(
        opened,
        start_d[rows, at] + rng.uniform(0.1, 0.9, n) * dur[rows, at],
        prev_done + rng.uniform(0.3, 5.0, n),
    )
    finish_d = done_d[rows, n_mod - 1]
    age_d = (now - enrolled) / DAY
    planned_last_d = np.where(dropout, quit_d, finish_d + 30 / (24 * 60))

    started = ((k < stop[:, None]) | ((k == stop[:, None]) & opened[:, None])) & (
        start_d <= age_d[:, None]
    )
    completed = (k < stop[:, None]) & (done_d <= age_d[:, None])

    # Closure: completers a few days after the last module; drop-outs when someone gets round to it.
    finished = ~dropout & (finish_d <= age_d)
    quit_by_now = dropout & (quit_d <= age_d)
    kind = rng.random(n)
    close_after = np.where(kind < 0.3, rng.uniform(0, 5, n), 21 + rng.exponential(14, n))
    end_d = np.where(finished, finish_d + rng.uniform(1, 7, n), quit_d + close_after)
    closes = (finished | (quit_by_now & (kind < 0.8))) & (end_d <= age_d)
    status = np.where(closes, np.where(finished, COMPLETED, WITHDRAWN), ACTIVE)

    def at_days(days: np.ndarray) -> np.ndarray:
        origin = enrolled[:, None] if days.ndim == 2 else enrolled
        return origin + (days * DAY).astype(np.int64)

    return _Cohort(
        id=ids,
        program=program,
        therapist=therapist,
        gp=gp,
        team=team,
        enrolled=enrolled,
        last=np.minimum(at_days(planned_last_d), now),
        ended=np.where(closes, at_days(end_d), NAT),
        status=status,
        quit_by_now=quit_by_now,
        module_start=at_days(start_d),
        module_done=at_days(done_d),
        started=started,
        completed=completed,
    )


def _patient_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """About half have an initials-style display name ("Sam K."), a few a long one."""
    first = FIRST_NAMES[rng.integers(0, FIRST_NAMES.size, n)]
    initial = np.strings.slice(SURNAMES[rng.integers(0, SURNAMES.size, n)], 0, 1)
    short = np.strings.add(np.strings.add(first, " "), np.strings.add(initial, "."))
    long = LONG_PATIENT_NAMES[rng.integers(0, LONG_PATIENT_NAMES.size, n)]
    u = rng.random(n)
    names = np.where(u < 0.03, long, short).astype(object)
    names[u >= 0.5] = None
    return names


def _patients_table(
    rng: np.random.Generator, staff: _Staff, co: _Cohort, codes: np.ndarray
) -> dict[str, np.ndarray]:
    has_therapist = co.therapist >= 0
    return {
        "id": co.id,
        "code": codes,
        "display_name": _patient_names(rng, co.id.size),
        "program_id": co.program + 1,
        "therapist_id": np.where(
            has_therapist, staff.therapist_id[np.maximum(co.therapist, 0)], np.nan
        ),
        "gp_id": np.where(co.gp >= 0, staff.gp_id[np.maximum(co.gp, 0)], np.nan),
        "team_id": co.team,
        "enrolled_at": _ts(co.enrolled),
        "status": STATUSES[co.status],
        "ended_at": _ts(co.ended),
    }


def _module_progress_table(co: _Cohort) -> dict[str, np.ndarray]:
    patient, module = np.nonzero(co.started)
    done = co.completed[patient, module]
    return {
        "patient_id": co.id[patient],
        "module_id": MODULE_ID_OFFSET[co.program[patient]] + module + 1,
        "started_at": _ts(co.module_start[patient, module]),
        "completed_at": _ts(np.where(done, co.module_done[patient, module], NAT)),
    }


def _ts(us: np.ndarray) -> np.ndarray:
    """int64 µs (NAT = null) as datetime64[us], the form loaders take timestamps in."""
    return us.astype(np.int64).view("datetime64[us]")


# --------------------------------------------------------------------------- activity


def _activity_table(rng: np.random.Generator, co: _Cohort, first_id: int) -> dict[str, np.ndarray]:
    """Sessions on active days between enrolment and the last engagement, plus module visits."""
    n = co.id.size
    engagement = rng.beta(2.2, 3.2, n)  # chance of using the programme on a given day
    events_per_session = rng.gamma(4.0, 0.9, n)

    first_day = co.enrolled // DAY
    days = co.last // DAY - first_day + 1
    owner, pos = _ragged(days)
    day = first_day[owner] + pos
    weekend = (day + 3) % 7 >= 5
    active = rng.random(owner.size) < engagement[owner] * np.where(weekend, 0.75, 1.0)
    owner, day = owner[active], day[active]

    per_day = 1 + rng.poisson(0.35, owner.size)
    s_idx, _ = _ragged(per_day)
    s_owner = owner[s_idx]
    hour = rng.choice(24, size=s_idx.size, p=HOUR_WEIGHTS)
    s_start = day[s_idx] * DAY + hour * HOUR + rng.integers(0, HOUR, s_idx.size)

    n_events = 1 + rng.poisson(events_per_session[s_owner])
    e_sess, e_pos = _ragged(n_events)
    step = rng.exponential(3 * MINUTE, e_sess.size).astype(np.int64)
    step[e_pos == 0] = 0
    csum = np.cumsum(step)
    offset = csum - (csum - step)[np.cumsum(n_events) - n_events][e_sess]
    when = s_start[e_sess] + offset
    kind = np.where(e_pos == 0, 0, rng.choice([1, 2, 3], size=e_sess.size, p=[0.55, 0.25, 0.20]))
    e_owner = s_owner[e_sess]

    # Every module start and completion is a visit: a login shortly before, then the module page.
    m_owner, m_mod = np.nonzero(co.started)
    c_owner, c_mod = np.nonzero(co.completed)
    visit_owner = np.concatenate([m_owner, c_owner])
    visit = np.concatenate([co.module_start[m_owner, m_mod], co.module_done[c_owner, c_mod]])
    login = visit - rng.integers(1 * MINUTE, 15 * MINUTE, visit.size)

    e_owner = np.concatenate([e_owner, visit_owner, visit_owner])
    when = np.concatenate([when, login, visit])
    kind = np.concatenate([kind, np.zeros(visit.size, int), np.ones(visit.size, int)])
    keep = (when >= co.enrolled[e_owner]) & (when <= co.last[e_owner])
    e_owner, when, kind = e_owner[keep], when[keep], kind[keep]

    order = np.lexsort((when, e_owner))
    return {
        "id": first_id + np.arange(order.size),
        "patient_id": co.id[e_owner[order]],
        "occurred_at": _ts(when[order]),
        "kind": ACTIVITY_KINDS[kind[order]],
    }


# --------------------------------------------------------------------------- questionnaires


@dataclass(frozen=True)
class _Course:
    """Each patient's latent symptom course: baselines and how they change over treatment."""

    baseline: np.ndarray  # (n, 4) per instrument
    kind: np.ndarray  # 0 improves, 1 flat, 2 deteriorates
    depth: np.ndarray  # improvers: share of (baseline - 2) lost at full effect
    tau: np.ndarray  # days to ~63 % of the change
    rise: np.ndarray  # (n, 4) deteriorators: points gained
    drift: np.ndarray  # (n, 4) flat: small wander
    risk: np.ndarray  # bool: prone to thoughts of self-harm (PHQ-9 item 9)


def _course(rng: np.random.Generator, program: np.ndarray) -> _Course:
    n = program.size
    baseline = rng.normal(BASELINE_MEAN[program], BASELINE_SD, (n, 4))
    baseline = np.clip(baseline, BASELINE_MIN, TOTAL_MAX)
    u = rng.random(n)
    return _Course(
        baseline=baseline,
        kind=np.where(u < 0.63, 0, np.where(u < 0.90, 1, 2)),
        depth=rng.uniform(0.45, 0.95, n),
        tau=rng.uniform(8, 28, n),
        rise=rng.uniform(RISE_RANGE[:, 0], RISE_RANGE[:, 1], (n, 4)),
        drift=rng.normal(0, 1.5, (n, 4)),
        risk=rng.random(n) < 0.08,
    )


def _administrations(rng: np.random.Generator, co: _Cohort) -> tuple[np.ndarray, np.ndarray]:
    """(owner, time) of each questionnaire sitting: baseline, after modules, weekly check-ins."""
    n = co.id.size
    baseline = co.enrolled + (rng.uniform(-3, 3, n) * DAY).astype(np.int64)
    baseline = np.minimum(baseline, co.last)

    c_owner, c_mod = np.nonzero(co.completed)
    after_module = co.module_done[c_owner, c_mod] + rng.integers(
        2 * MINUTE, 25 * MINUTE, c_owner.size
    )

    diligence = rng.beta(6, 1.2, n)
    weeks = (co.last - co.enrolled) // WEEK
    w_owner, w_pos = _ragged(weeks)
    check_in = co.enrolled[w_owner] + (w_pos + 1) * WEEK + rng.integers(-DAY, DAY, w_owner.size)
    answered = rng.random(w_owner.size) < diligence[w_owner]

    owner = np.concatenate([np.arange(n), c_owner, w_owner[answered]])
    when = np.concatenate([baseline, after_module, check_in[answered]])
    is_baseline = np.arange(owner.size) < n
    keep = (when <= co.last[owner]) & (is_baseline | (when >= baseline[owner]))
    return owner[keep], when[keep]


def _scores(
    rng: np.random.Generator,
    course: _Course,
    owner: np.ndarray,
    instrument: np.ndarray,
    days: np.ndarray,
) -> np.ndarray:
    """Total score of each response from the owner's course at that point of treatment."""
    base = course.baseline[owner, instrument]
    ramp = 1 - np.exp(-days / course.tau[owner])
    kind = course.kind[owner]
    change = np.where(
        kind == 0,
        -course.depth[owner] * np.maximum(base - 2, 0) * ramp,
        np.where(
            kind == 2,
            course.rise[owner, instrument] * ramp,
            course.drift[owner, instrument] * np.minimum(days / 56, 1),
        ),
    )
    # The latent course stays just below the ceiling, so maximum totals stay rare.
    latent = np.minimum(base + change, TOTAL_MAX[instrument] - 1.5)
    total = np.rint(latent + rng.normal(0, NOISE_SD[instrument]))
    return np.clip(total, 0, TOTAL_MAX[instrument]).astype(np.int64)


def _spread(
    rng: np.random.Generator, total: np.ndarray, weights: np.ndarray, item_max: int
) -> np.ndarray:
    """Items (r, len(weights)) within 0..item_max that sum exactly to total.

    Each item owns item_max unit slots; the total picks that many slots by weighted
    sampling without replacement (largest u ** (1 / w) keys), so every item stays in range.
    """
    r, n_items = total.size, weights.size
    keys = rng.random((r, n_items * item_max)) ** (1 / np.repeat(weights, item_max))
    ranked = -np.sort(-keys, axis=1)
    threshold = ranked[np.arange(r), np.maximum(total - 1, 0)]
    chosen = (keys >= threshold[:, None]) & (total[:, None] > 0)
    return chosen.reshape(r, n_items, item_max).sum(axis=2)


def _items(
    rng: np.random.Generator,
    course: _Course,
    owner: np.ndarray,
    instrument: np.ndarray,
    total: np.ndarray,
) -> np.ndarray:
    """Item scores (r, 9) summing to total; PHQ-9 item 9 (risk) is drawn on its own."""
    items = np.zeros((total.size, 9), np.int64)
    for code in range(len(INSTRUMENT_CODES)):
        rows = np.flatnonzero(instrument == code)
        t = total[rows]
        if code == PHQ9:
            p = _sigmoid(-6.6 + 0.2 * t + 2.6 * course.risk[owner[rows]])
            level = rng.choice([1, 2, 3], size=rows.size, p=[0.7, 0.2, 0.1])
            item9 = np.clip(np.where(rng.random(rows.size) < p, level, 0), np.maximum(t - 24, 0), t)
            items[rows, :8] = _spread(rng, t - item9, ITEM_WEIGHTS[PHQ9], 3)
            items[rows, 8] = item9
        else:
            items[rows, : ITEM_COUNT[code]] = _spread(rng, t, ITEM_WEIGHTS[code], ITEM_MAX[code])
    return items


def _corrupt(
    rng: np.random.Generator,
    instrument: np.ndarray,
    items: np.ndarray,
    present: np.ndarray,
    total: np.ndarray,
) -> None:
    """Damage a few responses in place, the way real platform data is damaged.

    Out-of-range items, missing items (1-2 on a PHQ-9, item 9 itself, 3+), a stored total
    that disagrees with the items, and totals with no item rows at all.
    """
    used = np.zeros(total.size, bool)
    everyone = rng.permutation(total.size)
    phq9 = everyone[instrument[everyone] == PHQ9]
    for kind, share, phq9_only in CORRUPTIONS:
        pool = phq9 if phq9_only else everyone
        count = max(MIN_CORRUPT, rng.binomial(total.size, share))
        rows = pool[~used[pool]][:count]
        used[rows] = True
        n_items = ITEM_COUNT[instrument[rows]]
        if kind == "out_of_range":
            col = (rng.random(rows.size) * n_items).astype(np.int64)
            bad = np.where(
                rng.random(rows.size) < 0.3,
                -1,
                ITEM_MAX[instrument[rows]] + rng.integers(1, 3, rows.size),
            )
            items[rows, col] = bad
        elif kind in ("missing_some", "missing_item9", "missing_many"):
            keys = rng.random((rows.size, 9))
            keys[np.arange(9) >= n_items[:, None]] = 2  # only real items can go missing
            if kind == "missing_some":
                keys[:, 8] = 2
                drop = rng.integers(1, 3, rows.size)
            elif kind == "missing_item9":
                keys[:, 8] = -1
                drop = rng.integers(1, 3, rows.size)
            else:
                drop = rng.integers(3, n_items)
            rank = np.argsort(np.argsort(keys, axis=1), axis=1)
            present[rows] &= rank >= drop[:, None]
            total[rows] = np.where(present[rows], items[rows], 0).sum(axis=1)
        elif kind == "total_mismatch":
            off = rng.choice([-3, -2, -1, 1, 2, 3], size=rows.size)
            total[rows] = np.where(total[rows] + off >= 0, total[rows] + off, total[rows] - off)
        else:  # no_items
            present[rows] = False


def _response_tables(
    rng: np.random.Generator, co: _Cohort, first_id: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """PHQ-9 and GAD-7 at every sitting, plus ISI / PDSS in those programmes; items per response."""
    course = _course(rng, co.program)
    a_owner, a_when = _administrations(rng, co)
    extra = EXTRA_INSTRUMENT[co.program[a_owner]]
    per_sitting = np.where(extra >= 0, 3, 2)
    sitting, pos = _ragged(per_sitting)
    owner = a_owner[sitting]
    instrument = np.where(pos == 0, PHQ9, np.where(pos == 1, GAD7, extra[sitting]))
    when = a_when[sitting] + pos * rng.integers(1 * MINUTE, 4 * MINUTE, sitting.size)
    when = np.minimum(when, co.last[owner])

    days = np.maximum(when - co.enrolled[owner], 0) / DAY
    total = _scores(rng, course, owner, instrument, days)
    items = _items(rng, course, owner, instrument, total)
    present = np.arange(9) < ITEM_COUNT[instrument][:, None]
    _corrupt(rng, instrument, items, present, total)

    order = np.lexsort((instrument, when, owner))
    ids = first_id + np.arange(order.size)
    present, items = present[order], items[order]
    r_idx, item_idx = np.nonzero(present)
    responses = {
        "id": ids,
        "patient_id": co.id[owner[order]],
        "instrument": np.array(INSTRUMENT_CODES)[instrument[order]],
        "administered_at": _ts(when[order]),
        "total_score": total[order],
    }
    response_items = {
        "response_id": ids[r_idx],
        "item": item_idx + 1,
        "score": items[r_idx, item_idx],
    }
    return responses, response_items


# --------------------------------------------------------------------------- messages


@dataclass
class _Messages:
    """Messages accumulated part by part before they are ordered and numbered."""

    owner: list[np.ndarray] = field(default_factory=list)
    sent: list[np.ndarray] = field(default_factory=list)
    read: list[np.ndarray | None] = field(default_factory=list)  # None: not read
    direction: list[np.ndarray] = field(default_factory=list)
    by_therapist: list[np.ndarray] = field(default_factory=list)

    def add(
        self,
        owner: np.ndarray,
        sent: np.ndarray,
        read: np.ndarray | None,
        direction: int,
        by_therapist: bool,
    ) -> None:
        self.owner.append(owner)
        self.sent.append(sent)
        self.read.append(read)
        self.direction.append(np.full(owner.size, direction))
        self.by_therapist.append(np.full(owner.size, by_therapist))


def _patient_messages(rng: np.random.Generator, co: _Cohort) -> tuple[np.ndarray, np.ndarray]:
    """(owner, sent) of patient messages: ~weekly while engaged, often one just before quitting."""
    n = co.id.size
    rate = rng.gamma(2.0, 0.55, n)
    count = rng.poisson(rate * (co.last - co.enrolled) / WEEK)
    owner, _ = _ragged(count)
    sent = co.enrolled[owner] + (rng.random(owner.size) * (co.last - co.enrolled)[owner]).astype(
        np.int64
    )
    final = np.flatnonzero(co.quit_by_now & (rng.random(n) < 0.3))
    final_sent = np.maximum(
        co.last[final] - rng.integers(0, DAY // 2, final.size), co.enrolled[final]
    )
    return np.concatenate([owner, final]), np.concatenate([sent, final_sent])


def _message_table(
    rng: np.random.Generator, staff: _Staff, co: _Cohort, now: int, first_id: int
) -> dict[str, np.ndarray]:
    """Patient messages and replies; welcome, feedback, check-in and closing messages; reminders."""
    n = co.id.size
    has_ther = co.therapist >= 0
    slowness = np.where(has_ther, staff.therapist_slowness[np.maximum(co.therapist, 0)], 1.0)
    wait = staff.therapist_wait[np.maximum(co.therapist, 0)]
    leave = np.where(has_ther, staff.therapist_leave[np.maximum(co.therapist, 0)], now + WEEK)
    cap = np.where(co.ended != NAT, co.ended, now)  # nothing is sent to a closed episode
    msgs = _Messages()

    def at_work(t: np.ndarray, owner: np.ndarray) -> np.ndarray:
        """When the therapist gets to it: working hours, and never once their leave began."""
        t = _office_hours(t, wait[owner], rng)
        return np.where(t >= leave[owner], now + WEEK, t)  # after now: dropped

    def later(t: np.ndarray, median_h: float, sigma: float, owner: np.ndarray) -> np.ndarray:
        delay = rng.lognormal(np.log(median_h), sigma, t.size) * slowness[owner] * HOUR
        return at_work(t + delay.astype(np.int64), owner)

    # Patient messages and the therapist's replies. Some are left for the next weekly
    # feedback instead (more so by busy therapists); some replies are still pending at now.
    p_owner, p_sent = _patient_messages(rng, co)
    reply = later(p_sent, 14, 0.9, p_owner)
    batched = np.minimum(0.12 * slowness[p_owner] ** 2, 0.5)
    replied = has_ther[p_owner] & (rng.random(p_owner.size) >= batched) & (reply <= cap[p_owner])
    seen = p_sent + (rng.lognormal(np.log(10), 1.0, p_owner.size) * HOUR).astype(np.int64)
    seen_unreplied = (
        has_ther[p_owner]
        & (rng.random(p_owner.size) < 0.5)
        & (seen <= np.minimum(now, leave[p_owner]))
    )
    p_read = np.where(
        replied,
        np.maximum(p_sent, reply - rng.integers(0, 30 * MINUTE, p_owner.size)),
        np.where(seen_unreplied, seen, NAT),
    )
    msgs.add(p_owner, p_sent, p_read, FROM_PATIENT, False)
    msgs.add(p_owner[replied], reply[replied], None, TO_PATIENT, True)

    # Welcome after enrolment, feedback after modules, weekly check-ins (and nudges after a lapse).
    welcome = np.flatnonzero(has_ther & (rng.random(n) < 0.9))
    msgs.add(welcome, later(co.enrolled[welcome], 8, 0.8, welcome), None, TO_PATIENT, True)
    c_owner, c_mod = np.nonzero(co.completed)
    give = has_ther[c_owner] & (rng.random(c_owner.size) < 0.85)
    c_owner = c_owner[give]
    feedback = later(co.module_done[c_owner, c_mod[give]], 20, 0.8, c_owner)
    msgs.add(c_owner, feedback, None, TO_PATIENT, True)
    weeks = np.where(has_ther, (np.minimum(co.last + 15 * DAY, cap) - co.enrolled) // WEEK, 0)
    w_owner, w_pos = _ragged(np.maximum(weeks, 0))
    check_in = co.enrolled[w_owner] + (w_pos + 1) * WEEK + rng.integers(-DAY, DAY, w_owner.size)
    written = rng.random(w_owner.size) < np.minimum(0.55 / slowness[w_owner], 0.9)
    w_owner = w_owner[written]
    msgs.add(w_owner, at_work(check_in[written], w_owner), None, TO_PATIENT, True)
    closing = np.flatnonzero(
        has_ther & (co.status == COMPLETED) & (co.ended < leave) & (rng.random(n) < 0.85)
    )
    msgs.add(closing, co.ended[closing], None, TO_PATIENT, True)

    # Automated reminders (no clinician) once a patient has gone quiet for a week.
    quiet = np.flatnonzero(rng.random(n) < 0.6)
    msgs.add(
        quiet, co.last[quiet] + 7 * DAY + rng.integers(0, DAY, quiet.size), None, TO_PATIENT, False
    )

    return _finish_messages(rng, staff, co, msgs, cap, now, first_id)


def _finish_messages(
    rng: np.random.Generator,
    staff: _Staff,
    co: _Cohort,
    msgs: _Messages,
    cap: np.ndarray,
    now: int,
    first_id: int,
) -> dict[str, np.ndarray]:
    """Drop what would be sent after now or after closure, add read times, order and number."""
    owner = np.concatenate(msgs.owner)
    sent = np.concatenate(msgs.sent)
    direction = np.concatenate(msgs.direction)
    by_therapist = np.concatenate(msgs.by_therapist)
    read = np.concatenate(
        [
            r if r is not None else np.full(o.size, NAT)
            for r, o in zip(msgs.read, msgs.owner, strict=True)
        ]
    )

    outgoing = direction == TO_PATIENT
    keep = np.where(outgoing, sent <= cap[owner], sent <= now) & (sent >= co.enrolled[owner])
    owner, sent, read, direction, by_therapist, outgoing = (
        a[keep] for a in (owner, sent, read, direction, by_therapist, outgoing)
    )

    # Patients read most messages while engaged, few once they have lapsed.
    engaged = sent <= co.last[owner] + DAY
    opened = sent + (rng.lognormal(np.log(5), 1.0, sent.size) * HOUR).astype(np.int64)
    reads = (rng.random(sent.size) < np.where(engaged, 0.93, 0.1)) & (opened <= now)
    read = np.where(outgoing, np.where(reads, opened, NAT), read)

    therapist = staff.therapist_id[np.maximum(co.therapist[owner], 0)]
    order = np.lexsort((direction, sent, owner))
    return {
        "id": first_id + np.arange(order.size),
        "patient_id": co.id[owner[order]],
        "clinician_id": np.where(by_therapist, therapist, np.nan)[order],
        "direction": DIRECTIONS[direction[order]],
        "sent_at": _ts(sent[order]),
        "read_at": _ts(read[order]),
    }


# --------------------------------------------------------------------------- loading


def _python_values(values: np.ndarray, timestamp: Callable[[np.ndarray], list]) -> list:
    """One column as Python values: NaN / NaT / None become None."""
    if values.dtype.kind == "f":
        null = np.isnan(values)
        out = np.where(null, 0, values).astype(np.int64).astype(object)
        out[null] = None
        return out.tolist()
    if values.dtype.kind == "M":
        out = np.asarray(timestamp(values), dtype=object)
        out[np.isnat(values)] = None
        return out.tolist()
    return values.tolist()


def _sqlite_timestamps(values: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD HH:MM:SS.ffffff' strings, exactly what SQLAlchemy's DateTime writes on SQLite.

    Built as a matrix of code points: numpy's own datetime_as_string is ~10x slower.
    """
    us = np.where(np.isnat(values), 0, values.astype(np.int64))
    day, tod = np.divmod(us, DAY)
    days, inverse = np.unique(day, return_inverse=True)
    dates = np.datetime_as_string(days.astype("datetime64[D]")).astype("<U10")
    out = np.empty((us.size, 26), np.uint32)
    out[:, :10] = dates.view(np.uint32).reshape(-1, 10)[inverse]
    sec, frac = np.divmod(tod, SECOND)
    fields = ((11, sec // 3600, 2), (14, sec // 60 % 60, 2), (17, sec % 60, 2), (20, frac, 6))
    for col, value, width in fields:
        for i in range(width):
            out[:, col + i] = 48 + value // 10 ** (width - 1 - i) % 10
    out[:, [10, 13, 16, 19]] = [ord(" "), ord(":"), ord(":"), ord(".")]
    return out.view("<U26").ravel()


class _SqliteLoader:
    """executemany through the sqlite3 driver, one transaction per chunk, no fsync while loading."""

    def __init__(self, conn: Connection) -> None:
        self.db = conn.connection.driver_connection
        self.synchronous = self.db.execute("PRAGMA synchronous").fetchone()[0]
        self.db.execute("PRAGMA synchronous=OFF")

    def load(self, table: Table, cols: dict[str, np.ndarray]) -> None:
        names = list(cols)
        sql = (
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        )
        values = [_python_values(cols[c], _sqlite_timestamps) for c in names]
        if not self.db.in_transaction:
            self.db.execute("BEGIN")
        self.db.executemany(sql, zip(*values, strict=True))

    def end_chunk(self) -> None:
        self.db.commit()

    def close(self) -> None:
        if self.db.in_transaction:  # only after a failure: end_chunk commits
            self.db.rollback()
        self.db.execute(f"PRAGMA synchronous={int(self.synchronous)}")


PG_EPOCH_US = 946_684_800 * SECOND  # PostgreSQL binary timestamps count from 2000-01-01
PG_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
PG_COPY_TRAILER = b"\xff\xff"


def _be_bytes(values: np.ndarray, dtype: str) -> np.ndarray:
    """Big-endian bytes of each value as an (n, width) uint8 matrix."""
    return values.astype(dtype).view(np.uint8).reshape(values.size, -1)


def _pg_field(values: np.ndarray, encoding: str) -> tuple[np.ndarray, np.ndarray]:
    """One column of a binary COPY: (bytes matrix, mask of the bytes that are really there).

    Each field is a 4-byte length (-1 for NULL) followed by that many bytes; a row is its
    fields' real bytes back to back, so the stream is matrix[mask] in row-major order.
    """
    kind = values.dtype.kind
    if kind in "iuf":
        null = np.isnan(values) if kind == "f" else np.zeros(values.size, bool)
        data = _be_bytes(np.where(null, 0, values), ">i4")
        size = np.where(null, -1, 4)
    elif kind == "M":
        null = np.isnat(values)
        data = _be_bytes(np.where(null, 0, values.astype(np.int64) - PG_EPOCH_US), ">i8")
        size = np.where(null, -1, 8)
    else:
        null = np.equal(values, None) if kind == "O" else np.zeros(values.size, bool)
        raw = np.strings.encode(np.where(null, "", values).astype(str), encoding)
        data = raw.view(np.uint8).reshape(values.size, -1)
        size = np.where(null, -1, np.strings.str_len(raw))
    lengths = _be_bytes(size, ">i4")
    mask = np.arange(data.shape[1]) < np.maximum(size, 0)[:, None]
    return np.hstack([lengths, data]), np.hstack([np.ones_like(lengths, bool), mask])


def _pg_copy_data(cols: list[np.ndarray], encoding: str) -> bytes:
    n = cols[0].size
    count = _be_bytes(np.full(n, len(cols)), ">i2")
    fields = [_pg_field(c, encoding) for c in cols]
    matrix = np.hstack([count] + [f[0] for f in fields])
    mask = np.hstack([np.ones_like(count, bool)] + [f[1] for f in fields])
    body = matrix.tobytes() if mask.all() else matrix[mask].tobytes()
    return PG_COPY_HEADER + body + PG_COPY_TRAILER


class _PostgresLoader:
    """Binary COPY ... FREEZE: the tables were created in this transaction, so rows land frozen
    and all-visible (no VACUUM needed for index-only scans)."""

    def __init__(self, conn: Connection) -> None:
        self.pg = conn.connection.driver_connection
        self.encoding = self.pg.info.encoding

    def load(self, table: Table, cols: dict[str, np.ndarray]) -> None:
        data = _pg_copy_data(list(cols.values()), self.encoding)
        sql = f"COPY {table.name} ({', '.join(cols)}) FROM STDIN (FORMAT BINARY, FREEZE)"
        with self.pg.cursor() as cur, cur.copy(sql) as copy:
            copy.write(data)

    def end_chunk(self) -> None:
        pass

    def close(self) -> None:
        pass


class _GenericLoader:
    """Plain SQLAlchemy inserts for any other backend: correct, not fast."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def load(self, table: Table, cols: dict[str, np.ndarray]) -> None:
        names = list(cols)
        values = [
            _python_values(cols[c], lambda v: v.astype("datetime64[us]").tolist()) for c in names
        ]
        self.conn.execute(
            insert(table), [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]
        )

    def end_chunk(self) -> None:
        self.conn.commit()

    def close(self) -> None:
        pass


_Loader = _SqliteLoader | _PostgresLoader | _GenericLoader


def _loader(conn: Connection) -> _Loader:
    name = conn.dialect.name
    if name == "sqlite":
        return _SqliteLoader(conn)
    if name == "postgresql" and conn.dialect.driver == "psycopg":
        return _PostgresLoader(conn)
    return _GenericLoader(conn)


# --------------------------------------------------------------------------- schema


def _reset_schema(conn: Connection) -> None:
    """Drop and recreate the platform tables without secondary indexes (built after the load).

    Refuses when platform tables exist that this generator did not create. Tables
    outside the platform schema (the dashboard's dash_ tables) are never touched.
    """
    existing = set(inspect(conn).get_table_names())
    if existing & set(metadata.tables) and demo_meta.name not in existing:
        raise DemoRefused(
            "refusing to overwrite a platform database that the demo generator did not create"
        )
    demo_meta.create(conn, checkfirst=True)
    conn.execute(delete(demo_meta))
    metadata.drop_all(conn)
    for table in metadata.sorted_tables:
        conn.execute(CreateTable(table))


def _create_indexes(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    for table in metadata.sorted_tables:
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            index.create(conn)


def _analyze(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.execute(text("PRAGMA analysis_limit=1000"))
    if conn.dialect.name in ("sqlite", "postgresql"):
        for table in [*metadata.sorted_tables, demo_meta]:
            conn.execute(text(f"ANALYZE {table.name}"))
    conn.commit()


def _database_bytes(conn: Connection) -> int | None:
    if conn.dialect.name == "sqlite":
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        pages = conn.execute(text("PRAGMA page_count")).scalar_one()
        return pages * conn.execute(text("PRAGMA page_size")).scalar_one()
    if conn.dialect.name == "postgresql":
        return conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    return None


# --------------------------------------------------------------------------- public API


def generate(
    engine: Engine,
    patients: int = DEFAULT_PATIENTS,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
) -> GenerationReport:
    """Replace the platform tables with a synthetic service of ``patients`` patients as of ``now``.

    Raises DemoRefused if the database holds platform tables but no demo_meta table.
    """
    if patients < 1:
        raise ValueError("patients must be at least 1")
    now = _naive_utc(now) if now is not None else _utc_now()
    began = time.perf_counter()
    with engine.connect() as conn:
        _reset_schema(conn)
        if conn.dialect.name != "postgresql":
            conn.commit()  # PostgreSQL loads in this same transaction (COPY FREEZE)
        rows = _load(conn, _chunks(np.random.default_rng(seed), patients, _to_us(now)))
        _create_indexes(conn)
        _write_meta(conn, now=now.isoformat(), seed=str(seed), patients=str(patients))
        conn.commit()
        _analyze(conn)
        db_bytes = _database_bytes(conn)
        conn.commit()
    return GenerationReport(seconds=time.perf_counter() - began, rows=rows, db_bytes=db_bytes)


_Chunk = list[tuple[str, dict[str, np.ndarray]]]


def _chunks(rng: np.random.Generator, patients: int, now: int) -> Iterator[_Chunk]:
    """The platform's rows: reference tables first, then CHUNK_PATIENTS patients at a time."""
    staff = _staff(rng, patients, now)
    codes = _patient_codes(rng, patients)
    programs, modules = _program_tables()
    yield [
        ("teams", staff.teams),
        ("clinicians", staff.clinicians),
        ("programs", programs),
        ("modules", modules),
    ]
    next_id = dict.fromkeys(("activity", "responses", "messages"), 1)
    for start in range(0, patients, CHUNK_PATIENTS):
        ids = np.arange(start + 1, min(start + CHUNK_PATIENTS, patients) + 1)
        co = _cohort(rng, staff, ids, now)
        chunk = [
            ("patients", _patients_table(rng, staff, co, codes[start : start + ids.size])),
            ("module_progress", _module_progress_table(co)),
            ("activity", _activity_table(rng, co, next_id["activity"])),
        ]
        responses, items = _response_tables(rng, co, next_id["responses"])
        chunk += [
            ("responses", responses),
            ("response_items", items),
            ("messages", _message_table(rng, staff, co, now, next_id["messages"])),
        ]
        for name, cols in chunk:
            if name in next_id:
                next_id[name] += cols["id"].size
        yield chunk


def _load(conn: Connection, chunks: Iterator[_Chunk]) -> dict[str, int]:
    """Load every chunk with the backend's fastest loader; rows loaded per table."""
    rows = dict.fromkeys(metadata.tables, 0)
    loader = _loader(conn)
    try:
        for chunk in chunks:
            for name, cols in chunk:
                loader.load(metadata.tables[name], cols)
                rows[name] += next(iter(cols.values())).size
            loader.end_chunk()
    finally:
        loader.close()
    return rows


def _write_meta(conn: Connection, now: str, seed: str, patients: str) -> None:
    """Written last: a run that died half-way has no generated_for and is regenerated."""
    meta = {
        "generated_for": now,
        "seed": seed,
        "patients": patients,
        "generator_version": GENERATOR_VERSION,
    }
    conn.execute(insert(demo_meta), [{"key": k, "value": v} for k, v in meta.items()])


def _patient_codes(rng: np.random.Generator, patients: int) -> np.ndarray:
    """Unique pseudonymous codes like 'P-04821', drawn from ten times more numbers than patients."""
    width = max(5, len(str(patients * 10 - 1)))
    numbers = rng.choice(10**width, size=patients, replace=False)
    return np.strings.add("P-", np.strings.zfill(numbers.astype(str), width))


def read_generated_for(engine: Engine) -> datetime | None:
    """The ``now`` a demo database was generated for; None unless it is a complete demo database."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(demo_meta.name):
            return None
        value = conn.execute(
            select(demo_meta.c.value).where(demo_meta.c.key == "generated_for")
        ).scalar()
    return datetime.fromisoformat(value) if value else None
