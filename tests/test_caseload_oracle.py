"""Caseload figures (dashboard.caseload) against an independent pandas oracle.

A seeded random caseload is built with tests/factory.py on each backend; the
oracle reads every platform table whole and recomputes each figure from the
written definitions (period inputs, headline, adherence, funnel, module days,
lapsed patients, finished episodes and NHS outcomes, weekly trends, workload).
Only function signatures are taken from dashboard.caseload; the oracle's rules
are written out here. Timestamps are drawn from continuous distributions, so no
event sits on a period boundary (boundary cases are tested elsewhere).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from dashboard import db
from dashboard.caseload import (
    Filters,
    adherence,
    caseload,
    finished_episodes,
    funnel,
    lapsed_patients,
    module_days,
    outcome_rates,
    period_inputs,
    weekly_trends,
)
from dashboard.config import Settings
from dashboard.engine import make_engine
from dashboard.scope import load_viewer
from tests.factory import PROGRAMS, Platform

NOW = datetime(2026, 3, 10, 12, 0)
UTC = ZoneInfo("UTC")
DAY = pd.Timedelta(days=1)
SEEDS = (11, 23, 47)
NO_THER_B_SEED = 47  # in this dataset ther.b has no patients (the workload must still list them)

# Recent/feedback/lapse windows, as the default Settings state them (spec values).
RECENT = pd.Timedelta(days=7)
FEEDBACK = pd.Timedelta(hours=48)
LAPSE = pd.Timedelta(days=28)
PACE_DAYS, GRACE_DAYS = 7, 28
BASELINE = pd.Timedelta(days=14)
WEEKS = 26
MIN_CELL = 5
PHQ_CUT, PHQ_RC, GAD_CUT, GAD_RC = 10, 6, 8, 4
ITEMS = {"PHQ9": 9, "GAD7": 7}
UNASSIGNED = -1


# ---------------------------------------------------------------- the data


def build(platform: Platform, seed: int, n_team1: int = 60, n_team2: int = 4) -> None:
    """A random but seeded caseload. Times are "days ago" floats (never whole days)."""
    rng = random.Random(seed)
    therapists = [1, 2, None] if seed != NO_THER_B_SEED else [1, 1, None]
    for i in range(n_team1):
        _patient(platform, rng, f"S{seed}-{i:03d}", team=1, therapist=rng.choice(therapists),
                 gp=rng.choice([3, 4, None]))
    for i in range(n_team2):  # never in lead.a's scope, even with a team-1 therapist or GP
        _patient(platform, rng, f"S{seed}-T2-{i:02d}", team=2, therapist=rng.choice([7, 1]), gp=rng.choice([3, None]),
                 busy=True)


