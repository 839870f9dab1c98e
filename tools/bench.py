"""Benchmark: ``caseboard bench``.

Times the data work behind each page for a typical viewer, uncached (median of
``--repeat`` runs after a warm-up) and as a cache hit, against a naive baseline
(whole tables through ``read_sql`` plus vectorised pandas) that must give the
same answer. Each measurement runs in a fresh subprocess so its peak memory is
its own. Database builds are reused (keyed by size and seed) and timed apart.

It also times the team lead's Caseload read from the team's snapshot
(``caseload_snapshot``, dashboard/team_snapshot.py), the same read after a follow-up
stored since its build (``_patched``) and the refresher's build of it (``_build``); and
``caseboard refresh`` (dashboard/refresh.py): the first full refresh of an empty state
database, an incremental one a minute later (after a minute of the service's
responses, re-reading the overlap window too) and a full reconcile. The pages are
timed with the refresher's per-response facts in place (``_refreshed``), as a
service running ``caseboard refresh --every`` has them.
The JSON output records the frozen benchmark profile (``PROFILE``) beside the rows,
so figures stay comparable when the demo generator changes.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url

from dashboard import caseload as caseload_mod
from dashboard import db, demo, flags, followups_due, refresh, schema, team_snapshot
from dashboard import my_patients as my_patients_data
from dashboard import patient as patient_data
from dashboard import response_facts as response_facts_mod
from dashboard import triage as triage_mod
from dashboard.commands import command
from dashboard.config import DATA_DIR, ROOT, Settings
from dashboard.engine import make_engine
from dashboard.logs import proc_memory_mb
from dashboard.measures import INSTRUMENTS, score_responses
from dashboard.scope import Viewer, load_viewer, patient_filter
from dashboard.state_tables import followups, refresh_lease, refresh_marks, response_facts, team_snapshots
from dashboard.timeutil import days_since

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_DIR = DATA_DIR / "bench"
SEED = 7
VIEWER = "therapist1"  # a typical therapist: about 60 patients at every size
EVENT_TABLES = ("activity", "responses", "messages")
REFRESH = "refresh"  # the refresher's timings, beside the page queries
SNAPSHOT = "caseload_snapshot"  # the lead's Caseload read from the team's snapshot, and its build
SPECIAL = (REFRESH, SNAPSHOT)  # timed by their own measurement, with no baseline or cache
# The benchmark's frozen profile: change PROFILE_VERSION whenever anything here, or what
# the generator makes with demo.BENCH for this seed, changes, so old and new figures are
# not compared (tests/test_bench.py pins a hash of it). The demo's own profile (the
# default) may change freely: the bench never uses it.
PROFILE_VERSION = 1
PROFILE = {
    "version": PROFILE_VERSION,
    "seed": SEED,
    "generator": "dashboard.demo.generate(engine, patients=N, seed=SEED, profile=demo.BENCH)",
    "viewers": {"therapist": VIEWER, "gp": "gp1", "team_lead": "lead1"},
    "refresh_minute": "responses per minute over the 30 days before the demo's now, at least 1",
}


@dataclass
class Result:
    backend: str
    patients: int
    events: int
    query: str
    median_ms: float
    baseline_ms: float | None
    cached_ms: float | None
    peak_rss_mb: float


# ---------------------------------------------------------------- databases


def database_url(backend: str, size: int, pg_url: str) -> str:
    if backend == "sqlite":
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{BENCH_DIR}/bench-{size}-s{SEED}-p{PROFILE_VERSION}.sqlite"
    name = f"caseboard_bench_{size}_s{SEED}_p{PROFILE_VERSION}"  # a new profile never reuses an old build
    return make_url(pg_url).set(database=name).render_as_string(hide_password=False)


def ensure_database(backend: str, size: int, pg_url: str) -> tuple[str, float | None]:
    """(url, build seconds or None when reused)."""
    url = database_url(backend, size, pg_url)
    if backend == "postgresql":
        admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
        name = make_url(url).database
        with admin.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    engine = make_engine(url)
    db.upgrade(engine)  # the state tables live beside the platform tables here
    if demo.read_generated_for(engine) is not None and _patient_count(engine) == size:
        _refreshed(engine)
        return url, None
    started = time.perf_counter()
    demo.generate(engine, patients=size, seed=SEED, profile=demo.BENCH)
    built = time.perf_counter() - started
    _refreshed(engine)
    engine.dispose()
    return url, built


def _refreshed(engine: Engine) -> None:
    """The pages are timed as a service with its refresher running sees them: the kept
    per-response facts (dashboard.response_facts) up to date at the demo's now. Only
    a database without them, or kept by another definition, is refreshed (untimed)."""
    now = demo.read_generated_for(engine)
    with engine.connect() as conn:
        mark = refresh.read_mark(conn)
    if now is not None and (mark is None or mark.facts_hash != response_facts_mod.definition_hash()):
        refresh.refresh(engine, engine, refresh.stopped_clock(now))


def _patient_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(schema.patients)) or 0


def event_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return sum(conn.scalar(select(func.count()).select_from(schema.metadata.tables[t])) for t in EVENT_TABLES)


# ---------------------------------------------------------------- queries

NAIVE_TABLES = (
    "patients",
    "programs",
    "modules",
    "module_progress",
    "activity",
    "responses",
    "response_items",
    "messages",
)


def _whole_tables(engine: Engine) -> dict[str, pd.DataFrame]:
    """The naive baselines' first step: every platform table read whole into pandas."""
    with engine.connect() as conn:
        return {name: pd.read_sql_table(name, conn) for name in NAIVE_TABLES}


