"""Morning digest: ``caseboard queue --user USERNAME``.

Prints exactly the list that user starts the day with: a therapist's or team
lead's Triage queue (same scope, order and reasons), a GP's follow-ups due (as on
their Follow-ups page), a peer supporter's "Who to contact today" (in the Triage
queue's shape), so a service can e-mail each clinician their list. Every
run, and every refusal of an unknown user, is audited as ``cli:USERNAME``.
"""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

from dashboard import audit
from dashboard.cli.common import add_database_arguments, clean_errors, open_databases
from dashboard.commands import command
from dashboard.exports import csv_header, rows_csv
from dashboard.followups_due import due_list
from dashboard.i18n import N_, format_number, ngettext
from dashboard.i18n import gettext as _
from dashboard.peer_support import PEER_REASONS
from dashboard.quality import data_quality, summary
from dashboard.schema import PEER_SUPPORTER
from dashboard.scope import load_viewer
from dashboard.timeutil import freshness_line, utcnow
from dashboard.triage import triage

FORMATS = ("table", "csv", "json")


def queue_records(queue: pd.DataFrame) -> list[dict]:
    return [
        {
            "patient_code": r.code,
            "flags": list(r.flags),
            "reasons": list(r.reasons),
            "waiting_days": int(r.waiting_days),
            "therapist": r.therapist,
            "latest_score": r.latest,
            "escalated": bool(r.escalated),
        }
        for r in queue.itertuples()
    ]


DUE_FIELDS = ["patient_code", "finished", "waiting_days", "overdue", "latest_score", "change", "alerts"]
QUEUE_FIELDS = ["patient_code", "flags", "reasons", "waiting_days", "therapist", "latest_score", "escalated"]
# A due patient's alerts: English in JSON (stable values), translated in the table and CSV.
ALERT_WORDS = {
    "risk answer": N_("risk answer"),
    "supporter's concern": N_("supporter's concern"),
    "reliable deterioration": N_("reliable deterioration"),
}


def _alerts(alerts: list[str]) -> list[str]:
    return [_(ALERT_WORDS.get(a, a)) for a in alerts]


def _yes(on: bool) -> str:
    return _("yes") if on else ""


def due_records(due: pd.DataFrame) -> list[dict]:
    """A GP's follow-ups due (dashboard.followups_due), most urgent first."""
    return [
        {
            "patient_code": r.code,
            "finished": r.modules_finished,
            "waiting_days": int(r.waiting_days),
            "overdue": bool(r.overdue),
            "latest_score": r.latest,
            "change": r.change,
            "alerts": [
                a
                for a, on in (
                    ("risk answer", r.risk),
                    ("supporter's concern", r.concern),
                    ("reliable deterioration", r.deterioration),
                )
                if on
            ],
        }
        for r in due.itertuples()
    ]


def render_due(records: list[dict], fmt: str, freshness: str) -> str:
    if fmt == "json":
        return json.dumps(records, indent=2, ensure_ascii=False)
    if fmt == "csv":
        return rows_csv(
            csv_header(DUE_FIELDS),
            (
                [
                    r["patient_code"],
                    r["finished"],
                    r["waiting_days"],
                    _yes(r["overdue"]),
                    r["latest_score"],
                    r["change"],
                    "; ".join(_alerts(r["alerts"])),
                ]
                for r in records
            ),
        )
    n, overdue = len(records), sum(r["overdue"] for r in records)
    heading = ngettext("{n} patient due a follow-up", "{n} patients due a follow-up", n).format(n=format_number(n))
    if overdue:
        heading += ngettext(", {n} overdue", ", {n} overdue", overdue).format(n=format_number(overdue))
    lines = [freshness, heading, ""]
    for r in records:
        alerts = ", ".join(_alerts(r["alerts"])).upper() + "  " if r["alerts"] else ""
        overdue_word = _("OVERDUE") + "  " if r["overdue"] else ""
        lines.append(
            f"{r['patient_code']:<10} {_waiting(r['waiting_days'])}  {overdue_word}"
            f"{alerts}{r['finished']} · {r['latest_score']}"
        )
    return "\n".join(lines)


