"""The Caseload report for a service review: JSON with every figure, or one
self-contained HTML file (charts inlined as SVG, no script or font from the
internet: a clinic PC may be offline).

    caseboard report --user USERNAME [--db URL] [--state-db URL]
                               [--from DATE --to DATE] [--format html|json] [--out FILE]

The report holds aggregates only: no patient codes leave the page in it (the
lapsed patients appear as a count per therapist). Every report is audited.
"""

from __future__ import annotations

import html
import math
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd

from dashboard import charts
from dashboard.caseload import NATIONAL, OUTCOME_LABELS, OUTCOME_RATES, TREND_WEEKS, Caseload
from dashboard.caseload.tables import MAINTAINED_LABEL, dropout_by_module_table, follow_up_text, headline_text
from dashboard.config import Settings
from dashboard.i18n import (
    N_,
    PSEUDO,
    babel_locale,
    current_language,
    format_day_time,
    format_number,
    format_percent,
    ngettext,
)
from dashboard.i18n import gettext as _

REPORT_TABLES = (
    "headline",
    "adherence",
    "funnel",
    "dropout_by_module",
    "module_days",
    "workload",
    "gp_compliance",
    "trends",
)


# ---------------------------------------------------------------- JSON


def _clean(value):
    """JSON-safe scalars: NaN/NA become null, numpy numbers plain numbers, times ISO text."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.isoformat()
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


def records(frame: pd.DataFrame) -> list[dict]:
    return [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _outcomes_json(table: pd.DataFrame) -> dict[str, dict]:
    out = {}
    for row in records(table):
        entry = {k: row[k] for k in ("finished", "paired", "no_paired_scores", "not_at_caseness", "in_progress")}
        # the anxiety measure paired with PHQ-9 (clinical-reference 3.3): in words, and the
        # paired courses by instrument code
        entry["anxiety_measure"] = row["anxiety_measure"]
        entry["anxiety_measure_courses"] = row["anxiety_courses"]
        for rate in OUTCOME_RATES:
            entry[rate] = {part: row[f"{rate}_{part}"] for part in ("numerator", "denominator", "rate")}
        # at follow-up (issue 20): courses with both measures there, and improvement maintained
        entry["follow_up_courses"] = row["follow_up_courses"]
        entry["followed_up"] = row["followed_up"]
        entry["improvement_maintained"] = {
            part: row[f"improvement_maintained_{part}"] for part in ("numerator", "denominator", "rate")
        }
        out[row["name"]] = entry
    return out


def quality_records(quality: pd.DataFrame | None) -> list[dict]:
    """The data-quality note as counts: a report carries no patient codes."""
    if quality is None or quality.empty:
        return []
    return records(quality[["check", "problem", "effect", "patients", "rows"]])


def to_json(c: Caseload, settings: Settings, quality: pd.DataFrame | None = None) -> dict:
    """Every figure of the page (patient rows excluded: lapsed patients are counted)."""
    f = c.filters
    body = {
        "team": c.team,
        "period": {
            "start": f.start.isoformat(),
            "end": f.end.isoformat(),
            "previous_start": f.previous.start.isoformat(),
        },
        "filters": {
            "program_id": f.program_id,
            "therapist_id": f.therapist_id,
            "cohort": None if f.cohort is None else [t.isoformat() for t in f.cohort],
        },
        "definitions": c.definitions,
        "outcomes": _outcomes_json(c.outcomes),
        "outcomes_by_therapist": _outcomes_json(c.outcomes_by_therapist),
        "benchmarks": {k: {"rate": v, "source": s} for k, (v, s) in NATIONAL.items()},
        "targets": {
            k: settings.values.get(f"target_{k}") for k in ("recovery", "reliable_recovery", "reliable_improvement")
        },
        "lapsed_not_closed": len(c.lapsed),
        "data_quality": quality_records(quality),
    }
    for name in REPORT_TABLES:
        body[name] = records(getattr(c, name))
    return body


# ---------------------------------------------------------------- HTML


def svg(spec: dict) -> str:
    """A chart's Vega-Lite spec as inline SVG (vl-convert renders it without a browser or network)."""
    import vl_convert as vlc  # here, not at the top: it loads a rendering engine only an HTML report needs

    return vlc.vegalite_to_svg(_fixed_width(spec))