def _lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """``values[key]`` for each key, NaN/NaT where absent. Not ``Series.map``: pandas 3
    cannot map through an empty datetime Series (a service where no module is unfed)."""
    return pd.Series(values.reindex(keys.to_numpy()).to_numpy(), index=keys.index)


def naive_my_patients(engine: Engine, viewer: Viewer, now: datetime) -> pd.DataFrame:
    """What a dashboard without SQL would do: load whole tables, then pandas."""
    t = _whole_tables(engine)
    p = t["patients"]
    owner = {
        "gp": ("gp_id", viewer.clinician_id),
        "therapist": ("therapist_id", viewer.clinician_id),
        "team_lead": ("team_id", viewer.team_id),
    }[viewer.role]
    p = p[p[owner[0]] == owner[1]].merge(
        t["programs"][["id", "primary_instrument"]].rename(columns={"id": "program_id"}), on="program_id"
    )
    mods = t["modules"].rename(columns={"id": "module_id"})
    mp = (
        t["module_progress"]
        .merge(mods, on="module_id")
        .merge(p[["id", "program_id"]].rename(columns={"id": "patient_id"}), on=["patient_id", "program_id"])
    )
    done = mp[mp["completed_at"].notna() & (mp["completed_at"] <= now)]
    p = p.assign(modules_completed=_lookup(p["id"], done.groupby("patient_id").size()).fillna(0).astype(int))

    def latest(frame: pd.DataFrame, col: str) -> pd.Series:
        frame = frame[frame[col] <= now]
        return frame.groupby("patient_id")[col].max()

    msgs = t["messages"]
    mp_all = t["module_progress"]
    inputs = pd.concat(
        [
            _lookup(p["id"], latest(t["activity"], "occurred_at")),
            _lookup(p["id"], latest(t["responses"], "administered_at")),
            _lookup(p["id"], latest(msgs[msgs["direction"] == "from_patient"], "sent_at")),
            _lookup(p["id"], latest(mp_all, "started_at")),
            _lookup(p["id"], latest(mp_all.dropna(subset=["completed_at"]), "completed_at")),
        ],
        axis=1,
    )
    p = p.assign(last_activity_at=inputs.max(axis=1).fillna(p["enrolled_at"]))
    p = p.assign(days_since_activity=days_since(p["last_activity_at"], now))

    r = t["responses"]
    r = r[r["patient_id"].isin(p["id"]) & (r["administered_at"] <= now)]
    r = r.merge(
        p[["id", "primary_instrument"]].rename(columns={"id": "patient_id", "primary_instrument": "instrument"}),
        on=["patient_id", "instrument"],
    )
    scored = _score_naively(r.rename(columns={"id": "response_id"}), t["response_items"])
    scored = scored[scored["valid"]].sort_values(["administered_at", "response_id"]).groupby("patient_id").tail(1)
    p = p.assign(latest_score=_lookup(p["id"], scored.set_index("patient_id")["score"]))
    return (
        p.rename(columns={"id": "patient_id"})
        .sort_values("code")[["code", "modules_completed", "days_since_activity", "latest_score"]]
        .reset_index(drop=True)
    )


