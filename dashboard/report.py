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
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pandas as pd

from dashboard import charts
from dashboard.caseload import NATIONAL, OUTCOME_LABELS, OUTCOME_RATES, TREND_WEEKS, Caseload
from dashboard.caseload.tables import MAINTAINED_LABEL, dropout_by_module_table, follow_up_text, headline_text
from dashboard.config import Settings

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
    return "too few" if rate is None or (isinstance(rate, float) and math.isnan(rate)) else f"{rate:.0%}"


def _table(frame: pd.DataFrame, columns: dict[str, str]) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for label in columns.values())
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(row[c]))}</td>" for c in columns) + "</tr>"
        for _, row in frame.iterrows()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body or '<tr><td colspan=99>none</td></tr>'}</tbody></table>"


def _cell(v) -> str:
    v = _clean(v)
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.1f}" if not v.is_integer() else f"{int(v)}"
    return str(v)


def outcome_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Rates as 'p % (n/d)' text. A small cell is "too few to show" without the counts
    it suppresses; a rate over no courses is "none yet"."""
    out = table[["name", "anxiety_measure", "finished", "paired", "no_paired_scores", "in_progress"]].copy()
    for rate in OUTCOME_RATES:
        out[OUTCOME_LABELS[rate]] = [
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
    "follow_up_courses": "Courses due a follow-up",
    "followed_up": "With a follow-up measure",
    MAINTAINED_LABEL: MAINTAINED_LABEL,
}


def rate_text(numerator, denominator, rate) -> str:
    if denominator is None or pd.isna(denominator) or int(denominator) == 0:
        return "none yet"
    if rate is None or pd.isna(rate):
        return "too few to show"
    return f"{percent(rate)} ({int(numerator)}/{int(denominator)})"


OUTCOME_TABLE_LABELS = {
    "name": "",
    "anxiety_measure": "Anxiety measure",
    "finished": "Finished courses",
    "paired": "Paired",
    "no_paired_scores": "No paired scores",
    "in_progress": "In progress",
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
    f = c.filters
    local = lambda t: t.replace(tzinfo=UTC).astimezone(tz)  # noqa: E731
    parts = [
        f"<h1>Caseload report · {html.escape(c.team)}</h1>",
        f"<p class=small>Period {local(f.start):%d %b %Y %H:%M} – {local(f.end):%d %b %Y %H:%M} ({tz.key}); "
        f"change compares with the {(f.end - f.start).days} days before. Generated {local(generated_at):%d %b %Y %H:%M}. "
        "Aggregates only: no patient identifiers.</p>",
        "<h2>Headline</h2><div class=figures>",
    ]
    for _, row in c.headline.iterrows():
        shown, nd = headline_text(row)
        prev = row["previous"]
        before = "" if prev is None or pd.isna(prev) else f"previous period {headline_text({**row, 'value': prev})[0]}"
        line = " · ".join(p for p in (nd, before) if p)
        parts.append(
            f"<div class=figure><div>{html.escape(row['label'])}</div><div class=v>{shown}</div>"
            f"<div class=small>{line}</div><div class=small>{html.escape(row['note'])}</div></div>"
        )
    parts.append("</div>")
    parts.append("<h2>Adherence</h2>")
    parts.append(
        f"<p class=small>Drop-out: {html.escape(c.definitions['dropout'])}. Funnel: {html.escape(c.definitions['funnel'])}.</p>"
    )
    adherence = c.adherence.assign(
        completion=[
            f"{percent(r)} ({n} of {d} whose episode ended)"
            for r, n, d in zip(
                c.adherence.get("completion_rate", []),
                c.adherence.get("full_completers", []),
                c.adherence.get("ended", []),
            )
        ],
        dropout=[
            f"{percent(r)} ({n} of {d} enrolled)"
            for r, n, d in zip(
                c.adherence.get("dropout_rate", []), c.adherence.get("dropouts", []), c.adherence.get("enrolled", [])
            )
        ],
    )
    parts.append(
        _table(
            adherence,
            {
                "programme": "Programme",
                "enrolled": "Enrolled",
                "ended": "Ended",
                "completion": "Completion (of those whose episode ended)",
                "dropout": "Drop-out (of those enrolled)",
            },
        )
    )
    for programme, stages in c.funnel.groupby("programme", sort=True):
        parts.append(f"<h3>{html.escape(programme)}: module funnel</h3>{svg(charts.funnel_chart(stages))}")
    parts.append(f"<h3>Drop-out by module</h3><p class=small>{html.escape(c.definitions['dropout_by_module'])}.</p>")
    for programme, rows in c.dropout_by_module.groupby("programme", sort=True):
        parts.append(f"<h4>{html.escape(programme)}</h4>{svg(charts.dropout_chart(rows))}")
    by_module = dropout_by_module_table(c)
    parts.append(_table(by_module, {col: col for col in by_module.columns if col != "Drop-out (% of started)"}))
    parts.append(
        f"<p>Lapsed but not closed: {len(c.lapsed)} open episodes with no activity for "
        f"{settings.dropout_inactive_days} days (listed on the page).</p>"
    )
    parts.append("<h2>Workload per therapist</h2>")
    parts.append(
        _table(
            c.workload,
            {
                "therapist": "Therapist",
                "caseload": "Caseload",
                "active_recent": "Active",
                "open_items": "Open triage items",
                "reasons": "Reasons",
                "median_reply_hours": "Median reply (h)",
                "feedback_in_time": "Feedback in time",
                "feedback_completions": "of completions",
                "lapsed": "Lapsed",
            },
        )
    )
    parts.append("<h2>Outcomes (NHS Talking Therapies)</h2>")
    parts.append(
        f"<p class=small>Finished course: {html.escape(c.definitions['finished_course'])}. "
        f"{html.escape(c.definitions['paired'])}. {html.escape(c.definitions['small_cells'])}. "
        f"{html.escape(c.definitions['anxiety_measure'])}.</p>"
    )
    bench = "; ".join(f"{OUTCOME_LABELS[k]} {v:.1%} ({s})" for k, (v, s) in NATIONAL.items())
    parts.append(
        f"<p class=small>National figures: {html.escape(bench)}. Standard: recovery "
        f"{percent(settings.target_recovery)}.</p>"
    )
    for title, table in (("By programme", c.outcomes), ("By therapist", c.outcomes_by_therapist)):
        parts.append(f"<h3>{title}</h3>" + _table(outcome_rows(table), OUTCOME_TABLE_LABELS))
    parts.append(
        f"<h3>At follow-up, by programme</h3><p class=small>{html.escape(follow_up_text(settings))}.</p>"
        + _table(follow_up_rows(c.outcomes), FOLLOW_UP_TABLE_LABELS)
    )
    parts.append("<h2>GP follow-up compliance</h2>")
    parts.append(
        _table(
            c.gp_compliance,
            {
                "gp": "GP",
                "patients": "Patients",
                "due": "Due",
                "held": "Held",
                "held_in_time": f"Held within {settings.followup_overdue_days} d",
                "overdue": "Overdue",
                "median_days": "Median days to follow-up",
                "followups_held": "Follow-ups held",
            },
        )
    )
    parts.append(
        f"<h2>Trends ({TREND_WEEKS} weeks)</h2>" + svg(charts.trends_chart(c.trends, settings.target_recovery))
    )
    if quality is not None and not quality.empty:
        parts.append(
            "<h2>Data quality</h2><p class=small>Platform rows left out or adjusted in these figures "
            "(the patients are listed on the Caseload page).</p>"
        )
        parts.append(
            _table(
                quality, {"problem": "Problem", "effect": "What Caseboard did", "patients": "Patients", "rows": "Rows"}
            )
        )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Caseload report · "
        f"{html.escape(c.team)}</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>"
    )
