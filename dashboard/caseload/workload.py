"""Headline figures and the per-therapist workload: open episodes, recent activity and
contact, reply times, feedback after completed modules, open triage items."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import and_, case, func, literal, select, union_all
from sqlalchemy.engine import Connection

from dashboard.caseload.shared import (
    UNASSIGNED_ID,
    Filters,
    _by_therapist,
    _frame,
    _nan_none,
    _share,
    _t,
    scope_conditions,
)
from dashboard.config import Settings
from dashboard.facts import (
    activity_between,
    contact_between,
    first_clinician_contact_after,
    open_at,
    own_programme_progress,
    patient_message,
)
from dashboard.flags import FLAG_KINDS
from dashboard.flags import title as flag_title
from dashboard.i18n import format_number, ngettext
from dashboard.i18n import gettext as _
from dashboard.schema import (
    messages,
    module_progress,
    modules,
    patients,
)
from dashboard.scope import Viewer
from dashboard.sqltime import days_between, median_by

HEADLINE_COLUMNS = ["figure", "label", "numerator", "denominator", "value", "previous", "unit", "note", "detail"]


def open_episode_counts(conn: Connection, viewer: Viewer, f: Filters, at: datetime, recent_days: int) -> pd.DataFrame:
    """Per therapist at ``at``: open episodes, those active and those contacted in the last ``recent_days``."""
    lo = at - timedelta(days=recent_days)
    stmt = (
        select(
            patients.c.therapist_id,
            func.count().label("open"),
            func.sum(case((activity_between(_t(lo), _t(at)), 1), else_=0)).label("active_recent"),
            func.sum(case((contact_between(_t(lo), _t(at)), 1), else_=0)).label("contacted_recent"),
        )
        .where(*scope_conditions(viewer, f), open_at(_t(at)))
        .group_by(patients.c.therapist_id)
    )
    return _frame(conn, stmt, ["therapist_id", "open", "active_recent", "contacted_recent"])


def _reply_base(viewer: Viewer, f: Filters):
    """Patient messages sent in the period and the first clinician contact after each, up to the period end."""
    m = messages
    return (
        select(
            patients.c.therapist_id,
            m.c.sent_at,
            first_clinician_contact_after(m.c.sent_at, _t(f.end)).label("reply_at"),
        )
        .select_from(m.join(patients, patients.c.id == m.c.patient_id))
        .where(*scope_conditions(viewer, f), patient_message(m), m.c.sent_at.between(_t(f.start), _t(f.end)))
        .subquery()
    )


_OVERALL = -2  # a group holding every row, so one query gives the per-therapist and the overall figures


def _with_overall(base, *columns: str):
    """``base`` rows twice: under their therapist (unassigned as -1) and under _OVERALL."""
    cols = [base.c[c] for c in columns]
    return union_all(
        select(func.coalesce(base.c.therapist_id, UNASSIGNED_ID).label("grp"), *cols),
        select(literal(_OVERALL).label("grp"), *cols),
    ).subquery()


def _split_overall(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    frame = frame.rename(columns={"grp": "therapist_id"})
    overall = frame[frame["therapist_id"] == _OVERALL]
    return (
        frame[frame["therapist_id"] != _OVERALL].reset_index(drop=True),
        overall.iloc[0].to_dict() if not overall.empty else {},
    )


def reply_times(conn: Connection, viewer: Viewer, f: Filters) -> tuple[pd.DataFrame, dict]:
    """Patient messages sent in the period, those answered and the median reply in
    hours over the answered ones: per therapist, and overall (one query)."""
    both = _with_overall(_reply_base(viewer, f), "sent_at", "reply_at")
    hours = (days_between(both.c.reply_at, both.c.sent_at) * 24).label("hours")
    frame = _frame(conn, median_by(select(both.c.grp, hours), "hours", ["grp"]), ["grp", "median", "n", "rows"])
    frame = frame.rename(columns={"rows": "messages", "n": "answered", "median": "median_reply_hours"})
    by, overall = _split_overall(frame)
    return by[["therapist_id", "messages", "answered", "median_reply_hours"]], {
        "messages": int(overall.get("messages", 0)),
        "answered": int(overall.get("answered", 0)),
        "median_reply_hours": _nan_none(overall.get("median_reply_hours")),
    }


def feedback_within(conn: Connection, viewer: Viewer, f: Filters, hours: float) -> tuple[pd.DataFrame, dict]:
    """Module completions in the period old enough to judge (at least ``hours`` before
    its end), those with clinician contact within ``hours``, and the younger ones
    still pending: per therapist, and overall (one query)."""
    cutoff = f.end - timedelta(hours=hours)
    contact = first_clinician_contact_after(module_progress.c.completed_at, _t(f.end))
    base = (
        select(patients.c.therapist_id, module_progress.c.completed_at, contact.label("contact_at"))
        .select_from(
            module_progress.join(patients, patients.c.id == module_progress.c.patient_id).join(
                modules, own_programme_progress()
            )
        )
        .where(*scope_conditions(viewer, f), module_progress.c.completed_at.between(_t(f.start), _t(f.end)))
        .subquery()
    )
    both = _with_overall(base, "completed_at", "contact_at")
    judged = both.c.completed_at <= _t(cutoff)
    in_time = and_(
        judged, both.c.contact_at.is_not(None), days_between(both.c.contact_at, both.c.completed_at) <= hours / 24
    )
    stmt = select(
        both.c.grp,
        func.sum(case((judged, 1), else_=0)).label("completions"),
        func.sum(case((in_time, 1), else_=0)).label("in_time"),
        func.sum(case((judged, 0), else_=1)).label("pending"),
    ).group_by(both.c.grp)
    by, overall = _split_overall(_frame(conn, stmt, ["grp", "completions", "in_time", "pending"]))
    return by, {k: int(overall.get(k, 0)) for k in ("completions", "in_time", "pending")}


def period_inputs(conn: Connection, viewer: Viewer, f: Filters, settings: Settings) -> dict:
    """The headline and workload inputs of one period, as of its end."""
    reply_by, reply = reply_times(conn, viewer, f)
    feedback_by, feedback = feedback_within(conn, viewer, f, settings.feedback_due_hours)
    return {
        "open": _by_therapist(open_episode_counts(conn, viewer, f, f.end, settings.recent_days)),
        "reply_by": reply_by,
        "reply": reply,
        "feedback_by": feedback_by,
        "feedback": feedback,
    }


def _headline_values(d: dict) -> dict[str, tuple]:
    """figure -> (numerator, denominator, value)."""
    o, r, fb = d["open"], d["reply"], d["feedback"]
    opens, active, contacted = (
        int(o[c].sum()) if not o.empty else 0 for c in ("open", "active_recent", "contacted_recent")
    )
    return {
        "open_episodes": (opens, None, float(opens)),
        "active_recent": (active, opens, _share(active, opens)),
        "contact_recent": (contacted, opens, _share(contacted, opens)),
        "median_reply_hours": (r["answered"], r["messages"], r["median_reply_hours"]),
        "feedback_in_time": (fb["in_time"], fb["completions"], _share(fb["in_time"], fb["completions"])),
    }


def headline_words(figure: str, numerator, denominator, detail, settings: Settings) -> tuple[str, str]:
    """A headline figure's (label, what it counts) in the run's language, from its raw parts:
    the frame and a kept snapshot hold figures, never words."""
    days, hours = int(settings.recent_days), settings.feedback_due_hours
    h = format_number(float(hours))
    detail = 0 if detail is None or pd.isna(detail) else int(detail)
    if figure == "open_episodes":
        return _("Active patients"), _("enrolled and not ended at the period end")
    if figure == "active_recent":
        return (
            ngettext("Active in last {days} day", "Active in last {days} days", days).format(days=days),
            ngettext(
                "of active patients, those with any activity in the last {days} day",
                "of active patients, those with any activity in the last {days} days",
                days,
            ).format(days=days),
        )
    if figure == "contact_recent":
        return (
            ngettext("Contacted in last {days} day", "Contacted in last {days} days", days).format(days=days),
            ngettext(
                "of active patients, those sent a clinician message in the last {days} day",
                "of active patients, those sent a clinician message in the last {days} days",
                days,
            ).format(days=days),
        )
    if figure == "median_reply_hours":
        return _("Median reply time"), ngettext(
            "over patient messages of the period answered by a clinician; {n} still open, not in the median",
            "over patient messages of the period answered by a clinician; {n} still open, not in the median",
            detail,
        ).format(n=detail)
    if figure == "feedback_in_time":
        return _("Feedback within {hours} h").format(hours=h), ngettext(
            "of modules completed in the period, those with clinician contact within {hours} h; "
            "{n} completed in the last {hours} h not judged yet",
            "of modules completed in the period, those with clinician contact within {hours} h; "
            "{n} completed in the last {hours} h not judged yet",
            detail,
        ).format(hours=h, n=detail)
    if figure == "open_triage_items":
        return _("Open triage items"), ngettext(
            "{n} patient in the triage queue now (not kept for past dates)",
            "{n} patients in the triage queue now (not kept for past dates)",
            detail,
        ).format(n=detail)
    if figure == "escalated_risks":
        wd = int(settings.risk_escalation_working_days)
        return _("Escalated risks"), ngettext(
            "risk answers and supporters' concerns not acknowledged within {days} working day, now",
            "risk answers and supporters' concerns not acknowledged within {days} working days, now",
            wd,
        ).format(days=wd)
    return figure, ""


def headline_in_language(frame: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The headline with its labels and notes in the run's language (``headline_words``)."""
    if frame.empty:
        return frame
    words = [
        headline_words(r["figure"], r["numerator"], r["denominator"], r.get("detail"), settings)
        for r in frame.to_dict("records")
    ]
    return frame.assign(label=[w[0] for w in words], note=[w[1] for w in words])


