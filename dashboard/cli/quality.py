"""``caseboard quality``: count platform rows that belong to no patient (orphans).
It reads whole tables, so no page ever runs it (dashboard/quality.py)."""

from __future__ import annotations

import argparse

from dashboard.cli.common import add_database_arguments, open_databases
from dashboard.commands import command
from dashboard.quality import orphan_counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=command("quality"), description="Count platform rows that belong to no patient (orphans)."
    )
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    if (opened := open_databases(args)) is None:
        return 2
    _, platform, _ = opened
    counts = orphan_counts(platform)
    for table, n in counts.items():
        print(f"{table:<16}{n:>10} orphan {'row' if n == 1 else 'rows'}")
    print(
        "Orphan rows are in no clinician's scope, so no page or figure uses them; correct them on the platform."
        if any(counts.values())
        else "No orphan rows."
    )
    return 0