def _fixed_width(spec: dict) -> dict:
    """'container' width has no container in a file: give every view a fixed one."""
    if spec.get("width") == "container":
        spec["width"] = 560
    for key in ("layer", "vconcat", "hconcat", "concat"):
        for sub in spec.get(key, []):
            _fixed_width(sub)
    return spec


def percent(rate) -> str:
    """A rate as the language's whole percentage ("52%", "52 %" in Finnish), or "too few"."""
    if rate is None or (isinstance(rate, float) and math.isnan(rate)):
        return _("too few")
    return format_percent(rate)


def _table(frame: pd.DataFrame, columns: dict[str, str]) -> str:
    """A table whose header is ``columns``' labels (the words as shown: translated by the caller)."""
    head = "".join(f"<th>{html.escape(label)}</th>" for label in columns.values())
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(row[c]))}</td>" for c in columns) + "</tr>"
        for _, row in frame.iterrows()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body or '<tr><td colspan=99>' + html.escape(_('none')) + '</td></tr>'}</tbody></table>"


def _cell(v) -> str:
    v = _clean(v)
    if v is None:
        return "–"
    if isinstance(v, float):
        return format_number(v, 1) if not v.is_integer() else format_number(int(v))
    if isinstance(v, int) and not isinstance(v, bool):
        return format_number(v)
    return str(v)


def outcome_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Rates as 'p % (n/d)' text. A small cell is "too few to show" without the counts
    it suppresses; a rate over no courses is "none yet"."""
    out = table[["name", "anxiety_measure", "finished", "paired", "no_paired_scores", "in_progress"]].copy()
    for rate in OUTCOME_RATES:
        out[OUTCOME_LABELS[rate]] = [  # the column's key; its header is translated in _table
            rate_text(n, d, r)
            for n, d, r in zip(table[f"{rate}_numerator"], table[f"{rate}_denominator"], table[f"{rate}_rate"])
        ]
    return out


def follow_up_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Per row of an outcome table: finished courses, those with a follow-up measure (PHQ-9
    and the anxiety measure 4-26 weeks after the end) and the share whose reliable
    improvement was maintained, as 'p % (n/d)' with small cells suppressed (rate_text)."""
    out = table[["name", "follow_up_courses", "followed_up"]].copy()
    out[MAINTAINED_LABEL] = [
        rate_text(n, d, r)
        for n, d, r in zip(
            table["improvement_maintained_numerator"],
            table["improvement_maintained_denominator"],
            table["improvement_maintained_rate"],
        )
    ]
    return out


FOLLOW_UP_TABLE_LABELS = {
    "name": "",
    "follow_up_courses": N_("Courses due a follow-up"),
    "followed_up": N_("With a follow-up measure"),
    MAINTAINED_LABEL: MAINTAINED_LABEL,
}


def shown(labels: dict[str, str]) -> dict[str, str]:
    """A table's ``N_`` labels in the run's language (an empty label stays empty)."""
    return {key: _(label) if label else "" for key, label in labels.items()}


def rate_text(numerator, denominator, rate) -> str:
    if denominator is None or pd.isna(denominator) or int(denominator) == 0:
        return _("none yet")
    if rate is None or pd.isna(rate):
        return _("too few to show")
    return f"{percent(rate)} ({format_number(int(numerator))}/{format_number(int(denominator))})"