def _score_naively(r: pd.DataFrame, all_items: pd.DataFrame) -> pd.DataFrame:
    """Aggregate item rows per response in pandas, then the same scoring rules."""
    items = all_items.merge(r[["response_id", "instrument"]], on="response_id")
    lo = items["instrument"].map({k: v.item_min for k, v in INSTRUMENTS.items()})
    hi = items["instrument"].map({k: v.item_max for k, v in INSTRUMENTS.items()})
    n = items["instrument"].map({k: v.n_items for k, v in INSTRUMENTS.items()})
    valid = items[items["score"].between(lo, hi) & items["item"].between(1, n)]
    agg = pd.DataFrame(
        {
            "n_item_rows": items.groupby("response_id").size(),
            "n_valid_items": valid.groupby("response_id")["item"].nunique(),
            "valid_item_sum": valid.groupby("response_id")["score"].sum(),
        }
    )
    risk = valid[(valid["instrument"] == "PHQ9") & (valid["item"] == INSTRUMENTS["PHQ9"].risk_item)]
    agg["risk_item_score"] = risk.groupby("response_id")["score"].max()
    r = r.merge(agg, left_on="response_id", right_index=True, how="left")
    return score_responses(r.fillna({"n_item_rows": 0, "n_valid_items": 0, "valid_item_sum": 0}))


def optimised_my_patients(engine: Engine, viewer: Viewer, now: datetime) -> pd.DataFrame:
    return my_patients_data.my_patients(engine, viewer, now)


def cached_my_patients(engine: Engine, viewer: Viewer, now: datetime) -> pd.DataFrame:
    from dashboard.ui import cached

    return cached.my_patients(engine, str(engine.url), viewer, Settings())[0]


def typical_patient_code(engine: Engine, viewer: Viewer) -> str:
    """The first of the viewer's patients by code: a patient with a full record."""
    with engine.connect() as conn:
        return conn.scalar(select(func.min(schema.patients.c.code)).where(patient_filter(viewer)))


def optimised_patient(engine: Engine, viewer: Viewer, now: datetime) -> pd.DataFrame:
    """Everything the patient page reads for one patient."""
    settings = Settings()
    patient = patient_data.find_patient(engine, viewer, typical_patient_code(engine, viewer))
    rows, _summary, inputs = patient_data.load_page(engine, viewer, patient, now, settings)
    flags.evaluate(inputs, now, settings)
    return rows.responses[["response_id", "score"]]


def naive_patient(engine: Engine, viewer: Viewer, now: datetime) -> pd.DataFrame:
    code = typical_patient_code(engine, viewer)
    with engine.connect() as conn:
        t = {
            name: pd.read_sql_table(name, conn)
            for name in ("patients", "module_progress", "activity", "responses", "response_items", "messages")
        }
    pid = t["patients"].loc[t["patients"]["code"] == code, "id"].iloc[0]
    for name in ("module_progress", "activity", "messages"):
        t[name] = t[name][t[name]["patient_id"] == pid]
    r = t["responses"]
    r = r[(r["patient_id"] == pid) & (r["administered_at"] <= now)].rename(columns={"id": "response_id"})
    scored = _score_naively(r, t["response_items"])
    return scored[["response_id", "score"]]


def cached_patient(engine: Engine, viewer: Viewer, now: datetime) -> pd.DataFrame:
    from dashboard.ui import cached

    settings = Settings()
    patient = patient_data.find_patient(engine, viewer, typical_patient_code(engine, viewer))
    return cached.patient_page(engine, engine, str(engine.url), viewer, patient, settings, "UTC", 0)[0].responses


def optimised_triage(engine: Engine, viewer: Viewer, now: datetime) -> pd.DataFrame:
    queue = triage_mod.triage(engine, engine, viewer, now, Settings()).queue
    return pd.DataFrame(
        {
            "code": queue["code"],
            "flags": [" ".join(f) for f in queue["flags"]],
            "reasons": ["; ".join(r) for r in queue["reasons"]],
        }
    )


