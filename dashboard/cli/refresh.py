"""``caseboard refresh``: keep the derived rows in the state database ahead of the
pages (dashboard/refresh.py). Once, or ``--every SECONDS`` as a service; ``--full``
recomputes every row and reports the drift it repaired. Only one refresher works at
a time (a lease row): another one prints "lease held" and writes nothing. After its
refresh, each team's Caseload snapshot older than ``team_snapshot_every_seconds`` is rebuilt
(dashboard/team_snapshot.py; every team's with ``--full``). It does not start
(exit 2) on platform ids its watermark cannot rely on; as a service (``--every``)
a cycle that cannot reach a database is reported and the next one runs on time."""

from __future__ import annotations

import argparse
import sys
import time

from pandas.errors import DatabaseError as PandasDatabaseError
from sqlalchemy.exc import DBAPIError

from dashboard import refresh as refresher
from dashboard.cli.common import add_database_arguments, clean_errors, database_cause, open_databases
from dashboard.commands import command
from dashboard.text import count_of


def seconds(text: str) -> float:
    """An argparse type: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text[:40]!r}") from None
    if not 1 <= value <= 86_400:
        raise argparse.ArgumentTypeError(f"{value:g} is outside 1 to 86400 seconds")
    return value


def describe(report: refresher.RefreshReport) -> str:
    """One line for a terminal or a service log: no patient data, counts only."""
    if report.status == refresher.LEASE_HELD:
        return "another refresher holds the lease: nothing written"
    what = "full reconcile" if report.full else "refresh"
    line = (
        f"{what}: {count_of(report.read, 'response')} read, watermark {report.watermark}, re-read from {report.floor}"
    )
    line += f", {count_of(report.drift, 'drifted row')} repaired" if report.full else ""
    if report.teams_built is None:
        return line
    if not report.teams_built:
        return line + "; team snapshots: none due"
    return line + (
        f"; team snapshots: {count_of(report.teams_built, 'team')} rebuilt, slowest {report.slowest_team_ms:g} ms"
    )


@clean_errors
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=command("refresh"), description=__doc__.split("\n\n")[0])
    add_database_arguments(parser)
    parser.add_argument("--every", type=seconds, metavar="SECONDS", help="run again every SECONDS until stopped")
    parser.add_argument("--full", action="store_true", help="recompute every row and repair any drift")
    args = parser.parse_args(argv)
    if (opened := open_databases(args, migrated=True)) is None:
        return 2
    config, platform, state = opened
    if problems := refresher.check_platform_ids(platform):
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        print("The refresher does not start on these ids; the pages still compute everything live.", file=sys.stderr)
        return 2
    holder, teams = refresher.default_holder(), refresher.TeamFigures(config.settings, config.timezone)
    while True:
        try:
            print(describe(refresher.cycle(platform, state, holder=holder, full=args.full, teams=teams)), flush=True)
        except (DBAPIError, PandasDatabaseError) as exc:  # the latter: a team snapshot's pandas.read_sql
            if args.every is None:
                raise
            print(
                f"error: this cycle could not reach a database ({type(database_cause(exc)).__name__}); the next runs in "
                f"{args.every:g} s",
                file=sys.stderr,
                flush=True,
            )
        if args.every is None:
            return 0
        try:
            time.sleep(args.every)
        except KeyboardInterrupt:
            print("stopped", file=sys.stderr)
            return 0
