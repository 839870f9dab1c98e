"""``caseboard quality``: count platform rows that belong to no patient (orphans).
It reads whole tables, so no page ever runs it (dashboard/quality.py)."""

from __future__ import annotations

import argparse

from dashboard.cli.common import add_database_arguments, open_databases
from dashboard.commands import command
from dashboard.i18n import format_number, ngettext
from dashboard.i18n import gettext as _
from dashboard.quality import orphan_counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=command("quality"), description=_("Count platform rows that belong to no patient (orphans).")
    )
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    if (opened := open_databases(args)) is None:
        return 2
    _config, platform, _state = opened
    counts = orphan_counts(platform)
    for table, n in counts.items():
        # the table's name is the database's; the count and its words in the language
        print(f"{table:<16}" + ngettext("{n} orphan row", "{n} orphan rows", n).format(n=f"{format_number(n):>10}"))
    print(
        _("Orphan rows are in no clinician's scope, so no page or figure uses them; correct them on the platform.")
        if any(counts.values())
        else _("No orphan rows.")
    )
    return 0