def naive_triage(engine: Engine, viewer: Viewer, now: datetime) -> pd.DataFrame:
    """Whole tables in pandas, then the same pure flag evaluation."""
    t = _whole_tables(engine)
    column, owner = {
        "gp": ("gp_id", viewer.clinician_id),
        "therapist": ("therapist_id", viewer.clinician_id),
        "team_lead": ("team_id", viewer.team_id),
    }[viewer.role]
    p = t["patients"][t["patients"][column] == owner].rename(columns={"id": "patient_id"})
    p = p.merge(
        t["programs"][["id", "primary_instrument"]].rename(columns={"id": "program_id"}), on="program_id", how="left"
    )

    def latest(frame: pd.DataFrame, col: str) -> pd.Series:
        return frame[frame[col] <= now].groupby("patient_id")[col].max()

    msgs, mp = t["messages"], t["module_progress"]
    msgs = msgs[msgs["sent_at"] <= now]
    contact = (
        msgs[(msgs["direction"] == "to_patient") & msgs["clinician_id"].notna()].groupby("patient_id")["sent_at"].max()
    )
    patient_msgs = msgs[msgs["direction"] == "from_patient"]
    p["last_event"] = _lookup(p["patient_id"], latest(t["activity"], "occurred_at"))
    p["last_response"] = _lookup(p["patient_id"], latest(t["responses"], "administered_at"))
    p["last_patient_message"] = _lookup(p["patient_id"], latest(patient_msgs, "sent_at"))
    p["last_module_start"] = _lookup(p["patient_id"], latest(mp, "started_at"))
    p["last_module_completion"] = _lookup(p["patient_id"], latest(mp.dropna(subset=["completed_at"]), "completed_at"))
    p["last_contact"] = _lookup(p["patient_id"], contact)
    since = _lookup(patient_msgs["patient_id"], contact).fillna(flags.EPOCH)
    p["first_unanswered"] = _lookup(
        p["patient_id"], patient_msgs[patient_msgs["sent_at"] > since].groupby("patient_id")["sent_at"].min()
    )
    unanswered = patient_msgs[patient_msgs["sent_at"] > since]
    p["unanswered_ids"] = _lookup(
        p["patient_id"], unanswered.groupby("patient_id")["id"].agg(lambda v: ",".join(map(str, v)))
    )
    done = mp.merge(t["modules"].rename(columns={"id": "module_id"}), on="module_id").merge(
        p[["patient_id", "program_id"]], on=["patient_id", "program_id"]
    )
    done = done[done["completed_at"].notna() & (done["completed_at"] <= now)]
    unfed = done[done["completed_at"] > _lookup(done["patient_id"], contact).fillna(flags.EPOCH)]
    p["first_unfed_completion"] = _lookup(p["patient_id"], unfed.groupby("patient_id")["completed_at"].min())
    p["unfed_modules"] = _lookup(
        p["patient_id"], unfed.groupby("patient_id")["module_id"].agg(lambda v: ",".join(map(str, v)))
    )
    p["last_activity_at"] = p[my_patients_data.LAST_ACTIVITY_INPUTS].max(axis=1).fillna(p["enrolled_at"])
    p["gp"] = None  # named only in a GP's follow-up request, and the baseline reads no follow-ups
    r = t["responses"]
    r = r[r["patient_id"].isin(p["patient_id"]) & (r["administered_at"] <= now)].rename(columns={"id": "response_id"})
    scored = _score_naively(r, t["response_items"])
    found = flags.evaluate(flags.FlagInputs(p, scored), now, Settings())
    queue = flags.rank_patients(found, p)
    return pd.DataFrame(
        {
            "code": queue["code"],
            "flags": [" ".join(f) for f in queue["flags"]],
            "reasons": ["; ".join(r) for r in queue["reasons"]],
        }
    )


def cached_triage(engine: Engine, viewer: Viewer, now: datetime) -> pd.DataFrame:
    from dashboard.ui import cached

    return cached.triage(engine, engine, str(engine.url), viewer, Settings(), "UTC", None, 0)[0].queue


GP_VIEWER = "gp1"  # a typical GP: about 25 patients at service scale


def _gp(engine: Engine) -> Viewer:
    viewer = load_viewer(engine, GP_VIEWER)
    assert viewer is not None
    return viewer


def optimised_due(engine: Engine, viewer: Viewer, now: datetime) -> pd.DataFrame:
    due = followups_due.due_list(engine, engine, _gp(engine), now, Settings(), ZoneInfo("UTC")).due
    return due[["code", "waiting_days"]]


