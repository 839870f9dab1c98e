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
        odd = {7: "active, with an end date", 13: "closed, no end date"}.get(i % 20)  # bad data the rules cover
        _patient(
            platform,
            rng,
            f"S{seed}-{i:03d}",
            team=1,
            therapist=rng.choice(therapists),
            gp=rng.choice([3, 4, None]),
            odd=odd,
        )
    for i in range(n_team2):  # never in lead.a's scope, even with a team-1 therapist or GP
        _patient(
            platform,
            rng,
            f"S{seed}-T2-{i:02d}",
            team=2,
            therapist=rng.choice([7, 1]),
            gp=rng.choice([3, None]),
            busy=True,
        )


def _patient(
    platform: Platform,
    rng: random.Random,
    code: str,
    team: int,
    therapist,
    gp,
    busy: bool = False,
    odd: str | None = None,
) -> int:
    program = rng.choices(["depression", "anxiety", "insomnia"], weights=[5, 4, 1])[0]
    n_modules = PROGRAMS[program][3]
    enrolled = rng.uniform(0.3, 200)
    status = rng.choices(["active", "completed", "withdrawn"], weights=[6, 2.5, 2])[0]
    if odd == "active, with an end date":
        status = "active"
    elif odd == "closed, no end date":
        status = rng.choice(["completed", "withdrawn"])

    # module progress, in order from enrolment: (programme, position, started, completed) in days ago
    plan: list[tuple[str, int, float, float | None]] = []
    t = enrolled - rng.uniform(0.2, 6)
    keep_going = 0.93 if status == "completed" else 0.75
    for k in range(1, n_modules + 1):
        if t <= 0.05:
            break
        start, done = t, None
        if rng.random() < 0.82:
            done = start - rng.uniform(0.05, 9)
            if done <= 0.02:
                done = None
        if done is not None and rng.random() < 0.03:
            done = start + rng.uniform(0.1, 1.0)  # "completed" before it started: not a duration
        plan.append((program, k, start, done))
        if done is None and rng.random() < 0.7:
            break  # stopped in the middle of module k
        if done is not None and rng.random() > keep_going:
            break  # completed k, never started k + 1
        t = min(start, done if done is not None else start) - rng.uniform(0.1, 8)
    if rng.random() < 0.08:  # another programme's module: activity, but never a programme module
        s = rng.uniform(0.05, enrolled)
        plan.append(("panic", 1, s, s - rng.uniform(0.01, s) if rng.random() < 0.7 else None))

    if status == "active":
        ended = rng.uniform(0.05, enrolled) if odd else None
    elif odd:
        ended = None  # closed without an end date: counts as ended all along, never open
    elif status == "completed":
        last = min([x for _, _, s, d in plan for x in (s, d) if x is not None] or [enrolled])
        ended = max(0.03, last - rng.uniform(0.05, 5))
    else:
        ended = rng.uniform(0.03, enrolled)
    pid = platform.patient(
        code,
        program,
        therapist=therapist,
        gp=gp,
        team=team,
        enrolled_days_ago=enrolled,
        status=status,
        ended_days_ago=ended,
    )
    for row in plan:
        platform.module(pid, *row)

    latest = max(0.01, (ended or 0.0) - 5)  # events run from just before enrolment to a little after the end

    def when(lo: float = latest, hi: float = enrolled + 1) -> float:
        return rng.uniform(lo, max(lo, hi))

    def clinician() -> int:
        return therapist if therapist is not None and rng.random() < 0.8 else rng.choice([1, 2, 7])

    for _ in range(rng.randint(0, 20 if busy else 6)):
        platform.activity(pid, when(), rng.choice(["login", "module_page", "exercise"]))
    for _ in range(rng.randint(0, 10 if busy else 4)):
        sent = when()
        platform.message(pid, sent, "from_patient")
        if rng.random() < 0.6 and sent - 0.02 > 0.01:
            platform.message(pid, rng.uniform(max(0.005, sent - 4), sent - 0.01), "to_patient", clinician=clinician())
        if rng.random() < 0.35:  # automated: never clinician contact
            platform.message(pid, rng.uniform(0.002, sent), "to_patient", clinician=None)
    for _, _, _, done in plan:  # feedback on completed modules, sometimes within 48 h
        if done is not None and rng.random() < 0.55 and done > 0.02:
            platform.message(
                pid, rng.uniform(max(0.005, done - 3.5), done - 0.005), "to_patient", clinician=clinician()
            )
    for _ in range(rng.randint(0, 8 if busy else 3)):
        platform.message(pid, when(), "to_patient", clinician=clinician())
    for _ in range(rng.randint(0, 2)):
        platform.message(pid, when(), "to_patient", clinician=None)

    if status != "active" or rng.random() < 0.7:  # questionnaires: baseline (maybe too early), follow-ups
        phq, gad = rng.randint(3, 24), rng.randint(2, 21)
        base = enrolled + rng.uniform(-2, 18)
        times = [base] + [when(hi=base) for _ in range(rng.randint(0, 4))]
        for i, at in enumerate(sorted(times, reverse=True)):
            if at <= 0.01:
                continue
            if i:
                phq = min(24, max(0, phq + rng.randint(-12, 6)))
                gad = min(21, max(0, gad + rng.randint(-9, 5)))
            platform.phq9(pid, at, phq)
            if rng.random() < 0.85:
                platform.gad7(pid, max(0.005, at - rng.uniform(0.001, 0.5)), gad)
    return pid


