"""The ``caseboard`` console script (pyproject ``[project.scripts]``), also
``python -m dashboard``: one program, a subcommand per job, each in its own
module here with its own options (``caseboard <command> --help``).

The developer tools (``bench``, ``load``) live in the checkout's top-level
``tools/``, outside the shipped package: they run when Caseboard is installed
from a checkout (``pip install -e .``), and say so otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from dashboard import i18n
from dashboard.commands import SCRIPT

CHECKOUT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Command:
    name: str
    module: str
    help: str
    developer_tool: bool = False


COMMANDS = {
    c.name: c
    for c in (
        Command("queue", "dashboard.cli.queue", "a clinician's triage queue as a morning digest (table, CSV or JSON)"),
        Command("report", "dashboard.cli.report", "a team's Caseload figures as an offline HTML or JSON report"),
        Command("fhir", "dashboard.cli.fhir", "a patient's outcomes and GP follow-ups as FHIR R4 for the GP's record"),
        Command("audit", "dashboard.cli.audit", "the service-wide audit trail, for a privacy officer"),
        Command("unlock", "dashboard.cli.unlock", "lift a login lockout for one username (audited)"),
        Command("db", "dashboard.cli.db", "migrate or check the state database (upgrade, current, check)"),
        Command("roles", "dashboard.cli.roles", "print the least-privilege database grants"),
        Command("ready", "dashboard.cli.ready", "readiness check: exit 0 only if this instance could serve now"),
        Command("quality", "dashboard.cli.quality", "count platform rows that belong to no patient"),
        Command("refresh", "dashboard.cli.refresh", "keep the derived rows in the state database up to date"),
        Command("demo", "dashboard.cli.demo", "fill a database with synthetic platform data"),
        Command("bench", "tools.bench", "developer tool: the benchmark of every page's data work", developer_tool=True),
        Command(
            "load",
            "tools.load",
            "developer tool: concurrent browser sessions against a served app",
            developer_tool=True,
        ),
    )
}


def parser() -> argparse.ArgumentParser:
    """The top level only: the list of commands for ``--help`` and for a wrong name."""
    p = argparse.ArgumentParser(
        prog=SCRIPT,
        description="Caseboard's command line.",
        epilog="Run '%(prog)s COMMAND --help' for a command's options. Every command takes "
        f"--lang ({', '.join(i18n.LANGUAGES)}) for its messages; default DASHBOARD_LANGUAGE, else English.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for c in COMMANDS.values():
        sub.add_parser(c.name, help=c.help, add_help=False)
    return p


def language_parser(command: str) -> argparse.ArgumentParser:
    """``--lang``, read here once for every command, before the command's own parser."""
    p = argparse.ArgumentParser(prog=f"{SCRIPT} {command}", add_help=False)
    p.add_argument("--lang", choices=list(i18n.LANGUAGES))
    return p


def main(argv: list[str] | None = None) -> int:
    """Run ``caseboard COMMAND ...``: the command's own parser reads the rest of the line."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") or argv[0] not in COMMANDS:
        parser().parse_args(argv[:1])  # prints the help or the error, and exits
        return 2
    chosen, rest = COMMANDS[argv[0]], argv[1:]
    language, rest = language_parser(chosen.name).parse_known_args(rest)
    i18n.set_language(i18n.choose(language.lang, os.environ.get("DASHBOARD_LANGUAGE")))
    if chosen.developer_tool:
        if not (CHECKOUT / "tools" / "__init__.py").exists():
            print(
                f"error: '{SCRIPT} {chosen.name}' is a developer tool: run it from a checkout of Caseboard",
                file=sys.stderr,
            )
            return 2
        if str(CHECKOUT) not in sys.path:
            sys.path.insert(0, str(CHECKOUT))
    return int(importlib.import_module(chosen.module).main(rest) or 0)
