"""The cohort of patients: enrolment, programme, status and module progress."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dashboard.demo.clock import DAY, ENROLMENT_WINDOW_DAYS, NAT, _logit, _sigmoid
from dashboard.demo.content import (
    ACTIVE,
    COMPLETED,
    FIRST_NAMES,
    LONG_PATIENT_NAMES,
    MAX_MODULES,
    STATUSES,
    SURNAMES,
    WITHDRAWN,
)
from dashboard.demo.profiles import Profile
from dashboard.demo.staff import _Staff


@dataclass(frozen=True)
class _Cohort:
    """One chunk of patients and their planned course; times in µs unless named *_d (days)."""

    id: np.ndarray
    profile: Profile
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


def _cohort(rng: np.random.Generator, staff: _Staff, ids: np.ndarray, now: int, profile: Profile) -> _Cohort:
    """Enrolment, allocation, module timeline, drop-out and closure of a chunk of patients."""
    n = ids.size
    rows = np.arange(n)
    enrolled = now - (rng.random(n) * ENROLMENT_WINDOW_DAYS * DAY).astype(np.int64)
    program = rng.choice(len(profile.programs), size=n, p=profile.mix)
    n_mod = profile.module_count[program]

    assigned = rng.random(n) >= 0.01
    therapist = np.where(assigned, rng.choice(staff.therapist_id.size, size=n, p=staff.therapist_share), -1)
    team = np.where(assigned, staff.therapist_team[therapist], rng.integers(1, staff.n_teams + 1, n))
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

    started = ((k < stop[:, None]) | ((k == stop[:, None]) & opened[:, None])) & (start_d <= age_d[:, None])
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
        profile=profile,
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


def _patients_table(rng: np.random.Generator, staff: _Staff, co: _Cohort, codes: np.ndarray) -> dict[str, np.ndarray]:
    has_therapist = co.therapist >= 0
    return {
        "id": co.id,
        "code": codes,
        "display_name": _patient_names(rng, co.id.size),
        "program_id": co.program + 1,
        "therapist_id": np.where(has_therapist, staff.therapist_id[np.maximum(co.therapist, 0)], np.nan),
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
        "module_id": co.profile.module_id_offset[co.program[patient]] + module + 1,
        "started_at": _ts(co.module_start[patient, module]),
        "completed_at": _ts(np.where(done, co.module_done[patient, module], NAT)),
    }


def _ts(us: np.ndarray) -> np.ndarray:
    """int64 µs (NAT = null) as datetime64[us], the form loaders take timestamps in."""
    return us.astype(np.int64).view("datetime64[us]")
