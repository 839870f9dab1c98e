"""Teams, clinicians (the demo logins among them) and the programme tables."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dashboard.demo.care_team import peers_per_team
from dashboard.demo.clock import DAY, WEEK, _days_to_workday
from dashboard.demo.common import DEMO_USERS
from dashboard.demo.content import FIRST_NAMES, MODULE_SUMMARIES, SURNAMES, TEAM_NAMES
from dashboard.demo.profiles import Profile, Program


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
    peer_id: np.ndarray  # peer supporters (dashboard.demo.care_team)
    peer_team: np.ndarray


def _staff_sizes(patients: int) -> tuple[int, int, int]:
    """(teams, therapists, GPs) for a service of this size: ~60 per therapist, 6 GPs in the demo."""
    n_teams = max(2, round(patients / 5000))
    n_therapists = max(4 * n_teams, round(patients / 60))
    n_gps = max(6, round(patients / 80)) if patients <= 1000 else round(patients / 25)
    return n_teams, n_therapists, n_gps


def _staff(rng: np.random.Generator, patients: int, now: int, profile: Profile) -> _Staff:
    n_teams, n_ther, n_gps = _staff_sizes(patients)
    n_peers = n_teams * peers_per_team(patients, n_teams, profile)
    demo = {username: (name, team) for username, _role, name, team in DEMO_USERS}
    pool = rng.permutation(FIRST_NAMES.size * SURNAMES.size)
    people = [f"{FIRST_NAMES[i // SURNAMES.size]} {SURNAMES[i % SURNAMES.size]}" for i in pool]

    usernames, names, roles, team_ids = [], [], [], []
    for role, prefix, count, title in (
        ("therapist", "therapist", n_ther, ""),
        ("gp", "gp", n_gps, "Dr "),
        ("team_lead", "lead", n_teams, ""),
        ("peer_supporter", "peer", n_peers, ""),  # last: the other clinicians keep their ids
    ):
        for i in range(1, count + 1):
            username = f"{prefix}{i}"
            team = None if role == "gp" else (i - 1) % n_teams + 1
            name = demo[username][0] if username in demo else title + people[len(names) % len(people)]
            usernames.append(username)
            names.append(name)
            roles.append(role)
            team_ids.append(np.nan if team is None else team)

    ids = np.arange(1, len(usernames) + 1)
    role_arr = np.array(roles)
    team_arr = np.array(team_ids)
    therapist = role_arr == "therapist"
    share = rng.gamma(16.0, 1 / 16.0, n_ther)
    team_names = [TEAM_NAMES[i] if i < len(TEAM_NAMES) else f"iCBT team {i + 1}" for i in range(n_teams)]
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
        peer_id=ids[role_arr == "peer_supporter"],
        peer_team=team_arr[role_arr == "peer_supporter"].astype(np.int64),
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


def _program_tables(run: tuple[Program, ...]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The programmes a profile runs and their modules, ids in that order."""
    programs = {
        "id": np.arange(1, len(run) + 1),
        "code": np.array([p[0] for p in run]),
        "name": np.array([p[1] for p in run]),
        "primary_instrument": np.array([p[2] for p in run]),
    }
    titles = [(pid, pos, title) for pid, p in enumerate(run, 1) for pos, title in enumerate(p[3], 1)]
    modules = {
        "id": np.arange(1, len(titles) + 1),
        "program_id": np.array([t[0] for t in titles]),
        "position": np.array([t[1] for t in titles]),
        "title": np.array([t[2] for t in titles]),
        "summary": np.array([MODULE_SUMMARIES.get(t[2]) for t in titles], dtype=object),
    }
    return programs, modules
