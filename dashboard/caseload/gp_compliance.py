"""GP follow-up compliance: follow-up cycles as the GP's due list sees them, held, in time
or overdue, and the actions taken."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.engine import Connection

from dashboard.caseload.shared import Filters, _frame, _t, scope_conditions
from dashboard.clinician_records import ACTIONS, current_followups
from dashboard.config import Settings
from dashboard.facts import (
    own_programme_progress,
)
from dashboard.schema import (
    clinicians,
    module_progress,
    modules,
    patients,
)
from dashboard.scope import Viewer
from dashboard.timeutil import local_date, local_wall


def followup_cycles(completions: pd.DataFrame, held: pd.DataFrame) -> pd.DataFrame:
    """Follow-up cycles as the GP's due list sees them (dashboard.followups_due): a cycle starts
    at the first module completion after the last follow-up (a follow-up the same
    day covers it) and is closed by the next follow-up on or after that day.

    ``completions``: patient_id, day (local date). ``held``: patient_id, held_on.
    Returns patient_id, start, closed_on (NaT-like None when still open)."""
    if completions.empty:
        return pd.DataFrame(
            {
                "patient_id": pd.Series(dtype="int64"),
                "start": pd.Series(dtype="datetime64[us]"),
                "closed_on": pd.Series(dtype="datetime64[us]"),
            }
        )
    days = pd.DataFrame(
        {
            "patient_id": completions["patient_id"].astype("int64"),
            "day": pd.to_datetime(completions["day"]).astype("datetime64[us]"),
        }
    ).sort_values("day")
    fu = pd.DataFrame(
        {
            "patient_id": held["patient_id"].astype("int64"),
            "held_on": pd.to_datetime(held["held_on"]).astype("datetime64[us]"),
        }
    ).sort_values("held_on")
    # previous follow-up strictly before the completion day: the cycle it belongs to
    before = pd.merge_asof(
        days,
        fu.rename(columns={"held_on": "prev"}),
        left_on="day",
        right_on="prev",
        by="patient_id",
        direction="backward",
        allow_exact_matches=False,
    )
    before["prev"] = before["prev"].fillna(pd.Timestamp("1900-01-01"))  # no follow-up yet
    cycles = before.groupby(["patient_id", "prev"], as_index=False)["day"].min().rename(columns={"day": "start"})
    cycles = pd.merge_asof(
        cycles.sort_values("start"),
        fu.rename(columns={"held_on": "closed_on"}),
        left_on="start",
        right_on="closed_on",
        by="patient_id",
        direction="forward",
    )
    return cycles[["patient_id", "start", "closed_on"]]


@dataclass(frozen=True)
class GpInputs:
    """What GP compliance reads from the platform: kept with a team snapshot, so a
    follow-up stored since is counted without reading the platform again."""

    gps: pd.DataFrame  # patient_id, gp_id: the patients in scope with a GP
    done: pd.DataFrame  # patient_id, day (datetime64, the local day): own-programme completions
    names: dict[int, str]  # the GPs shown, by name


def gp_compliance(
    conn: Connection, state: Engine, viewer: Viewer, f: Filters, settings: Settings, tz: ZoneInfo
) -> pd.DataFrame:
    """Per GP: follow-up cycles that started in the period, those held (and within
    ``followup_overdue_days``), still overdue, the median days to the follow-up and
    the actions taken at follow-ups held in the period."""
    inputs = gp_inputs(conn, viewer, f, tz)
    return gp_table(inputs, held_followups(state, inputs), f, settings, tz)


def held_followups(state: Engine, inputs: GpInputs) -> pd.DataFrame:
    """The current follow-ups of the patients with a GP, from the state database."""
    if inputs.gps.empty:
        return pd.DataFrame(columns=["patient_id", "held_on", "action", "gp"])
    return current_followups(state, [int(i) for i in inputs.gps["patient_id"]])


def gp_inputs(conn: Connection, viewer: Viewer, f: Filters, tz: ZoneInfo) -> GpInputs:
    """The period's module completions (and each patient's last one before it, which may
    open a cycle that spans the start) of the patients with a GP, as local days."""
    gp_of = select(patients.c.id.label("patient_id"), patients.c.gp_id).where(
        *scope_conditions(viewer, f), patients.c.gp_id.is_not(None)
    )
    gps = _frame(conn, gp_of)
    # completions in the period, plus each patient's last one before it (it may open a cycle that spans the start)
    in_period = (
        select(module_progress.c.patient_id, module_progress.c.completed_at)
        .select_from(
            module_progress.join(patients, patients.c.id == module_progress.c.patient_id).join(
                modules, own_programme_progress()
            )
        )
        .where(
            *scope_conditions(viewer, f),
            patients.c.gp_id.is_not(None),
            module_progress.c.completed_at.between(_t(f.start), _t(f.end)),
        )
    )
    last_before = (
        select(module_progress.c.patient_id, func.max(module_progress.c.completed_at).label("completed_at"))
        .select_from(
            module_progress.join(patients, patients.c.id == module_progress.c.patient_id).join(
                modules, own_programme_progress()
            )
        )
        .where(
            *scope_conditions(viewer, f), patients.c.gp_id.is_not(None), module_progress.c.completed_at < _t(f.start)
        )
        .group_by(module_progress.c.patient_id)
    )
    done = pd.concat(
        [
            pd.read_sql(in_period, conn, parse_dates=["completed_at"]),
            pd.read_sql(last_before, conn, parse_dates=["completed_at"]),
        ],
        ignore_index=True,
    )
    days = local_wall(done["completed_at"], tz).dt.normalize().astype("datetime64[us]")  # the local day
    done = pd.DataFrame({"patient_id": done["patient_id"].astype("int64"), "day": days})
    return GpInputs(gps, done.drop_duplicates().reset_index(drop=True), _gp_names(conn, viewer, gps))


def gp_table(inputs: GpInputs, held: pd.DataFrame, f: Filters, settings: Settings, tz: ZoneInfo) -> pd.DataFrame:
    """The per-GP table from the platform's inputs and the follow-ups held."""
    gps, names = inputs.gps, inputs.names
    start_day, end_day = local_date(f.start, tz), local_date(f.end, tz)
    cycles = followup_cycles(inputs.done, held[held["held_on"] <= end_day] if not held.empty else held)
    cycles = cycles[(cycles["start"] >= pd.Timestamp(start_day)) & (cycles["start"] <= pd.Timestamp(end_day))]
    cycles = cycles.merge(gps, on="patient_id")
    cycles["days"] = (cycles["closed_on"] - cycles["start"]).dt.days
    overdue = settings.followup_overdue_days
    end_ts = pd.Timestamp(end_day)
    held_in_period = (
        held[(held["held_on"] >= start_day) & (held["held_on"] <= end_day)].merge(gps, on="patient_id")
        if not held.empty
        else pd.DataFrame(columns=["gp_id", "action"])
    )
    closed = cycles["closed_on"].notna()
    by_gp = cycles.assign(
        held=closed,
        held_in_time=closed & (cycles["days"] <= overdue),
        overdue=~closed & ((end_ts - cycles["start"]).dt.days >= overdue),
    ).groupby("gp_id")
    actions = (
        held_in_period.groupby(["gp_id", "action"]).size().unstack(fill_value=0)
        if not held_in_period.empty
        else pd.DataFrame()
    )
    table = pd.DataFrame(
        {
            "gp_id": list(names),
            "gp": list(names.values()),
            "patients": [int(v) for v in gps.groupby("gp_id").size().reindex(list(names), fill_value=0)],
            "due": by_gp.size().reindex(list(names), fill_value=0).astype(int).to_numpy(),
            **{
                col: by_gp[col].sum().reindex(list(names), fill_value=0).astype(int).to_numpy()
                for col in ("held", "held_in_time", "overdue")
            },
            "median_days": [
                None if pd.isna(v) else float(v)
                for v in cycles[closed].groupby("gp_id")["days"].median().reindex(list(names))
            ],
        }
    )
    for action in ACTIONS:
        table[f"action_{action}"] = (
            actions[action].reindex(list(names), fill_value=0).astype(int).to_numpy() if action in actions else 0
        )
    table.insert(
        table.columns.get_loc("median_days") + 1,
        "followups_held",
        table[[f"action_{a}" for a in ACTIONS]].sum(axis=1).astype(int),
    )
    return table


def _gp_names(conn: Connection, viewer: Viewer, gps: pd.DataFrame) -> dict[int, str]:
    """The team's GPs and the GPs of its patients, by name."""
    ids = [int(i) for i in gps["gp_id"].unique()]
    stmt = select(clinicians.c.id, clinicians.c.display_name).where(
        or_(clinicians.c.id.in_(ids), and_(clinicians.c.role == "gp", clinicians.c.team_id == viewer.team_id))
    )
    return {int(r.id): r.display_name for r in conn.execute(stmt.order_by(clinicians.c.display_name))}