# ---------------------------------------------------------------- the oracle


def _ts(t) -> pd.Timestamp:
    return pd.Timestamp(t)


def _median(values: pd.Series) -> float | None:
    values = values.dropna()
    return None if values.empty else float(values.median())


def _share(n, d) -> float | None:
    return None if not d else n / d


class Oracle:
    """Every Caseload figure recomputed in pandas from whole platform tables."""

    def __init__(self, engine, lead: str = "lead.a"):
        def read(name: str, *times: str) -> pd.DataFrame:
            frame = pd.read_sql_table(name, engine)
            for col in times:
                frame[col] = pd.to_datetime(frame[col])
            return frame

        clinicians = read("clinicians")
        self.team = int(clinicians.loc[clinicians["username"] == lead, "team_id"].iloc[0])
        self.team_therapists = set(
            clinicians.loc[(clinicians["role"] == "therapist") & (clinicians["team_id"] == self.team), "id"].astype(int)
        )
        p = read("patients", "enrolled_at", "ended_at")
        p["tid"] = p["therapist_id"].fillna(UNASSIGNED).astype(int)
        self.patients = p
        mods = read("modules")
        self.modules = mods[["id", "program_id", "position"]].rename(columns={"id": "module_id"})
        self.n_modules = mods.groupby("program_id").size()
        mp = read("module_progress", "started_at", "completed_at").merge(
            self.modules.rename(columns={"program_id": "module_program"}), on="module_id"
        )
        mp = mp.merge(p[["id", "program_id"]].rename(columns={"id": "patient_id"}), on="patient_id")
        self.progress = mp
        self.own = mp[mp["module_program"] == mp["program_id"]]  # programme modules only
        msgs = read("messages", "sent_at")
        self.patient_msgs = msgs[msgs["direction"] == "from_patient"]
        self.contacts = msgs[(msgs["direction"] == "to_patient") & msgs["clinician_id"].notna()]
        acts = read("activity", "occurred_at")
        resp = read("responses", "administered_at")
        ev = [
            acts[["patient_id", "occurred_at"]].set_axis(["patient_id", "at"], axis=1),
            resp[["patient_id", "administered_at"]].set_axis(["patient_id", "at"], axis=1),
            self.patient_msgs[["patient_id", "sent_at"]].set_axis(["patient_id", "at"], axis=1),
            mp[["patient_id", "started_at"]].set_axis(["patient_id", "at"], axis=1),
            mp[["patient_id", "completed_at"]].dropna().set_axis(["patient_id", "at"], axis=1),
        ]
        self.events = pd.concat(ev, ignore_index=True)
        items = read("response_items")
        per = items.groupby("response_id").agg(
            n=("item", "nunique"), total=("score", "sum"), lo=("score", "min"), hi=("score", "max")
        )
        r = resp.merge(per, left_on="id", right_index=True, how="left")
        complete = (r["instrument"].map(ITEMS) == r["n"]) & (r["lo"] >= 0) & (r["hi"] <= 3)
        self.scores = r[complete & r["instrument"].isin(list(ITEMS))][
            ["id", "patient_id", "instrument", "administered_at", "total"]
        ]
        self._inputs: dict = {}
        self._episodes: dict = {}

    # --- patients and states

    def scope(self, f: Filters) -> pd.DataFrame:
        p = self.patients
        keep = p["team_id"] == self.team
        if f.program_id is not None:
            keep &= p["program_id"] == f.program_id
        if f.therapist_id is not None:
            keep &= p["therapist_id"] == f.therapist_id
        if f.cohort is not None:
            keep &= p["enrolled_at"].between(_ts(f.cohort[0]), _ts(f.cohort[1]))
        return p[keep]

    @staticmethod
    def open_at(p: pd.DataFrame, t) -> pd.Series:
        t = _ts(t)
        return (p["enrolled_at"] <= t) & ((p["ended_at"] > t) | (p["ended_at"].isna() & (p["status"] == "active")))

    @staticmethod
    def ended_by(p: pd.DataFrame, t) -> pd.Series:
        return (p["status"] != "active") & (p["ended_at"].isna() | (p["ended_at"] <= _ts(t)))

    def active_between(self, p: pd.DataFrame, lo, hi) -> pd.Series:
        ev = self.events[self.events["at"].between(_ts(lo), _ts(hi))]
        return p["id"].isin(ev["patient_id"]) | p["enrolled_at"].between(_ts(lo), _ts(hi))

    def contacted_between(self, p: pd.DataFrame, lo, hi) -> pd.Series:
        c = self.contacts[self.contacts["sent_at"].between(_ts(lo), _ts(hi))]
        return p["id"].isin(c["patient_id"])

    def first_contact(self, rows: pd.DataFrame, col: str, hi) -> pd.Series:
        """Per row (patient_id, ``col``): the first clinician contact at or after ``col``, up to ``hi``."""
        pairs = (
            rows[["patient_id", col]]
            .reset_index()
            .merge(self.contacts[["patient_id", "sent_at"]].rename(columns={"sent_at": "_c"}), on="patient_id")
        )
        pairs = pairs[(pairs["_c"] >= pairs[col]) & (pairs["_c"] <= _ts(hi))]
        return pairs.groupby("index")["_c"].min().reindex(rows.index)

    def with_tid(self, rows: pd.DataFrame, p: pd.DataFrame) -> pd.DataFrame:
        return rows.merge(p[["id", "tid"]].rename(columns={"id": "patient_id"}), on="patient_id").reset_index(drop=True)

    # --- figures

    def period_inputs(self, f: Filters) -> dict:
        if f not in self._inputs:  # asked again for the page's headline and as the previous period
            self._inputs[f] = self._period_inputs(f)
        return self._inputs[f]

    def _period_inputs(self, f: Filters) -> dict:
        S, T = _ts(f.start), _ts(f.end)
        p = self.scope(f)
        o = p[self.open_at(p, T)]
        open_ = pd.DataFrame(
            {
                "therapist_id": o["tid"],
                "open": 1,
                "active_recent": self.active_between(o, T - RECENT, T).astype(int),
                "contacted_recent": self.contacted_between(o, T - RECENT, T).astype(int),
            }
        )
        open_ = open_.groupby("therapist_id").sum()

        m = self.with_tid(self.patient_msgs[self.patient_msgs["sent_at"].between(S, T)], p)
        m["reply_at"] = self.first_contact(m, "sent_at", T)
        m["hours"] = (m["reply_at"] - m["sent_at"]) / pd.Timedelta(hours=1)
        reply = {
            "messages": len(m),
            "answered": int(m["reply_at"].notna().sum()),
            "median_reply_hours": _median(m["hours"]),
        }
        reply_by = (
            m.groupby("tid")
            .agg(messages=("sent_at", "size"), answered=("reply_at", "count"), median_reply_hours=("hours", "median"))
            .rename_axis("therapist_id")
        )

        c = self.with_tid(self.own[self.own["completed_at"].between(S, T)], p)
        c["contact_at"] = self.first_contact(c, "completed_at", T)
        c["judged"] = c["completed_at"] <= T - FEEDBACK
        c["in_time"] = c["judged"] & ((c["contact_at"] - c["completed_at"]) <= FEEDBACK)
        c["pending"] = ~c["judged"]
        feedback = {
            "completions": int(c["judged"].sum()),
            "in_time": int(c["in_time"].sum()),
            "pending": int(c["pending"].sum()),
        }
        feedback_by = (
            c.groupby("tid")[["judged", "in_time", "pending"]]
            .sum()
            .astype(int)
            .rename(columns={"judged": "completions"})
            .rename_axis("therapist_id")
        )
        return {"open": open_, "reply": reply, "reply_by": reply_by, "feedback": feedback, "feedback_by": feedback_by}

    @staticmethod
    def headline(d: dict) -> dict[str, tuple]:
        """figure -> (numerator, denominator, value). Denominators of open_episodes (none) and
        median_reply_hours (answered of messages) follow the implementation; the spec is silent."""
        o, r, fb = d["open"], d["reply"], d["feedback"]
        opens, active, contacted = (int(o[c].sum()) for c in ("open", "active_recent", "contacted_recent"))
        return {
            "open_episodes": (opens, None, float(opens)),
            "active_recent": (active, opens, _share(active, opens)),
            "contact_recent": (contacted, opens, _share(contacted, opens)),
            "median_reply_hours": (r["answered"], r["messages"], r["median_reply_hours"]),
            "feedback_in_time": (fb["in_time"], fb["completions"], _share(fb["in_time"], fb["completions"])),
        }

    def population(self, f: Filters) -> pd.DataFrame:
        p = self.scope(f)
        return p[p["enrolled_at"] <= _ts(f.end)]

    def adherence(self, f: Filters) -> tuple[pd.DataFrame, pd.DataFrame]:
        T = _ts(f.end)
        pop = self.population(f)
        n_mod = pop["program_id"].map(self.n_modules).fillna(0)
        n_done = pop["id"].map(self.own[self.own["completed_at"] <= T].groupby("patient_id").size()).fillna(0)
        full = (n_mod > 0) & (n_done >= n_mod)
        ended = self.ended_by(pop, T)
        withdrawn = ended & (pop["status"] == "withdrawn")
        lapsed = self.open_at(pop, T) & ~self.active_between(pop, T - LAPSE, T)
        dropout = ~full & (withdrawn | lapsed)
        last = pop["id"].map(self.own[self.own["started_at"] <= T].groupby("patient_id")["position"].max())
        per = pd.DataFrame(
            {
                "program_id": pop["program_id"],
                "enrolled": 1,
                "ended": ended,
                "full_completers": ended & full,
                "completers_80": ended & (n_done * 10 >= n_mod * 8),
                "withdrawn_early": withdrawn & ~full,
                "lapsed_early": lapsed & ~full,
                "dropouts": dropout,
                "dropouts_not_started": dropout & last.isna(),
            }
        )
        per = per.groupby("program_id").sum().astype(int)
        # every module of each programme with patients: who started it, completed it, dropped out at it
        rows = (
            pop[["id", "program_id"]].assign(last=last.fillna(0), dropout=dropout).merge(self.modules, on="program_id")
        )
        started_rows = self.progress[self.progress["started_at"] <= T]
        started = set(zip(started_rows["patient_id"], started_rows["module_id"]))
        done_rows = started_rows[started_rows["completed_at"] <= T]
        done = set(zip(done_rows["patient_id"], done_rows["module_id"]))
        keys = list(zip(rows["id"], rows["module_id"]))
        by = pd.DataFrame(
            {
                "program_id": rows["program_id"],
                "position": rows["position"],
                "started": [k in started for k in keys],
                "completed": [k in done for k in keys],
                "dropouts": rows["dropout"] & (rows["last"] == rows["position"]),
            }
        )
        by = by.groupby(["program_id", "position"]).sum().astype(int)
        return per, by

    def funnel(self, f: Filters) -> pd.DataFrame:
        T = _ts(f.end)
        pop = self.population(f)
        rows = pop.assign(ended=self.ended_by(pop, T), days=(T - pop["enrolled_at"]) // DAY).merge(
            self.modules, on="program_id"
        )
        started = self.progress[self.progress["started_at"] <= T]
        started_keys = set(zip(started["patient_id"], started["module_id"]))
        rows["eligible"] = rows["ended"] | (rows["days"] >= rows["position"] * PACE_DAYS + GRACE_DAYS)
        rows["started"] = rows["eligible"] & pd.Series(
            [k in started_keys for k in zip(rows["id"], rows["module_id"])], index=rows.index, dtype=bool
        )
        return rows.groupby(["program_id", "position"])[["eligible", "started"]].sum().astype(int)

    def module_days(self, f: Filters) -> pd.DataFrame:
        T = _ts(f.end)
        c = self.own[
            self.own["patient_id"].isin(self.population(f)["id"])
            & (self.own["completed_at"] <= T)
            & (self.own["completed_at"] >= self.own["started_at"])
        ]
        c = c.assign(days=(c["completed_at"] - c["started_at"]) / DAY)
        return c.groupby(["program_id", "position"]).agg(median_days=("days", "median"), completions=("days", "size"))

    def lapsed(self, f: Filters) -> pd.DataFrame:
        T = _ts(f.end)
        p = self.scope(f)
        o = p[self.open_at(p, T) & ~self.active_between(p, T - LAPSE, T)]
        last = self.events[self.events["at"] <= T].groupby("patient_id")["at"].max()
        last_at = o["id"].map(last).fillna(o["enrolled_at"])
        out = pd.DataFrame({"code": o["code"], "tid": o["tid"], "days_inactive": ((T - last_at) // DAY).astype(int)})
        return out.sort_values(["days_inactive", "code"], ascending=[False, True]).reset_index(drop=True)

    def episodes(self, f: Filters, since) -> pd.DataFrame:
        if (f, since) not in self._episodes:
            self._episodes[f, since] = self._finished(f, since)
        return self._episodes[f, since]

    def _finished(self, f: Filters, since) -> pd.DataFrame:
        T = _ts(f.end)
        p = self.scope(f)
        fin = p[p["status"].isin(["completed", "withdrawn"]) & p["ended_at"].between(_ts(since), T)]
        rows = []
        for e in fin.itertuples(index=False):
            own = self.own[self.own["patient_id"] == e.id]
            if (own["completed_at"] <= e.ended_at).sum() < 2:
                continue
            s = self.scores[
                (self.scores["patient_id"] == e.id)
                & self.scores["administered_at"].between(e.enrolled_at - BASELINE, e.ended_at)
            ]
            s = s.sort_values("administered_at")
            phq, gad = (s.loc[s["instrument"] == i, "total"].tolist() for i in ("PHQ9", "GAD7"))
            row = {
                "patient_id": e.id,
                "program_id": e.program_id,
                "tid": e.tid,
                "ended_at": e.ended_at,
                "paired": len(phq) >= 2 and len(gad) >= 2,
            }
            if row["paired"]:
                row.update(nhs_outcome_32(phq[0], phq[-1], gad[0], gad[-1]))
            rows.append(row)
        cols = [
            "patient_id",
            "program_id",
            "tid",
            "ended_at",
            "paired",
            "case_start",
            "recovery",
            "reliable_improvement",
            "reliable_recovery",
            "reliable_deterioration",
        ]
        return pd.DataFrame(rows, columns=cols)

    @staticmethod
    def rates(ep: pd.DataFrame) -> dict[str, tuple[int, int, float | None]]:
        paired = ep[ep["paired"].astype(bool)]
        at_case = paired[paired["case_start"].astype(bool)]

        def rate(frame, col):
            n, d = int(frame[col].astype(bool).sum()), len(frame)
            return n, d, (None if d == 0 or d < MIN_CELL else n / d)

        return {
            "recovery": rate(at_case, "recovery"),
            "reliable_recovery": rate(at_case, "reliable_recovery"),
            "reliable_improvement": rate(paired, "reliable_improvement"),
            "reliable_deterioration": rate(paired, "reliable_deterioration"),
        }

    def trends(self, f: Filters, episodes: pd.DataFrame) -> pd.DataFrame:
        """Week w covers (T - 7(w+1) days, T - 7w days]."""
        T = _ts(f.end)
        p = self.scope(f)
        enrolled = p["enrolled_at"].to_numpy()
        ends, active = p["ended_at"].to_numpy(), (p["status"] == "active").to_numpy()
        completed = self.own.loc[self.own["patient_id"].isin(p["id"]), "completed_at"].dropna().to_numpy()
        ended = episodes["ended_at"].to_numpy(dtype="datetime64[ns]")

        def flag(col: str):
            return episodes[col].map(lambda v: bool(v) if not _missing(v) else False).to_numpy(dtype=bool)

        at_case = flag("paired") & flag("case_start")
        recovered = at_case & flag("recovery")
        rows = []
        for w in range(WEEKS):
            lo, hi = T - pd.Timedelta(days=7 * (w + 1)), T - pd.Timedelta(days=7 * w)
            lo64, hi64 = lo.to_datetime64(), hi.to_datetime64()
            week = (ended > lo64) & (ended <= hi64)
            n, d = int((week & recovered).sum()), int((week & at_case).sum())
            rows.append(
                {
                    "week": w,
                    "enrolments": int(((enrolled > lo64) & (enrolled <= hi64)).sum()),
                    "module_completions": int(((completed > lo64) & (completed <= hi64)).sum()),
                    "open_episodes": int(((enrolled <= hi64) & ((ends > hi64) | (pd.isna(ends) & active))).sum()),
                    "recovery_numerator": n,
                    "recovery_denominator": d,
                    "recovery_rate": None if d == 0 or d < MIN_CELL else n / d,
                }
            )
        return pd.DataFrame(rows).set_index("week")


def nhs_outcome_32(phq_first, phq_last, gad_first, gad_last) -> dict:
    """clinical-reference.md 3.2 with GAD-7 as the anxiety measure (deterioration on either measure)."""
    d_phq, d_gad = phq_last - phq_first, gad_last - gad_first
    case_start = phq_first >= PHQ_CUT or gad_first >= GAD_CUT
    case_end = phq_last >= PHQ_CUT or gad_last >= GAD_CUT
    improved = d_phq <= -PHQ_RC or d_gad <= -GAD_RC
    deteriorated = d_phq >= PHQ_RC or d_gad >= GAD_RC
    recovery = case_start and not case_end
    return {
        "case_start": case_start,
        "recovery": recovery,
        "reliable_improvement": improved and not deteriorated,
        "reliable_recovery": recovery and improved and not deteriorated,
        "reliable_deterioration": deteriorated,
    }


# ---------------------------------------------------------------- comparing


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT


def same(got, want) -> bool:
    if _missing(got) or _missing(want):
        return _missing(got) and _missing(want)
    if isinstance(want, bool) or isinstance(got, bool):
        return bool(got) == bool(want)
    if isinstance(want, float) or isinstance(got, float):
        return float(got) == pytest.approx(float(want), rel=1e-6, abs=1e-6)
    return got == want


class Diffs(list):
    """Every mismatch of one run, so a failure lists them all."""

    def eq(self, what: str, got, want) -> None:
        got = got.item() if hasattr(got, "item") else got
        want = want.item() if hasattr(want, "item") else want
        if not same(got, want):
            self.append(f"{what}: got {got!r}, expected {want!r}")

    def frames(self, what: str, got: pd.DataFrame, want: pd.DataFrame, keys: list[str], cols: list[str]) -> None:
        """``got``: the library's frame with ``keys`` as columns; ``want``: the oracle's, indexed by ``keys``."""
        got_rows = {tuple(int(r[k]) for k in keys): r for r in got.to_dict("records")}
        want_rows = {
            tuple(int(v) for v in r[: len(keys)]): dict(zip(cols, r[len(keys) :]))
            for r in want.reset_index()[[*keys, *cols]].itertuples(index=False)
        }
        for key in sorted(set(got_rows) | set(want_rows)):
            if key not in got_rows or key not in want_rows:
                expected = {c: want_rows[key][c] for c in cols} if key in want_rows else None
                actual = {c: got_rows[key][c] for c in cols} if key in got_rows else None
                self.append(
                    f"{what} {dict(zip(keys, key))}: row {'missing' if key not in got_rows else 'unexpected'}"
                    f" (expected {expected}, got {actual})"
                )
                continue
            for c in cols:
                self.eq(f"{what} {dict(zip(keys, key))} {c}", got_rows[key][c], want_rows[key][c])


# ---------------------------------------------------------------- the checks (library vs oracle)


SETTINGS = Settings()


@dataclass
class Run:
    conn: object
    viewer: object
    oracle: Oracle
    diffs: Diffs


def check_period_inputs(run: Run, name: str, f: Filters) -> None:
    got, want = period_inputs(run.conn, run.viewer, f, SETTINGS), run.oracle.period_inputs(f)
    d = run.diffs
    d.frames(f"{name} open", got["open"], want["open"], ["therapist_id"], ["open", "active_recent", "contacted_recent"])
    for k in ("messages", "answered", "median_reply_hours"):
        d.eq(f"{name} reply {k}", got["reply"][k], want["reply"][k])
    d.frames(
        f"{name} reply_by",
        got["reply_by"],
        want["reply_by"],
        ["therapist_id"],
        ["messages", "answered", "median_reply_hours"],
    )
    for k in ("completions", "in_time", "pending"):
        d.eq(f"{name} feedback {k}", got["feedback"][k], want["feedback"][k])
    d.frames(
        f"{name} feedback_by",
        got["feedback_by"],
        want["feedback_by"],
        ["therapist_id"],
        ["completions", "in_time", "pending"],
    )


def check_adherence(run: Run, name: str, f: Filters) -> None:
    per, by = adherence(run.conn, run.viewer, f, SETTINGS)
    want_per, want_by = run.oracle.adherence(f)
    run.diffs.frames(f"{name} adherence", per, want_per, ["program_id"], list(want_per.columns))
    run.diffs.frames(
        f"{name} dropout_by_module", by, want_by, ["program_id", "position"], ["started", "completed", "dropouts"]
    )


def check_funnel(run: Run, name: str, f: Filters) -> None:
    run.diffs.frames(
        f"{name} funnel",
        funnel(run.conn, run.viewer, f, SETTINGS),
        run.oracle.funnel(f),
        ["program_id", "position"],
        ["eligible", "started"],
    )


def check_module_days(run: Run, name: str, f: Filters) -> None:
    run.diffs.frames(
        f"{name} module_days",
        module_days(run.conn, run.viewer, f),
        run.oracle.module_days(f),
        ["program_id", "position"],
        ["completions", "median_days"],
    )


def check_lapsed(run: Run, name: str, f: Filters) -> None:
    got = lapsed_patients(run.conn, run.viewer, f, SETTINGS)
    want = run.oracle.lapsed(f)
    run.diffs.eq(
        f"{name} lapsed (code, days_inactive) in order",
        list(zip(got["code"], got["days_inactive"].astype(int))),
        list(zip(want["code"], want["days_inactive"])),
    )


def check_outcomes(run: Run, name: str, f: Filters) -> None:
    since = f.end - timedelta(days=7 * WEEKS)
    got = finished_episodes(run.conn, run.viewer, f, SETTINGS, since)
    want = run.oracle.episodes(f, since)
    d = run.diffs
    d.eq(f"{name} finished episodes", sorted(int(i) for i in got["patient_id"]), sorted(want["patient_id"]))
    mine = got.set_index(got["patient_id"].astype(int))
    for e in want.itertuples(index=False):
        if e.patient_id not in mine.index:
            continue
        g = mine.loc[e.patient_id]
        d.eq(f"{name} episode {e.patient_id} paired", bool(g["paired"]), e.paired)
        if not e.paired:
            continue
        # recovery / reliable recovery only where defined (at caseness at the start); the
        # reference leaves them undefined otherwise and the rates never use them there
        cols = ["case_start", "reliable_improvement", "reliable_deterioration"]
        cols += ["recovery", "reliable_recovery"] if e.case_start else []
        for c in cols:
            d.eq(f"{name} episode {e.patient_id} {c}", bool(g[c]), getattr(e, c))
    got_rates, want_rates = outcome_rates(got, MIN_CELL), Oracle.rates(want)
    for k, (n, den, r) in want_rates.items():
        g = got_rates[k]
        d.eq(f"{name} {k} rate parts", (g.numerator, g.denominator), (n, den))
        d.eq(f"{name} {k} rate", g.rate, r)
    # the trends, fed the oracle's episodes (so weekly_trends is checked on its own)
    trends = weekly_trends(run.conn, run.viewer, f, _as_library_episodes(want), WEEKS, MIN_CELL)
    check_trends(run, name, f, trends, run.oracle.trends(f, want))


def _as_library_episodes(ep: pd.DataFrame) -> pd.DataFrame:
    return ep.rename(columns={"tid": "therapist_id"})


def check_trends(run: Run, name: str, f: Filters, got: pd.DataFrame, want: pd.DataFrame) -> None:
    run.diffs.frames(f"{name} trends", got, want, ["week"], list(want.columns))
    for _, r in got.iterrows():
        w = int(r["week"])
        run.diffs.eq(f"{name} trends week {w} end", _ts(r["week_end"]), _ts(f.end) - pd.Timedelta(days=7 * w))


def check_page(run: Run, name: str, f: Filters, engine) -> None:
    """The top-level caseload(): headline (with the previous period), workload, outcome counts, trends."""
    page = caseload(engine, engine, run.viewer, f, SETTINGS, UTC)
    o, d = run.oracle, run.diffs
    length = f.end - f.start  # previous: the same filters over (S - L, S), as of S
    previous = Filters(f.start - length, f.start, f.program_id, f.therapist_id, f.cohort)
    now_in, before_in = o.period_inputs(f), o.period_inputs(previous)
    now, before = o.headline(now_in), o.headline(before_in)
    head = page.headline.set_index("figure")
    for fig, (n, den, v) in now.items():
        d.eq(f"{name} headline {fig} numerator", head.loc[fig, "numerator"], n)
        d.eq(f"{name} headline {fig} denominator", head.loc[fig, "denominator"], den)
        d.eq(f"{name} headline {fig} value", head.loc[fig, "value"], v)
        d.eq(f"{name} headline {fig} previous", head.loc[fig, "previous"], before[fig][2])

    # workload: every team therapist (even with no patients), unassigned when it has patients
    lapsed = o.lapsed(f).groupby("tid").size()
    wl = page.workload.set_index("therapist_id")
    expect_ids = (
        {f.therapist_id}
        if f.therapist_id is not None
        else o.team_therapists | set(o.scope(f)["therapist_id"].dropna().astype(int))
    )
    shown = set(now_in["open"].index) | set(now_in["reply_by"].index) | set(lapsed.index)
    if f.therapist_id is None and UNASSIGNED in shown:
        expect_ids.add(UNASSIGNED)
    d.eq(f"{name} workload therapists", sorted(int(i) for i in wl.index), sorted(expect_ids))

    def get(frame: pd.DataFrame, tid: int, col: str, default=0):
        return frame.loc[tid, col] if tid in frame.index else default

    for tid in sorted(expect_ids & {int(i) for i in wl.index}):
        row = wl.loc[tid]
        want = {
            "caseload": get(now_in["open"], tid, "open"),
            "active_recent": get(now_in["open"], tid, "active_recent"),
            "messages": get(now_in["reply_by"], tid, "messages"),
            "answered": get(now_in["reply_by"], tid, "answered"),
            "median_reply_hours": get(now_in["reply_by"], tid, "median_reply_hours", None),
            "feedback_completions": get(now_in["feedback_by"], tid, "completions"),
            "feedback_in_time": get(now_in["feedback_by"], tid, "in_time"),
            "lapsed": int(lapsed.get(tid, 0)),
        }
        for c, v in want.items():
            d.eq(f"{name} workload {tid} {c}", row[c], v)

    # outcomes per programme: episodes finished in the period (ended at or after its start)
    since = min(f.start, f.end - timedelta(days=7 * WEEKS))
    episodes = o.episodes(f, since)
    in_period = episodes[episodes["ended_at"] >= _ts(f.start)]
    out = page.outcomes.set_index("program_id")
    for pid, mine in in_period.groupby("program_id"):
        if pid not in out.index:
            d.append(f"{name} outcomes: no row for programme {pid}")
            continue
        d.eq(f"{name} outcomes {pid} finished", out.loc[pid, "finished"], len(mine))
        d.eq(f"{name} outcomes {pid} paired", out.loc[pid, "paired"], int(mine["paired"].sum()))
        for k, (n, den, _rate) in Oracle.rates(mine).items():
            d.eq(
                f"{name} outcomes {pid} {k}",
                (out.loc[pid, f"{k}_numerator"], out.loc[pid, f"{k}_denominator"]),
                (n, den),
            )
    check_trends(run, f"{name} page", f, page.trends, o.trends(f, episodes))


CHECKS = [check_period_inputs, check_adherence, check_funnel, check_module_days, check_lapsed, check_outcomes]


# ---------------------------------------------------------------- the cases


def days(n: float) -> timedelta:
    return timedelta(days=n)


PERIODS = {  # name: (start, end); the second ends in the past, so later rows exist and must not count
    "default": (NOW - days(90), NOW),
    "past": (NOW - days(80), NOW - days(20)),
}


def filter_cases() -> list[tuple[str, Filters, bool]]:
    """(name, filters, also check the whole page): every filter on both periods; the page
    (caseload(), which repeats every query) on a subset, to keep the runtime down."""
    out = []
    for period, (s, e) in PERIODS.items():
        out += [
            (f"{period}", Filters(s, e), True),
            (f"{period}/ther.b", Filters(s, e, therapist_id=2), period == "default"),
            (f"{period}/anxiety", Filters(s, e, program_id=2), False),
            (f"{period}/cohort", Filters(s, e, cohort=(NOW - days(150), NOW - days(45))), False),
        ]
    return out


NOBODY = [
    ("no such programme", Filters(NOW - days(90), NOW, program_id=4)),
    ("other team's therapist", Filters(NOW - days(90), NOW, therapist_id=7)),
    ("empty cohort", Filters(NOW - days(90), NOW, cohort=(NOW - days(900), NOW - days(800)))),
]


def make_platform(db_url: str) -> Platform:
    platform = Platform(make_engine(db_url), NOW)
    db.upgrade(platform.engine)
    return platform


# ---------------------------------------------------------------- the tests


def assert_not_degenerate(o: Oracle) -> None:
    """The random data gives each figure something to count (else agreement proves little)."""
    f = Filters(NOW - days(90), NOW)
    inputs = o.period_inputs(f)
    per, by = o.adherence(f)
    episodes = o.episodes(f, NOW - days(182))
    assert inputs["open"]["open"].sum() > 10 and inputs["open"]["contacted_recent"].sum() > 0
    assert 0 < inputs["reply"]["answered"] < inputs["reply"]["messages"]
    assert 0 < inputs["feedback"]["in_time"] < inputs["feedback"]["completions"]
    assert per["dropouts"].sum() > 0 and per["withdrawn_early"].sum() > 0 and per["lapsed_early"].sum() > 0
    assert per["full_completers"].sum() > 0 and len(by) > 1
    assert len(o.lapsed(f)) > 0
    assert episodes["paired"].sum() >= MIN_CELL and (~episodes["paired"].astype(bool)).sum() > 0


@pytest.mark.parametrize("seed", SEEDS)
def test_caseload_figures_match_the_pandas_oracle(db_url, seed):
    platform = make_platform(db_url)
    build(platform, seed)
    oracle = Oracle(platform.engine)
    viewer = load_viewer(platform.engine, "lead.a")
    assert len(oracle.scope(Filters(NOW - days(90), NOW))) == 60  # team 2 is in the tables, never in scope
    assert_not_degenerate(oracle)
    diffs = Diffs()
    with platform.engine.connect() as conn:
        run = Run(conn, viewer, oracle, diffs)
        for name, f, page in filter_cases():
            for check in CHECKS:
                check(run, name, f)
            if page:
                check_page(run, name, f, platform.engine)
    assert not diffs, f"{len(diffs)} disagreement(s):\n" + "\n".join(diffs[:60])


def test_team_two_never_influences_any_figure(db_url):
    platform = make_platform(db_url)
    build(platform, SEEDS[0], n_team1=30, n_team2=0)
    viewer = load_viewer(platform.engine, "lead.a")
    f = Filters(NOW - days(90), NOW)
    before = caseload(platform.engine, platform.engine, viewer, f, SETTINGS, UTC)
    rng = random.Random(99)
    for i in range(6):  # busy team-2 patients, some with team 1's therapists and GP
        _patient(platform, rng, f"INTRUDER-{i}", team=2, therapist=[1, 2, 7][i % 3], gp=3, busy=True)
    after = caseload(platform.engine, platform.engine, viewer, f, SETTINGS, UTC)
    for part in (
        "headline",
        "funnel",
        "adherence",
        "dropout_by_module",
        "module_days",
        "lapsed",
        "workload",
        "outcomes",
        "outcomes_by_therapist",
        "gp_compliance",
        "trends",
    ):
        pd.testing.assert_frame_equal(getattr(after, part), getattr(before, part), obj=part)


def test_a_filter_that_matches_nobody(db_url):
    platform = make_platform(db_url)
    build(platform, SEEDS[0], n_team1=15)
    viewer = load_viewer(platform.engine, "lead.a")
    oracle = Oracle(platform.engine)
    for name, f in NOBODY:
        assert oracle.scope(f).empty, name
        with platform.engine.connect() as conn:
            inputs = period_inputs(conn, viewer, f, SETTINGS)
            assert inputs["open"].empty, name
            assert inputs["reply"] == {"messages": 0, "answered": 0, "median_reply_hours": None}, name
            assert inputs["feedback"] == {"completions": 0, "in_time": 0, "pending": 0}, name
            per, by = adherence(conn, viewer, f, SETTINGS)
            assert per.empty and by.empty, name
            assert funnel(conn, viewer, f, SETTINGS).empty and module_days(conn, viewer, f).empty, name
            assert lapsed_patients(conn, viewer, f, SETTINGS).empty, name
            episodes = finished_episodes(conn, viewer, f, SETTINGS, f.end - days(182))
            assert episodes.empty, name
            assert all(
                r.numerator == 0 and r.denominator == 0 and r.rate is None
                for r in outcome_rates(episodes, MIN_CELL).values()
            ), name
            trends = weekly_trends(conn, viewer, f, episodes, WEEKS, MIN_CELL)
            assert len(trends) == WEEKS, name
            counts = trends[["enrolments", "module_completions", "open_episodes", "recovery_denominator"]]
            assert (counts == 0).all().all() and trends["recovery_rate"].isna().all(), name
        page = caseload(platform.engine, platform.engine, viewer, f, SETTINGS, UTC)
        head = page.headline.set_index("figure")
        assert head.loc["open_episodes", "value"] == 0, name
        for fig in ("active_recent", "contact_recent", "median_reply_hours", "feedback_in_time"):
            assert _missing(head.loc[fig, "value"]) and _missing(head.loc[fig, "previous"]), (name, fig)
        assert (page.workload["caseload"] == 0).all(), name
        assert page.lapsed.empty and page.funnel.empty and page.module_days.empty, name