OUTCOME_TABLE_LABELS = {
    "name": "",
    "anxiety_measure": N_("Anxiety measure"),
    "finished": N_("Finished courses"),
    "paired": N_("Paired"),
    "no_paired_scores": N_("No paired scores"),
    "in_progress": N_("In progress"),
    **{label: label for label in OUTCOME_LABELS.values()},
}

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#222;margin:2em;max-width:1100px}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left}
th{background:#f4f4f4}.figures{display:flex;flex-wrap:wrap;gap:1em}.figure{border:1px solid #ccc;padding:.5em 1em;min-width:11em}
.figure .v{font-size:1.5em;font-weight:600}.small{color:#555;font-size:.85em}svg{max-width:100%;height:auto}
@media print{body{margin:0}h2{page-break-after:avoid}table,svg{page-break-inside:avoid}}
"""


def to_html(
    c: Caseload, settings: Settings, tz: ZoneInfo, generated_at: datetime, quality: pd.DataFrame | None = None
) -> str:
    """The report as one HTML file in the run's language (``<html lang>``, words, dates and numbers)."""
    f = c.filters
    when = lambda t: format_day_time(t, tz)  # noqa: E731
    team = html.escape(c.team)
    parts = [
        "<h1>" + html.escape(_("Caseload report · {team}")).format(team=team) + "</h1>",
        "<p class=small>"
        + html.escape(
            ngettext(
                "Period {start} – {end} ({zone}); change compares with the {days} day before. Generated {generated}. "
                "Aggregates only: no patient identifiers.",
                "Period {start} – {end} ({zone}); change compares with the {days} days before. Generated {generated}. "
                "Aggregates only: no patient identifiers.",
                (f.end - f.start).days,
            ).format(
                start=when(f.start),
                end=when(f.end),
                zone=tz.key,
                days=format_number((f.end - f.start).days),
                generated=when(generated_at),
            )
        )
        + "</p>",
        "<h2>" + html.escape(_("Headline")) + "</h2><div class=figures>",
    ]
    for _i, row in c.headline.iterrows():
        value, nd = headline_text(row)
        prev = row["previous"]
        before = (
            ""
            if prev is None or pd.isna(prev)
            else _("previous period {value}").format(value=headline_text({**row, "value": prev})[0])
        )
        line = " · ".join(p for p in (nd, before) if p)
        parts.append(
            f"<div class=figure><div>{html.escape(row['label'])}</div><div class=v>{value}</div>"
            f"<div class=small>{line}</div><div class=small>{html.escape(row['note'])}</div></div>"
        )
    parts.append("</div>")
    parts.append("<h2>" + html.escape(_("Adherence")) + "</h2>")
    parts.append(
        "<p class=small>"
        + html.escape(
            _("Drop-out: {dropout}. Funnel: {funnel}.").format(
                dropout=c.definitions["dropout"], funnel=c.definitions["funnel"]
            )
        )
        + "</p>"
    )
    adherence = c.adherence.assign(
        completion=[
            _("{rate} ({n} of {d} whose episode ended)").format(rate=percent(r), n=format_number(n), d=format_number(d))
            for r, n, d in zip(
                c.adherence.get("completion_rate", []),
                c.adherence.get("full_completers", []),
                c.adherence.get("ended", []),
            )
        ],
        dropout=[
            _("{rate} ({n} of {d} enrolled)").format(rate=percent(r), n=format_number(n), d=format_number(d))
            for r, n, d in zip(
                c.adherence.get("dropout_rate", []), c.adherence.get("dropouts", []), c.adherence.get("enrolled", [])
            )
        ],
    )
    parts.append(_table(adherence, shown(ADHERENCE_LABELS)))
    for programme, stages in c.funnel.groupby("programme", sort=True):
        heading = _("{programme}: module funnel").format(programme=programme)
        parts.append(f"<h3>{html.escape(heading)}</h3>{svg(charts.funnel_chart(stages))}")
    parts.append(
        "<h3>"
        + html.escape(_("Drop-out by module"))
        + f"</h3><p class=small>{html.escape(c.definitions['dropout_by_module'])}.</p>"
    )
    for programme, rows in c.dropout_by_module.groupby("programme", sort=True):
        parts.append(f"<h4>{html.escape(programme)}</h4>{svg(charts.dropout_chart(rows))}")
    by_module = dropout_by_module_table(c)  # its columns are named (and translated) by dashboard.caseload.tables
    hidden = "Drop-out (% of started)"  # the chart shows it; a variable: that module's msgid, not this one's
    parts.append(_table(by_module, {col: col for col in by_module.columns if col not in (hidden, _(hidden))}))
    parts.append(
        "<p>"
        + html.escape(
            ngettext(
                "Lapsed but not closed: {n} open episode with no activity for {days} days (listed on the page).",
                "Lapsed but not closed: {n} open episodes with no activity for {days} days (listed on the page).",
                len(c.lapsed),
            ).format(n=format_number(len(c.lapsed)), days=format_number(settings.dropout_inactive_days))
        )
        + "</p>"
    )
    parts.append("<h2>" + html.escape(_("Workload per therapist")) + "</h2>")
    parts.append(_table(c.workload, shown(WORKLOAD_LABELS)))
    parts.append("<h2>" + html.escape(_("Outcomes (NHS Talking Therapies)")) + "</h2>")
    parts.append(
        "<p class=small>"
        + html.escape(
            _("Finished course: {finished}. {paired}. {small_cells}. {anxiety}.").format(
                finished=c.definitions["finished_course"],
                paired=c.definitions["paired"],
                small_cells=c.definitions["small_cells"],
                anxiety=c.definitions["anxiety_measure"],
            )
        )
        + "</p>"
    )
    bench = "; ".join(f"{_(OUTCOME_LABELS[k])} {format_percent(v, 1)} ({s})" for k, (v, s) in NATIONAL.items())
    parts.append(
        "<p class=small>"
        + html.escape(
            _("National figures: {figures}. Standard: recovery {target}.").format(
                figures=bench, target=percent(settings.target_recovery)
            )
        )
        + "</p>"
    )
    outcome_labels = {**shown(OUTCOME_TABLE_LABELS), **{label: _(label) for label in OUTCOME_LABELS.values()}}
    for title, table in ((_("By programme"), c.outcomes), (_("By therapist"), c.outcomes_by_therapist)):
        parts.append(f"<h3>{html.escape(title)}</h3>" + _table(outcome_rows(table), outcome_labels))
    parts.append(
        "<h3>"
        + html.escape(_("At follow-up, by programme"))
        + f"</h3><p class=small>{html.escape(follow_up_text(settings))}.</p>"
        + _table(follow_up_rows(c.outcomes), {**shown(FOLLOW_UP_TABLE_LABELS), MAINTAINED_LABEL: _(MAINTAINED_LABEL)})
    )
    parts.append("<h2>" + html.escape(_("GP follow-up compliance")) + "</h2>")
    gp_labels = shown(GP_LABELS)
    gp_labels["held_in_time"] = _("Held within {days} d").format(days=format_number(settings.followup_overdue_days))
    parts.append(_table(c.gp_compliance, gp_labels))
    parts.append(
        "<h2>"
        + html.escape(_("Trends ({weeks} weeks)").format(weeks=format_number(TREND_WEEKS)))
        + "</h2>"
        + svg(charts.trends_chart(c.trends, settings.target_recovery))
    )
    if quality is not None and not quality.empty:
        parts.append(
            "<h2>"
            + html.escape(_("Data quality"))
            + "</h2><p class=small>"
            + html.escape(
                _("Platform rows left out or adjusted in these figures (the patients are listed on the Caseload page).")
            )
            + "</p>"
        )
        parts.append(_table(quality, shown(QUALITY_LABELS)))
    title = html.escape(_("Caseload report · {team}")).format(team=team)
    return (
        f'<!doctype html><html lang="{html_lang()}"><head><meta charset=utf-8><title>{title}</title>'
        f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>"
    )


def html_lang() -> str:
    """The report's ``<html lang>``: the language's BCP 47 tag ("fi", "fr-CA"), English for the pseudo-locale."""
    return "en" if current_language() == PSEUDO else str(babel_locale()).replace("_", "-")


ADHERENCE_LABELS = {
    "programme": N_("Programme"),
    "enrolled": N_("Enrolled"),
    "ended": N_("Ended"),
    "completion": N_("Completion (of those whose episode ended)"),
    "dropout": N_("Drop-out (of those enrolled)"),
}
WORKLOAD_LABELS = {
    "therapist": N_("Therapist"),
    "caseload": N_("Caseload"),
    "active_recent": N_("Active"),
    "open_items": N_("Open triage items"),
    "reasons": N_("Reasons"),
    "median_reply_hours": N_("Median reply (h)"),
    "feedback_in_time": N_("Feedback in time"),
    "feedback_completions": N_("of completions"),
    "lapsed": N_("Lapsed"),
}
GP_LABELS = {
    "gp": N_("GP"),
    "patients": N_("Patients"),
    "due": N_("Due"),
    "held": N_("Held"),
    "held_in_time": "",  # with the setting's days, in to_html
    "overdue": N_("Overdue"),
    "median_days": N_("Median days to follow-up"),
    "followups_held": N_("Follow-ups held"),
}
QUALITY_LABELS = {
    "problem": N_("Problem"),
    "effect": N_("What Caseboard did"),
    "patients": N_("Patients"),
    "rows": N_("Rows"),
}
