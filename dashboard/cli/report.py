"""``caseboard report --user LEAD``: the Caseload figures as an offline HTML or JSON report
(dashboard/report.py builds it; the page and this command show the same figures)."""

from __future__ import annotations

import argparse
import json
import sys

from dashboard import audit, report
from dashboard import triage as triage_mod
from dashboard.caseload import Filters, caseload, period
from dashboard.cli.common import add_database_arguments, clean_errors, day, open_databases, out_file
from dashboard.commands import command
from dashboard.i18n import gettext as _
from dashboard.quality import data_quality, summary
from dashboard.report import to_html, to_json
from dashboard.scope import load_viewer
from dashboard.timeutil import utcnow


def main(argv: list[str] | None = None) -> int:
    return clean_errors(_main)(argv)


def _main(argv: list[str] | None) -> int:
    # Built after --lang set the language (dashboard/cli/__init__.py): the option help is translated;
    # the description is the module's docstring, kept English (developer documentation).
    parser = argparse.ArgumentParser(prog=command("report"), description=report.__doc__.split("\n\n")[0])
    parser.add_argument("--user", required=True, help=_("login name of a team lead; the report covers their team"))
    add_database_arguments(parser)
    parser.add_argument("--from", dest="first", type=day, help=_("first day, YYYY-MM-DD (service time zone)"))
    parser.add_argument("--to", dest="last", type=day, help=_("last day, YYYY-MM-DD (default: today)"))
    parser.add_argument(
        "--format", choices=("html", "json"), default="html", help=_("html (default) or json; JSON keys stay English")
    )
    parser.add_argument("--out", type=out_file, help=_("file to write (default: standard output)"))
    args = parser.parse_args(argv)
    if (opened := open_databases(args, migrated=True)) is None:
        return 2
    config, platform, state = opened
    viewer = load_viewer(platform, args.user)
    if viewer is None or viewer.role != "team_lead":
        audit.record(state, f"cli:{args.user[:50]}", "denied", report="caseload", reason="not a team lead")
        print(
            _("error: {user} is not a team lead in this database; the Caseload report is for team leads.").format(
                user=repr(args.user[:50])
            ),
            file=sys.stderr,
        )
        return 2
    now = utcnow()
    settings, tz = config.settings, config.timezone
    try:
        start, end = period(args.first, args.last, now, tz, int(settings.report_period_days))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    current = triage_mod.triage(platform, state, viewer, now, settings, tz=tz) if end == now else None
    result = caseload(platform, state, viewer, Filters(start, end), settings, tz, current)
    quality = data_quality(platform, viewer, now, settings)
    if not quality.empty:
        print(summary(quality), file=sys.stderr)
    text = (
        json.dumps(to_json(result, settings, quality), indent=2)
        if args.format == "json"
        else to_html(result, settings, tz, now, quality)
    )
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    audit.record(
        state,
        f"cli:{viewer.username}",
        "cli_report",
        report="caseload",
        format=args.format,
        start=start.isoformat(),
        end=end.isoformat(),
    )
    return 0