def naive_due(engine: Engine, viewer: Viewer, now: datetime) -> pd.DataFrame:
    """Whole tables in pandas: completions since the last follow-up (none in a bench database)."""
    gp = _gp(engine)
    with engine.connect() as conn:
        t = {
            name: pd.read_sql_table(name, conn) for name in ("patients", "modules", "module_progress", "dash_followups")
        }
    p = t["patients"][t["patients"]["gp_id"] == gp.clinician_id]
    keep = (p["status"] == "active") | (p["ended_at"] + pd.Timedelta(days=Settings().followup_after_end_days) >= now)
    p = p[keep].rename(columns={"id": "patient_id"})
    done = (
        t["module_progress"]
        .merge(t["modules"].rename(columns={"id": "module_id"}), on="module_id")
        .merge(p[["patient_id", "program_id"]], on=["patient_id", "program_id"])
    )
    done = done[done["completed_at"].notna() & (done["completed_at"] <= now)]
    held = (
        pd.to_datetime(t["dash_followups"]["held_on"]).groupby(t["dash_followups"]["patient_id"]).max().rename("last")
    )
    done = done.merge(held, left_on="patient_id", right_index=True, how="left")
    done = done[done["last"].isna() | (done["completed_at"].dt.normalize() > done["last"])]
    first = done.groupby("patient_id")["completed_at"].min()
    waiting = ((pd.Timestamp(now) - first) // pd.Timedelta(days=1)).astype(int)
    return pd.DataFrame(
        {"code": p.set_index("patient_id").loc[waiting.index, "code"].to_numpy(), "waiting_days": waiting.to_numpy()}
    )


def cached_due(engine: Engine, viewer: Viewer, now: datetime) -> pd.DataFrame:
    from dashboard.ui import cached

    return cached.due_list(engine, engine, str(engine.url), _gp(engine), Settings(), "UTC", 0)[0].due


LEAD_VIEWER = "lead1"  # a team lead: about 5,000 patients at service scale
ADHERENCE = ["program_id", "enrolled", "ended", "full_completers", "withdrawn_early", "lapsed_early", "dropouts"]


def _lead(engine: Engine) -> Viewer:
    viewer = load_viewer(engine, LEAD_VIEWER)
    assert viewer is not None
    return viewer


def optimised_caseload(engine: Engine, viewer: Viewer, now: datetime) -> pd.DataFrame:
    """Everything the Caseload page reads for one team and the default period, its
    triage queue included; compared on the per-programme adherence counts."""
    lead, settings = _lead(engine), Settings()
    current = triage_mod.triage(engine, engine, lead, now, settings)
    f = caseload_mod.Filters(now - timedelta(days=int(settings.report_period_days)), now)
    result = caseload_mod.caseload(engine, engine, lead, f, settings, ZoneInfo("UTC"), current)
    return result.adherence[ADHERENCE]


def naive_caseload(engine: Engine, viewer: Viewer, now: datetime) -> pd.DataFrame:
    """Whole tables in pandas: per-programme completion and drop-out (clinical-reference 5.1)."""
    lead, settings = _lead(engine), Settings()
    with engine.connect() as conn:
        t = {
            name: pd.read_sql_table(name, conn)
            for name in ("patients", "modules", "module_progress", "activity", "responses", "messages")
        }
    p = t["patients"]
    p = p[(p["team_id"] == lead.team_id) & (p["enrolled_at"] <= now)].rename(columns={"id": "patient_id"})
    mods = t["modules"].rename(columns={"id": "module_id"})
    n_modules = mods.groupby("program_id").size()
    mp = t["module_progress"]
    done = (
        mp[mp["completed_at"] <= now]
        .merge(mods, on="module_id")
        .merge(p[["patient_id", "program_id"]], on=["patient_id", "program_id"])
    )
    p["n_modules"] = p["program_id"].map(n_modules).fillna(0)
    p["n_completed"] = _lookup(p["patient_id"], done.groupby("patient_id").size()).fillna(0)
    lo = pd.Timestamp(now) - pd.Timedelta(days=settings.dropout_inactive_days)
    recent = set()
    for frame, col in (
        (t["activity"], "occurred_at"),
        (t["responses"], "administered_at"),
        (mp, "started_at"),
        (mp, "completed_at"),
        (t["messages"][t["messages"]["direction"] == "from_patient"], "sent_at"),
    ):
        recent |= set(frame.loc[(frame[col] >= lo) & (frame[col] <= now), "patient_id"])
    recent |= set(p.loc[p["enrolled_at"] >= lo, "patient_id"])
    ended = (p["status"] != "active") & (p["ended_at"].isna() | (p["ended_at"] <= now))
    open_now = (p["ended_at"] > now) | (p["ended_at"].isna() & (p["status"] == "active"))
    full = (p["n_modules"] > 0) & (p["n_completed"] >= p["n_modules"])
    withdrawn = ended & (p["status"] == "withdrawn")
    lapsed = open_now & ~p["patient_id"].isin(recent)
    p = p.assign(
        enrolled=1,
        ended=ended.astype(int),
        full_completers=(ended & full).astype(int),
        withdrawn_early=(withdrawn & ~full).astype(int),
        lapsed_early=(lapsed & ~full).astype(int),
        dropouts=(~full & (withdrawn | lapsed)).astype(int),
    )
    return p.groupby("program_id")[ADHERENCE[1:]].sum().reset_index()


def cached_caseload(engine: Engine, viewer: Viewer, now: datetime) -> pd.DataFrame:
    from dashboard.ui import cached

    today = now.date()
    return cached.caseload(
        engine,
        engine,
        str(engine.url),
        _lead(engine),
        Settings(),
        "UTC",
        today - timedelta(days=90),
        today,
        None,
        None,
        None,
        0,
    )[0].adherence


QUERIES: dict[str, tuple[Callable, Callable, Callable]] = {
    "followups_due": (optimised_due, naive_due, cached_due),
    "triage": (optimised_triage, naive_triage, cached_triage),
    "my_patients": (optimised_my_patients, naive_my_patients, cached_my_patients),
    "patient": (optimised_patient, naive_patient, cached_patient),
    "caseload": (optimised_caseload, naive_caseload, cached_caseload),
}


def same_answer(fast: pd.DataFrame, naive: pd.DataFrame) -> bool:
    """Same rows (by the first column, a key) and the same values, NaN equal to NaN."""
    cols = list(naive.columns)
    key = cols[0]
    a = fast[cols].sort_values(key).reset_index(drop=True)
    b = naive.sort_values(key).reset_index(drop=True)
    if len(a) != len(b) or list(a[key]) != list(b[key]):
        return False
    for col in cols[1:]:
        if pd.api.types.is_numeric_dtype(b[col]):
            if not np.allclose(a[col].astype(float).to_numpy(), b[col].astype(float).to_numpy(), equal_nan=True):
                return False
        elif list(a[col]) != list(b[col]):
            return False
    return True


# ---------------------------------------------------------------- measurement


def peak_rss_mb() -> float:
    """This process's peak resident memory. On Linux ru_maxrss survives exec, so a
    child forked from a parent that just built a database would report the
    parent's peak; /proc's VmHWM belongs to the child's own address space."""
    peak = proc_memory_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(url: str, query: str, repeat: int) -> dict:
    """One measurement, meant to run in its own process so peak memory is its own."""
    engine = make_engine(url)
    viewer = load_viewer(engine, VIEWER)
    assert viewer is not None, f"no {VIEWER} in {url}"
    now = demo.read_generated_for(engine)
    fast, _naive, cached = QUERIES[query]
    out = {"median_ms": _median_ms(lambda: fast(engine, viewer, now), repeat)}
    out["cached_ms"] = _median_ms(lambda: cached(engine, viewer, now), repeat)
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def measure_baseline(url: str, query: str) -> dict:
    """The naive baseline, timed once, and whether it agrees with the optimised answer."""
    engine = make_engine(url)
    viewer = load_viewer(engine, VIEWER)
    now = demo.read_generated_for(engine)
    fast, naive, _cached = QUERIES[query]
    started = time.perf_counter()
    naive_answer = naive(engine, viewer, now)
    return {
        "baseline_ms": (time.perf_counter() - started) * 1000,
        "agree": same_answer(fast(engine, viewer, now), naive_answer),
    }


def _responses_per_minute(engine: Engine, now: datetime) -> int:
    """The service's recent rate of new responses (the last 30 days), at least one."""
    r = schema.responses.c
    with engine.connect() as conn:
        recent = conn.scalar(
            select(func.count()).where(r.administered_at > now - timedelta(days=30), r.administered_at <= now)
        )
    return max(1, -(-int(recent or 0) // (30 * 24 * 60)))


def measure_refresh(url: str, repeat: int) -> dict:
    """The refresher on this database (its own state tables are cleared first): the first
    full refresh, an incremental one a minute later, and a full reconcile (no drift).

    The bench database does not grow, so "a minute of events" is the watermark moved
    back by a minute of the service's responses, behind the overlap window: what a
    refresher running every minute re-reads in the steady state (the floor lags the
    newest id by one to two overlap windows)."""
    engine = make_engine(url)
    now = demo.read_generated_for(engine)
    tuning = refresh.RefreshSettings()
    with engine.begin() as conn:
        for table in (response_facts, refresh_marks, refresh_lease):
            conn.execute(table.delete())
    started = time.perf_counter()
    first = refresh.refresh(engine, engine, refresh.stopped_clock(now), tuning)
    first_ms = (time.perf_counter() - started) * 1000
    per_minute = _responses_per_minute(engine, now)
    windows = 2 * tuning.overlap_seconds / 60 + 1  # two overlap windows and the new minute
    floor = max(0, first.watermark - int(per_minute * windows))
    later = now + timedelta(seconds=60)

    def incremental() -> refresh.RefreshReport:
        with engine.begin() as conn:
            conn.execute(refresh_marks.update().values(floor_id=floor, pending_id=first.watermark, pending_at=now))
        return refresh.refresh(engine, engine, refresh.stopped_clock(later), tuning)

    incremental_ms = _median_ms(incremental, repeat)
    incremental_read = incremental().read
    started = time.perf_counter()
    full = refresh.reconcile(engine, engine, refresh.stopped_clock(later), tuning)
    reconcile_ms = (time.perf_counter() - started) * 1000
    assert full.drift == 0, "a reconcile right after a refresh must find no drift"
    return {
        "first_ms": first_ms,
        "incremental_ms": incremental_ms,
        "reconcile_ms": reconcile_ms,
        "responses": first.read,
        "incremental_read": incremental_read,
        "peak_rss_mb": peak_rss_mb(),
    }


def measure_snapshot(url: str, repeat: int) -> dict:
    """The lead's team snapshot (dashboard.team_snapshot): its build by the refresher, the
    page's read path from it (the row read and decoded, the team's state version checked),
    and the same read after one GP follow-up of a team patient was stored since the build
    (GP compliance recomputed, that patient's triage items judged again). The follow-up
    and the snapshot row are deleted afterwards, so the bench database stays as built."""
    engine = make_engine(url)
    now, lead, settings, tz = demo.read_generated_for(engine), _lead(engine), Settings(), ZoneInfo("UTC")
    first, last = team_snapshot.default_days(now, settings, tz)

    def build() -> team_snapshot.Snapshot:
        return team_snapshot.build(engine, engine, lead.team_id, now, settings, tz)

    def read() -> caseload_mod.Caseload:
        shown = team_snapshot.shown(engine, engine, lead, now, first, last, settings, tz)
        assert shown is not None, "the snapshot just built must be usable"
        return shown[0]

    build_ms = _median_ms(build, max(1, repeat // 2))
    read_ms = _median_ms(read, repeat)
    with engine.connect() as conn:
        patient = conn.scalar(
            select(schema.patients.c.id).where(patient_filter(lead), schema.patients.c.gp_id.is_not(None)).limit(1)
        )
    with engine.begin() as conn:
        row = conn.execute(
            followups.insert()
            .values(
                entry_id=str(uuid.uuid4()),
                version=1,
                idempotency_key=uuid.uuid4().hex,
                patient_id=patient,
                gp="bench",
                held_on=now.date(),
                minutes=10,
                modality="phone",
                action="continue",
                recorded_at=now,
                recorded_by="bench",
            )
            .returning(followups.c.id)
        ).scalar_one()
    try:
        patched_ms = _median_ms(read, repeat)
    finally:
        with engine.begin() as conn:
            conn.execute(followups.delete().where(followups.c.id == row))
            conn.execute(team_snapshots.delete())
    return {"build_ms": build_ms, "read_ms": read_ms, "patched_ms": patched_ms, "peak_rss_mb": peak_rss_mb()}


def run_child(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "tools.bench", *args], capture_output=True, text=True, check=False, cwd=ROOT
    )  # tools/ is importable from the checkout only
    if done.returncode != 0:
        raise RuntimeError(f"measurement failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def format_table(results: list[Result]) -> str:
    header = f"{'backend':<11}{'patients':>9}{'events':>12}  {'query':<20}{'median ms':>10}{'baseline ms':>13}{'cached ms':>10}{'peak MB':>9}"
    lines = [header, "-" * len(header)]
    for r in results:
        base = f"{r.baseline_ms:>13.1f}" if r.baseline_ms is not None else f"{'-':>13}"
        cached = f"{r.cached_ms:>10.2f}" if r.cached_ms is not None else f"{'-':>10}"
        lines.append(
            f"{r.backend:<11}{r.patients:>9}{r.events:>12}  {r.query:<20}{r.median_ms:>10.2f}{base}{cached}{r.peak_rss_mb:>9.0f}"
        )
    return "\n".join(lines)


def refresh_results(backend: str, size: int, events: int, url: str, repeat: int) -> list[Result]:
    """The refresher's three timings as rows of the table (no baseline, no cache)."""
    m = run_child("--measure", url, "--query", REFRESH, "--repeat", str(repeat))
    peak = round(m["peak_rss_mb"], 1)
    print(
        f"refresh {backend}/{size}: {m['responses']} responses; the incremental re-read {m['incremental_read']}",
        file=sys.stderr,
    )
    return [
        Result(backend, size, events, f"{REFRESH}_{what}", round(m[f"{what}_ms"], 3), None, None, peak)
        for what in ("first", "incremental", "reconcile")
    ]


def snapshot_results(backend: str, size: int, events: int, url: str, repeat: int) -> list[Result]:
    """The team snapshot's timings as rows: the page's read path (plain, and after a
    follow-up since the build) and the refresher's build of it."""
    m = run_child("--measure", url, "--query", SNAPSHOT, "--repeat", str(repeat))
    peak = round(m["peak_rss_mb"], 1)
    return [
        Result(backend, size, events, name, round(m[f"{what}_ms"], 3), None, None, peak)
        for name, what in ((SNAPSHOT, "read"), (f"{SNAPSHOT}_patched", "patched"), (f"{SNAPSHOT}_build", "build"))
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=command("bench"), description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000", help="patient counts, comma-separated")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL server (an admin database to create bench databases from)"
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", dest="json_file")
    parser.add_argument(
        "--queries",
        default=",".join([*QUERIES, *SPECIAL]),
        help=f"which to time, comma-separated (default: all: {', '.join([*QUERIES, *SPECIAL])})",
    )
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--query", default="my_patients", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.measure:  # child process
        if args.query == REFRESH:
            result = measure_refresh(args.measure, args.repeat)
        elif args.query == SNAPSHOT:
            result = measure_snapshot(args.measure, args.repeat)
        elif args.baseline:
            result = measure_baseline(args.measure, args.query)
        else:
            result = measure(args.measure, args.query, args.repeat)
        print(json.dumps(result))
        return 0

    sizes = sorted(int(s) for s in args.sizes.split(","))
    queries = args.queries.split(",")
    if unknown := set(queries) - set(QUERIES) - set(SPECIAL):
        parser.error(f"unknown queries: {', '.join(sorted(unknown))}")
    results: list[Result] = []
    disagreements = []
    for backend in args.backends.split(","):
        for size in sizes:
            url, built = ensure_database(backend, size, args.pg_url)
            engine = make_engine(url)
            events = event_count(engine)
            engine.dispose()
            if built is not None:
                print(f"built {backend} database with {size} patients in {built:.1f} s", file=sys.stderr)
            for query in queries:
                if query == REFRESH:
                    results += refresh_results(backend, size, events, url, args.repeat)
                    for line in format_table(results[-3:]).splitlines()[2:]:
                        print(line, file=sys.stderr)
                    continue
                if query == SNAPSHOT:
                    results += snapshot_results(backend, size, events, url, args.repeat)
                    for line in format_table(results[-3:]).splitlines()[2:]:
                        print(line, file=sys.stderr)
                    continue
                m = run_child("--measure", url, "--query", query, "--repeat", str(args.repeat))
                baseline = None
                if size == sizes[-1]:
                    b = run_child("--measure", url, "--query", query, "--baseline")
                    baseline = round(b["baseline_ms"], 1)
                    if not b["agree"]:
                        disagreements.append(f"{backend}/{size}/{query}")
                results.append(
                    Result(
                        backend,
                        size,
                        events,
                        query,
                        round(m["median_ms"], 3),
                        baseline,
                        round(m["cached_ms"], 3),
                        round(m["peak_rss_mb"], 1),
                    )
                )
                print(format_table(results[-1:]).splitlines()[-1], file=sys.stderr)
    print(format_table(results))
    if args.json_file:
        with open(args.json_file, "w") as fh:
            json.dump({"profile": PROFILE, "results": [asdict(r) for r in results]}, fh, indent=2)
    if disagreements:
        print(f"optimised and naive answers differ: {', '.join(disagreements)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
