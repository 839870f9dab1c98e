"""The Caseload figures as tables for people: column headers in words, rates as
percentages with one decimal, counts as whole numbers, dates as local days, and no
internal ids (programmes, therapists and GPs by name, patients by code). The CSV
downloads and the zip of every table are these frames (dashboard.exports)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pandas as pd

from dashboard.caseload.outcomes import OUTCOME_LABELS, OUTCOME_RATES
from dashboard.caseload.page import Caseload
from dashboard.clinician_records import ACTIONS
from dashboard.config import Settings
from dashboard.i18n import N_, SOURCE, current_language, format_number, format_percent, ngettext
from dashboard.i18n import gettext as _

TABLE_TITLES = {  # name: what the table is, in the order of the page; translated where shown
    "headline": N_("This period"),
    "adherence": N_("Completion and drop-out by programme"),
    "dropout_by_module": N_("Drop-out by module"),
    "funnel": N_("Module funnel"),
    "lapsed": N_("Lapsed but not closed"),
    "workload": N_("Workload by therapist"),
    "outcomes": N_("Outcomes by programme"),
    "outcomes_by_therapist": N_("Outcomes by therapist"),
    "gp_compliance": N_("GP follow-ups"),
    "trends": N_("Weekly trends"),
}


def pct(rate) -> float | None:
    """A share as a percentage with one decimal (0.6631578947368421 -> 66.3); None stays empty."""
    return None if rate is None or pd.isna(rate) else round(100 * float(rate), 1)


def one_decimal(value) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 1)


def whole(values) -> pd.Series:
    """Counts as integers (95.0 -> 95), an empty cell where there is none."""
    return pd.Series(pd.to_numeric(pd.Series(values), errors="coerce").round(), dtype="Int64").reset_index(drop=True)


def share_text(numerator, denominator, words: Callable[[int], str]) -> str:
    """'3 of 12 enrolled': a rate's parts with its denominator in words; ``words(d)`` is the
    run's language's message for ``d`` (an ngettext call, with ``{n}`` and ``{d}``)."""
    if denominator is None or pd.isna(denominator):
        return ""
    n, d = int(numerator), int(denominator)
    return words(d).format(n=n, d=d)


def _ended_words(d: int) -> str:
    return ngettext("{n} of {d} whose episode ended", "{n} of {d} whose episode ended", d)


def _enrolled_words(d: int) -> str:
    return ngettext("{n} of {d} enrolled", "{n} of {d} enrolled", d)


def headline_text(row) -> tuple[str, str]:
    """(value, 'n of d') as shown on the page and in the report, in the run's language; a
    reply time says what its counts are (messages answered of those sent), never bare numbers."""
    v, unit = row["value"], row["unit"]
    if v is None or pd.isna(v):
        shown = _("none yet")
    elif unit == "share":
        shown = format_percent(float(v))
    elif unit == "hours":
        shown = _("{hours} h").format(hours=format_number(float(v), 1))
    else:
        shown = format_number(int(v))
    n, d = row["numerator"], row["denominator"]
    if d is None or pd.isna(d):
        return shown, ""
    if unit == "hours":
        return shown, ngettext("{n} of {d} message answered", "{n} of {d} messages answered", int(d)).format(
            n=int(n), d=int(d)
        )
    return shown, _("{n} of {d}").format(n=int(n), d=int(d))


def headline_delta(row) -> str | None:
    """The change from the previous period as shown on a card, or None when there is
    nothing to compare (no previous value) or nothing changed: no "+0" card."""
    value, previous, unit = row["value"], row["previous"], row["unit"]
    if any(v is None or pd.isna(v) for v in (value, previous)):
        return None
    diff = float(value) - float(previous)
    if unit == "share":
        points = round(diff * 100)
        return None if points == 0 else ngettext("{n} point", "{n} points", abs(points)).format(n=f"{points:+d}")
    if unit == "hours":
        return None if round(diff, 1) == 0 else _("{hours} h").format(hours=f"{diff:+.1f}")
    return None if round(diff) == 0 else f"{diff:+.0f}"


def _local_day(ts, tz: ZoneInfo) -> str:
    if ts is None or pd.isna(ts):
        return ""
    stamp = pd.Timestamp(ts).to_pydatetime()
    return f"{stamp.replace(tzinfo=UTC).astimezone(tz):%Y-%m-%d}"


def headline_table(c: Caseload) -> pd.DataFrame:
    rows = []
    for row in c.headline.to_dict("records"):
        shown, parts = headline_text(row)
        before = row["previous"]
        rows.append(
            {
                "Figure": row["label"],
                "This period": shown,
                "Counts": parts,
                "Previous period": ""
                if before is None or pd.isna(before)
                else headline_text({**row, "value": before})[0],
                "What it counts": row["note"],
            }
        )
    return pd.DataFrame(rows, columns=["Figure", "This period", "Counts", "Previous period", "What it counts"])


def adherence_table(c: Caseload, settings: Settings) -> pd.DataFrame:
    a = c.adherence
    if a.empty:
        return pd.DataFrame(columns=["Programme"])
    return pd.DataFrame(
        {
            "Programme": a["programme"].to_numpy(),
            "Enrolled by the period end": whole(a["enrolled"]),
            "Episodes ended": whole(a["ended"]),
            "Full completers": whole(a["full_completers"]),
            "Completion (% of ended episodes)": [pct(r) for r in a["completion_rate"]],
            "Completion": [share_text(n, d, _ended_words) for n, d in zip(a["full_completers"], a["ended"])],
            "Completed 80% or more": whole(a["completers_80"]),
            "Drop-outs": whole(a["dropouts"]),
            "Drop-out (% of enrolled)": [pct(r) for r in a["dropout_rate"]],
            "Drop-out": [share_text(n, d, _enrolled_words) for n, d in zip(a["dropouts"], a["enrolled"])],
            "Withdrew early": whole(a["withdrawn_early"]),
            f"Lapsed (no activity for {settings.dropout_inactive_days} days)": whole(a["lapsed_early"]),
            "Dropped out before module 1": whole(a["dropouts_not_started"]),
        }
    )


def dropout_by_module_table(c: Caseload) -> pd.DataFrame:
    """Every module of every programme: started, completed and dropped out, both rates
    over the patients who started it, and the median days to complete it."""
    m = c.dropout_by_module.merge(
        c.module_days[["programme", "position", "median_days", "completions"]], on=["programme", "position"], how="left"
    )
    return pd.DataFrame(
        {
            "Programme": m["programme"].to_numpy(),
            "Module": whole(m["position"]),
            "Title": m["title"].to_numpy(),
            "Started": whole(m["started"]),
            "Completed": whole(m["completed"]),
            "Completion (% of started)": [pct(r) for r in m["completion_rate"]],
            "Dropped out": whole(m["dropouts"]),
            "Drop-out (% of started)": [pct(r) for r in m["dropout_rate"]],
            "Drop-out": [
                ngettext("{c} of {s} who started module {k}", "{c} of {s} who started module {k}", int(s)).format(
                    c=int(d), s=int(s), k=int(k)
                )
                if s
                else _("nobody started it yet")
                for d, s, k in zip(m["dropouts"], m["started"], m["position"])
            ],
            "Median days to complete": [one_decimal(v) for v in m["median_days"]],
        }
    )


def funnel_table(c: Caseload) -> pd.DataFrame:
    f = c.funnel
    return pd.DataFrame(
        {
            "Programme": f["programme"].to_numpy(),
            "Module": whole(f["position"]),
            "Title": f["title"].to_numpy(),
            "Counted": whole(f["eligible"]),
            "Started": whole(f["started"]),
            "Started (% of counted)": [pct(r) for r in f["share"]],
        }
    )


def lapsed_table(c: Caseload, tz: ZoneInfo) -> pd.DataFrame:
    p = c.lapsed
    return pd.DataFrame(
        {
            "Patient": p["code"].to_numpy(),
            "Programme": p["programme"].to_numpy(),
            "Therapist": p["therapist"].to_numpy(),
            "Enrolled": [_local_day(t, tz) for t in p["enrolled_at"]],
            "Modules completed": whole(p["modules_completed"]),
            "Modules in programme": whole(p["modules_total"]),
            "Last activity": [_local_day(t, tz) for t in p["last_activity_at"]],
            "Days inactive": whole(p["days_inactive"]),
        }
    )


def workload_table(c: Caseload, settings: Settings) -> pd.DataFrame:
    w = c.workload
    if w.empty:
        return pd.DataFrame(columns=["Therapist"])
    days, hours = settings.recent_days, f"{settings.feedback_due_hours:g}"
    return pd.DataFrame(
        {
            "Therapist": w["therapist"].to_numpy(),
            "Active patients": whole(w["caseload"]),
            f"Active in last {days} days": whole(w["active_recent"]),
            f"Active in last {days} days (%)": [pct(r) for r in w["active_share"]],
            "Open triage items": whole(w["open_items"]),
            "Reasons": w["reasons"].to_numpy(),
            "Patient messages": whole(w["messages"]),
            "Answered": whole(w["answered"]),
            "Median reply (hours)": [one_decimal(v) for v in w["median_reply_hours"]],
            "Modules completed": whole(w["feedback_completions"]),
            f"Feedback within {hours} h": whole(w["feedback_in_time"]),
            f"Feedback within {hours} h (%)": [pct(r) for r in w["feedback_share"]],
            "Lapsed": whole(w["lapsed"]),
        }
    )


def outcomes_table(table: pd.DataFrame, key_title: str) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            key_title: table["name"].to_numpy(),
            "Anxiety measure": table["anxiety_measure"].to_numpy(),
            "Finished courses": whole(table["finished"]),
            "Paired": whole(table["paired"]),
            "No paired scores": whole(table["no_paired_scores"]),
            "Not at caseness at the start": whole(table["not_at_caseness"]),
            "In progress": whole(table["in_progress"]),
        }
    )
    for rate in OUTCOME_RATES:
        label = OUTCOME_LABELS[rate]
        out[label] = whole(table[f"{rate}_numerator"])
        out[f"{label}: of"] = whole(table[f"{rate}_denominator"])
        out[f"{label} (%)"] = [pct(r) for r in table[f"{rate}_rate"]]  # empty when too few to show
    out["Courses due a follow-up"] = whole(table["follow_up_courses"])
    out["With a follow-up measure"] = whole(table["followed_up"])
    out[MAINTAINED_LABEL] = whole(table["improvement_maintained_numerator"])
    out[f"{MAINTAINED_LABEL}: of"] = whole(table["improvement_maintained_denominator"])
    out[f"{MAINTAINED_LABEL} (%)"] = [pct(r) for r in table["improvement_maintained_rate"]]
    return out


MAINTAINED_LABEL = N_("Improvement maintained at follow-up")  # a column code; translated where shown


def follow_up_text(settings: Settings) -> str:
    """What the follow-up columns count, with the window the settings give."""
    lo, hi = f"{settings.follow_up_from_weeks:g}", f"{settings.follow_up_to_weeks:g}"
    return _(
        "Courses due a follow-up: finished courses (as above) whose follow-up window, {lo}-{hi} weeks after the "
        "end (settings follow_up_from_weeks, follow_up_to_weeks), was open in the period: ended from {hi} weeks "
        "before its start to {lo} weeks before its end. A follow-up measure: PHQ-9 and the anxiety measure both "
        "answered in the window by the period end. Improvement maintained: of the courses reliably improved at "
        "the end with a follow-up measure, those still reliably improved against baseline at the latest "
        "follow-up scores (clinical-reference 3.2 re-run)"
    ).format(lo=lo, hi=hi)


def gp_table(c: Caseload, settings: Settings) -> pd.DataFrame:
    g = c.gp_compliance
    if g.empty:
        return pd.DataFrame(columns=["GP"])
    out = pd.DataFrame(
        {
            "GP": g["gp"].to_numpy(),
            "Patients": whole(g["patients"]),
            "Follow-ups due": whole(g["due"]),
            "Held": whole(g["held"]),
            f"Held within {settings.followup_overdue_days} days": whole(g["held_in_time"]),
            "Held in time (% of due)": [pct(h / d) if d else None for h, d in zip(g["held_in_time"], g["due"])],
            "Overdue now": whole(g["overdue"]),
            "Median days to follow-up": [one_decimal(v) for v in g["median_days"]],
            "Follow-ups held": whole(g["followups_held"]),
        }
    )
    for key, label in ACTIONS.items():
        out[f"Action: {label}"] = whole(g[f"action_{key}"])
    return out


def trends_table(c: Caseload, tz: ZoneInfo) -> pd.DataFrame:
    t = c.trends
    return pd.DataFrame(
        {
            "Week from": [_local_day(v, tz) for v in t["week_start"]],
            "Week to": [_local_day(v, tz) for v in t["week_end"]],
            "Enrolments": whole(t["enrolments"]),
            "Module completions": whole(t["module_completions"]),
            "Active patients at the week's end": whole(t["open_episodes"]),
            "Recovered": whole(t["recovery_numerator"]),
            "Finished at caseness": whole(t["recovery_denominator"]),
            "Recovery (%)": [pct(r) for r in t["recovery_rate"]],
        }
    )


# The tables' column headers: the builders name their columns in English (the page and
# the report select columns by these names); the CSVs carry them in the run's language.
HEADERS = (
    N_("Figure"),
    N_("This period"),
    N_("Counts"),
    N_("Previous period"),
    N_("What it counts"),
    N_("Programme"),
    N_("Enrolled by the period end"),
    N_("Episodes ended"),
    N_("Full completers"),
    N_("Completion (% of ended episodes)"),
    N_("Completion"),
    N_("Completed 80% or more"),
    N_("Drop-outs"),
    N_("Drop-out (% of enrolled)"),
    N_("Drop-out"),
    N_("Withdrew early"),
    N_("Dropped out before module 1"),
    N_("Module"),
    N_("Title"),
    N_("Started"),
    N_("Completed"),
    N_("Completion (% of started)"),
    N_("Dropped out"),
    N_("Drop-out (% of started)"),
    N_("Median days to complete"),
    N_("Counted"),
    N_("Started (% of counted)"),
    N_("Patient"),
    N_("Therapist"),
    N_("Enrolled"),
    N_("Modules completed"),
    N_("Modules in programme"),
    N_("Last activity"),
    N_("Days inactive"),
    N_("Active patients"),
    N_("Open triage items"),
    N_("Reasons"),
    N_("Patient messages"),
    N_("Answered"),
    N_("Median reply (hours)"),
    N_("Lapsed"),
    N_("Anxiety measure"),
    N_("Finished courses"),
    N_("Paired"),
    N_("No paired scores"),
    N_("Not at caseness at the start"),
    N_("In progress"),
    N_("Courses due a follow-up"),
    N_("With a follow-up measure"),
    N_("GP"),
    N_("Patients"),
    N_("Follow-ups due"),
    N_("Held"),
    N_("Held in time (% of due)"),
    N_("Overdue now"),
    N_("Median days to follow-up"),
    N_("Follow-ups held"),
    N_("Week from"),
    N_("Week to"),
    N_("Enrolments"),
    N_("Module completions"),
    N_("Active patients at the week's end"),
    N_("Recovered"),
    N_("Finished at caseness"),
    N_("Recovery (%)"),
)
HEADER_TEMPLATES = {  # a header with a setting in it: its template and the setting
    N_("Lapsed (no activity for {days} days)"): lambda s: {"days": s.dropout_inactive_days},
    N_("Active in last {days} days"): lambda s: {"days": s.recent_days},
    N_("Active in last {days} days (%)"): lambda s: {"days": s.recent_days},
    N_("Feedback within {hours} h"): lambda s: {"hours": f"{s.feedback_due_hours:g}"},
    N_("Feedback within {hours} h (%)"): lambda s: {"hours": f"{s.feedback_due_hours:g}"},
    N_("Held within {days} days"): lambda s: {"days": s.followup_overdue_days},
}


def header_words(settings: Settings) -> dict[str, str]:
    """Every table's English column name -> its header in the run's language."""
    words = {h: _(h) for h in HEADERS}
    for template, values in HEADER_TEMPLATES.items():
        words[template.format(**values(settings))] = _(template).format(**values(settings))
    for label in [*OUTCOME_LABELS.values(), MAINTAINED_LABEL]:
        words[label] = _(label)
        words[f"{label}: of"] = _("{label}: of").format(label=_(label))
        words[f"{label} (%)"] = _("{label} (%)").format(label=_(label))
    for label in ACTIONS.values():
        words[f"Action: {label}"] = _("Action: {label}").format(label=_(label))
    return words


def export_tables(c: Caseload, settings: Settings, tz: ZoneInfo) -> dict[str, pd.DataFrame]:
    """Every table of the page as people read it, by name (TABLE_TITLES order), its
    headers and words in the run's language."""
    tables = {
        "headline": headline_table(c),
        "adherence": adherence_table(c, settings),
        "dropout_by_module": dropout_by_module_table(c),
        "funnel": funnel_table(c),
        "lapsed": lapsed_table(c, tz),
        "workload": workload_table(c, settings),
        "outcomes": outcomes_table(c.outcomes, "Programme"),
        "outcomes_by_therapist": outcomes_table(c.outcomes_by_therapist, "Therapist"),
        "gp_compliance": gp_table(c, settings),
        "trends": trends_table(c, tz),
    }
    words = header_words(settings)
    return {name: tables[name].rename(columns=words) for name in TABLE_TITLES}


def definitions_text(c: Caseload, tz: ZoneInfo, generated_at: datetime) -> str:
    """The definitions beside the figures, for the zip of every table, in the run's language
    (times in its short format). In English each definition is named by its table's code,
    as before; in another language by the table's title."""
    at = lambda t: f"{t.replace(tzinfo=UTC).astimezone(tz):%Y-%m-%d %H:%M}"  # noqa: E731 - ISO-like in every language, as before
    english = current_language() == SOURCE

    def named(name: str) -> str:
        return name.replace("_", " ") if english or name not in TABLE_TITLES else _(TABLE_TITLES[name])

    lines = [
        _("Caseload · {team}").format(team=c.team),
        _("Period {start} to {end} ({zone}); generated {generated}.").format(
            start=at(c.filters.start), end=at(c.filters.end), zone=tz.key, generated=at(generated_at)
        ),
        _("Rates are percentages with one decimal; an empty rate has no denominator or too few to show."),
        "",
        *[f"{named(name)}: {text}" for name, text in c.definitions.items()],
    ]
    return "\r\n".join(lines) + "\r\n"