def headline(current: dict, previous: dict, triage_counts: dict | None, settings: Settings) -> pd.DataFrame:
    """Headline figures with the previous period's value beside them."""
    r, fb = current["reply"], current["feedback"]
    about = {  # figure: (unit, the raw count its note names)
        "open_episodes": ("count", None),
        "active_recent": ("share", None),
        "contact_recent": ("share", None),
        "median_reply_hours": ("hours", int(r["messages"] - r["answered"])),
        "feedback_in_time": ("share", int(fb["pending"])),
    }
    now, before = _headline_values(current), _headline_values(previous)
    rows = [
        {
            "figure": k,
            "numerator": n,
            "denominator": d,
            "value": v,
            "previous": before[k][2],
            "unit": about[k][0],
            "detail": about[k][1],
        }
        for k, (n, d, v) in now.items()
    ]
    if triage_counts is not None:
        rows += triage_rows(triage_counts, settings)
    return headline_in_language(pd.DataFrame(rows, columns=HEADLINE_COLUMNS), settings)


TRIAGE_FIGURES = ("open_triage_items", "escalated_risks")


def triage_rows(triage_counts: dict, settings: Settings) -> list[dict]:
    """The headline's two rows about the triage queue now (words: ``headline_words``)."""
    return [
        {
            "figure": "open_triage_items",
            "numerator": triage_counts["items"],
            "denominator": None,
            "value": float(triage_counts["items"]),
            "previous": None,
            "unit": "count",
            "detail": int(triage_counts["patients"]),
        },
        {
            "figure": "escalated_risks",
            "numerator": triage_counts["escalated"],
            "denominator": None,
            "value": float(triage_counts["escalated"]),
            "previous": None,
            "unit": "count",
            "detail": None,
        },
    ]


