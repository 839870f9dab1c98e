"""``caseboard refresh``: keep the derived rows in the state database ahead of the
pages (dashboard/refresh.py). Once, or ``--every SECONDS`` as a service; ``--full``
recomputes every row and reports the drift it repaired. Only one refresher works at
a time (a lease row): another one prints "lease held" and writes nothing. After its
refresh, each team's Caseload snapshot older than ``snapshot_every`` is rebuilt
(dashboard/team_snapshot.py; every team's with ``--full``)."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

from sqlalchemy import Engine

from dashboard import refresh as refresher
from dashboard import team_snapshot
from dashboard.cli.common import add_database_arguments, clean_errors, open_databases
from dashboard.commands import command
from dashboard.config import Config
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
    return line + (f", {count_of(report.drift, 'drifted row')} repaired" if report.full else "")


def snapshots(platform: Engine, state: Engine, now: datetime, config: Config, full: bool) -> str:
    """Rebuild the team snapshots that are due; one line saying how many and how long the slowest took."""
    every = refresher.RefreshSettings().snapshot_every
    built = team_snapshot.build_due(platform, state, now, config.settings, config.timezone, every, force=full)
    if not built:
        return "team snapshots: none due"
    return f"team snapshots: {count_of(len(built), 'team')} rebuilt, slowest {max(s.built_ms for s in built)} ms"


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
    job = refresher.reconcile if args.full else refresher.refresh
    holder = refresher.default_holder()
    while True:
        now = datetime.now(UTC).replace(tzinfo=None)
        report = job(platform, state, now, holder=holder)
        print(describe(report), flush=True)
        if report.status == refresher.DONE:
            print(snapshots(platform, state, now, config, args.full), flush=True)
        if args.every is None:
            return 0
        try:
            time.sleep(args.every)
        except KeyboardInterrupt:
            print("stopped", file=sys.stderr)
            return 0
