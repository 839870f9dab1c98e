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
from dashboard.exports import rows_csv
from dashboard.followups_due import due_list
from dashboard.peer_support import PEER_REASONS
from dashboard.quality import data_quality, summary
from dashboard.schema import PEER_SUPPORTER
from dashboard.scope import load_viewer
from dashboard.text import count_of
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
            DUE_FIELDS,
            (
                [
                    r["patient_code"],
                    r["finished"],
                    r["waiting_days"],
                    "yes" if r["overdue"] else "",
                    r["latest_score"],
                    r["change"],
                    "; ".join(r["alerts"]),
                ]
                for r in records
            ),
        )
    overdue = sum(r["overdue"] for r in records)
    lines = [
        freshness,
        f"{count_of(len(records), 'patient')} due a follow-up" + (f", {overdue} overdue" if overdue else ""),
        "",
    ]
    for r in records:
        alerts = f"{', '.join(r['alerts']).upper()}  " if r["alerts"] else ""
        lines.append(
            f"{r['patient_code']:<10} waiting {r['waiting_days']:>3} d  {'OVERDUE  ' if r['overdue'] else ''}"
            f"{alerts}{r['finished']} · {r['latest_score']}"
        )
    return "\n".join(lines)


def render(records: list[dict], fmt: str, freshness: str) -> str:
    if fmt == "json":
        return json.dumps(records, indent=2, ensure_ascii=False)
    if fmt == "csv":
        return rows_csv(
            ["patient_code", "flags", "reasons", "waiting_days", "therapist", "latest_score", "escalated"],
            (
                [
                    r["patient_code"],
                    " ".join(r["flags"]),
                    "; ".join(r["reasons"]),
                    r["waiting_days"],
                    r["therapist"],
                    r["latest_score"],
                    "yes" if r["escalated"] else "",
                ]
                for r in records
            ),
        )
    lines = [freshness, f"{count_of(len(records), 'patient')} {'needs' if len(records) == 1 else 'need'} you", ""]
    for r in records:
        lines.append(
            f"{r['patient_code']:<10} waiting {r['waiting_days']:>3} d  {'ESCALATED  ' if r['escalated'] else ''}"
            + "; ".join(r["reasons"])
        )
    return "\n".join(lines)


def quality_lines(issues: pd.DataFrame) -> str:
    """The data-quality note of the viewer's records, one problem a line; empty when clean."""
    if issues.empty:
        return ""
    lines = [summary(issues)]
    lines += [
        f"- {r.problem} ({count_of(r.rows, 'row')}): {r.effect}. Patients: {', '.join(r.codes)}"
        for r in issues.itertuples()
    ]
    return "\n".join(lines) + "\n"


@clean_errors
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=command("queue"), description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--user", required=True, help="login name of the clinician (role and team from clinicians)")
    add_database_arguments(parser)
    parser.add_argument("--format", choices=FORMATS, default="table")
    args = parser.parse_args(argv)
    if (opened := open_databases(args, migrated=True)) is None:
        return 2
    config, platform, state = opened
    viewer = load_viewer(platform, args.user)
    if viewer is None:
        audit.record(state, f"cli:{args.user[:50]}", "denied", report="queue", reason="unknown user")
        print(f"error: no clinician with login {args.user[:50]!r} in the platform database", file=sys.stderr)
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