def headline_with_triage(frame: pd.DataFrame, triage_counts: dict, settings: Settings) -> pd.DataFrame:
    """A headline with its triage rows replaced by these counts (a kept snapshot whose
    acknowledgements changed): the rows built as ``headline`` builds them."""
    kept = [r for r in frame.to_dict("records") if r["figure"] not in TRIAGE_FIGURES]
    rows = pd.DataFrame(kept + triage_rows(triage_counts, settings), columns=HEADLINE_COLUMNS)
    return headline_in_language(rows, settings)


TRIAGE_FLAG_COLUMNS = ["patient_id", "therapist_id", "flag", "escalated"]


def filtered_flags(conn: Connection, viewer: Viewer, f: Filters, open_flags: pd.DataFrame) -> pd.DataFrame:
    """The open triage items (``Triage.open_flags``) of the patients the filters keep,
    with their therapist (TRIAGE_FLAG_COLUMNS)."""
    keep = _by_therapist(
        _frame(
            conn,
            select(patients.c.id.label("patient_id"), patients.c.therapist_id).where(*scope_conditions(viewer, f)),
            ["patient_id", "therapist_id"],
        )
    )
    flags = open_flags[["patient_id", "flag", "escalated"]].merge(keep, on="patient_id")
    return in_flag_order(flags)