def _waiting(days: int) -> str:
    """``waiting  12 d``: the days right-aligned in three places, as the table lines up."""
    return _("waiting {days} d").format(days=f"{format_number(days):>3}")


def render(records: list[dict], fmt: str, freshness: str) -> str:
    if fmt == "json":
        return json.dumps(records, indent=2, ensure_ascii=False)
    if fmt == "csv":
        return rows_csv(
            csv_header(QUEUE_FIELDS),
            (
                [
                    r["patient_code"],
                    " ".join(r["flags"]),
                    "; ".join(r["reasons"]),
                    r["waiting_days"],
                    r["therapist"],
                    r["latest_score"],
                    _yes(r["escalated"]),
                ]
                for r in records
            ),
        )
    n = len(records)
    lines = [freshness, ngettext("{n} patient needs you", "{n} patients need you", n).format(n=format_number(n)), ""]
    for r in records:
        escalated = _("ESCALATED") + "  " if r["escalated"] else ""
        lines.append(f"{r['patient_code']:<10} {_waiting(r['waiting_days'])}  {escalated}" + "; ".join(r["reasons"]))
    return "\n".join(lines)


def quality_lines(issues: pd.DataFrame) -> str:
    """The data-quality note of the viewer's records, one problem a line; empty when clean."""
    if issues.empty:
        return ""
    lines = [summary(issues)]
    lines += [
        "- "
        + ngettext(
            "{problem} ({n} row): {effect}. Patients: {codes}",
            "{problem} ({n} rows): {effect}. Patients: {codes}",
            r.rows,
        ).format(problem=r.problem, n=format_number(r.rows), effect=r.effect, codes=", ".join(r.codes))
        for r in issues.itertuples()
    ]
    return "\n".join(lines) + "\n"


@clean_errors
def main(argv: list[str] | None = None) -> int:
    # Built here, after --lang set the language (dashboard/cli/__init__.py), so the help is translated;
    # the description is this module's docstring, kept English (developer documentation).
    parser = argparse.ArgumentParser(
        prog=command("queue"), description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--user", required=True, help=_("login name of the clinician (role and team from clinicians)"))
    add_database_arguments(parser)
    parser.add_argument(
        "--format", choices=FORMATS, default="table", help=_("table (default), csv or json; JSON keys stay English")
    )
    args = parser.parse_args(argv)
    if (opened := open_databases(args, migrated=True)) is None:
        return 2
    config, platform, state = opened
    viewer = load_viewer(platform, args.user)
    if viewer is None:
        audit.record(state, f"cli:{args.user[:50]}", "denied", report="queue", reason="unknown user")
        print(
            _("error: no clinician with login {user} in the platform database").format(user=repr(args.user[:50])),
            file=sys.stderr,
        )
        return 2
    now = utcnow()
    freshness = freshness_line(now, config.timezone)
    if viewer.role == "gp":  # GPs have no Triage page: their list is the follow-ups due
        records = due_records(due_list(platform, state, viewer, now, config.settings, config.timezone).due)
        text = render_due(records, args.format, freshness)
    else:
        # a peer supporter's list is their own: the contact reasons only (dashboard.peer_support)
        kinds = PEER_REASONS if viewer.role == PEER_SUPPORTER else None
        records = queue_records(
            triage(platform, state, viewer, now, config.settings, tz=config.timezone, kinds=kinds).queue
        )
        text = render(records, args.format, freshness)
    audit.record(state, f"cli:{viewer.username}", "cli_report", report="queue", patients=len(records))
    print(text)
    # The note goes to standard error, so CSV and JSON output stays machine-readable.
    print(quality_lines(data_quality(platform, viewer, now, config.settings)), file=sys.stderr, end="")
    return 0