def in_flag_order(flags: pd.DataFrame) -> pd.DataFrame:
    """Open items (TRIAGE_FLAG_COLUMNS) by patient and flag: one order however they were gathered."""
    return flags[TRIAGE_FLAG_COLUMNS].sort_values(["patient_id", "flag"]).reset_index(drop=True)


def triage_counts(flags: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """Totals of open triage items (``filtered_flags``), and counts per therapist and flag."""
    counts = {
        "items": len(flags),
        "patients": int(flags["patient_id"].nunique()),
        "escalated": int(flags["escalated"].astype(bool).sum()),
    }
    by = flags.groupby(["therapist_id", "flag"]).size().rename("n").reset_index()
    return counts, by.reindex(columns=["therapist_id", "flag", "n"])


def workload(
    names: dict[int, str], current: dict, lapsed_by: pd.Series, triage_by: pd.DataFrame | None, only: int | None
) -> pd.DataFrame:
    """One row per therapist of the team (and "unassigned" when patients have none)."""

    def row_of(frame: pd.DataFrame, tid: int) -> dict:
        hit = frame[frame["therapist_id"] == tid] if not frame.empty else frame
        return hit.iloc[0].to_dict() if not hit.empty else {}

    ids = list(names) if only is None else [only]
    seen = set(current["open"]["therapist_id"]) | set(current["reply_by"]["therapist_id"]) | set(lapsed_by.index)
    if only is None and UNASSIGNED_ID in seen:
        ids.append(UNASSIGNED_ID)
    rows = []
    for tid in ids:
        o, r, fb = row_of(current["open"], tid), row_of(current["reply_by"], tid), row_of(current["feedback_by"], tid)
        opens, active = int(o.get("open", 0)), int(o.get("active_recent", 0))
        comp, in_time = int(fb.get("completions", 0)), int(fb.get("in_time", 0))
        rows.append(
            {
                "therapist_id": tid,
                "therapist": names.get(tid, _("unassigned")),
                "caseload": opens,
                "active_recent": active,
                "active_share": _share(active, opens),
                **_triage_cells(tid, triage_by),
                "messages": int(r.get("messages", 0)),
                "answered": int(r.get("answered", 0)),
                "median_reply_hours": _nan_none(r.get("median_reply_hours")),
                "feedback_completions": comp,
                "feedback_in_time": in_time,
                "feedback_share": _share(in_time, comp),
                "lapsed": int(lapsed_by.get(tid, 0)),
            }
        )
    return pd.DataFrame(rows)


def _triage_cells(therapist_id: int, triage_by: pd.DataFrame | None) -> dict:
    """A workload row's open triage items: in all, by reason in words, and per reason
    (no count without the current queue)."""
    mine = triage_by[triage_by["therapist_id"] == therapist_id] if triage_by is not None else None
    by_flag = dict(zip(mine["flag"], mine["n"])) if mine is not None else {}
    return {
        "open_items": int(sum(by_flag.values())) if mine is not None else None,
        "reasons": reasons_text(by_flag),
        **{f"items_{k}": int(by_flag.get(k, 0)) for k in FLAG_KINDS},
    }


def reasons_text(by_flag: dict) -> str:
    """A workload row's open items by reason, as words ("Risk 2 · Worsening 1")."""
    counts = {k: int(v) for k, v in by_flag.items() if v is not None and not pd.isna(v) and v}
    return " · ".join(f"{flag_title(k)} {counts[k]}" for k in FLAG_KINDS if counts.get(k))


def workload_in_language(frame: pd.DataFrame) -> pd.DataFrame:
    """The workload's words (reasons, "unassigned") in the run's language, from its raw columns."""
    if frame.empty:
        return frame
    rows = frame.to_dict("records")
    return frame.assign(
        reasons=[reasons_text({k: r.get(f"items_{k}", 0) for k in FLAG_KINDS}) for r in rows],
        therapist=[_("unassigned") if r["therapist_id"] == UNASSIGNED_ID else r["therapist"] for r in rows],
    )


def workload_with_triage(frame: pd.DataFrame, triage_by: pd.DataFrame) -> pd.DataFrame:
    """A workload with its triage cells recounted (a kept snapshot whose acknowledgements
    changed), each cell built as ``workload`` builds it."""
    if frame.empty:
        return frame
    cells = [_triage_cells(int(tid), triage_by) for tid in frame["therapist_id"]]
    return frame.assign(**{column: [c[column] for c in cells] for column in cells[0]})
