"""Lift a login lockout: ``caseboard unlock --user USERNAME``.

A locked-out therapist cannot triage, so an operator may end the lockout before
its window passes (README, Sessions). The run is audited as ``login_unlocked``
on that username, naming the operator's account; the attempts counted so far no
longer count.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy.exc import SQLAlchemyError

from dashboard import db, sessions
from dashboard.auth import normalise_username
from dashboard.cli.common import add_database_arguments, open_databases
from dashboard.commands import command
from dashboard.i18n import format_number, ngettext
from dashboard.i18n import gettext as _


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=command("unlock"), description=__doc__.splitlines()[0])
    parser.add_argument("--user", required=True, help=_("the locked login name (any case)"))
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    opened = open_databases(args, platform_needed=False)  # lockouts live in the state database
    if opened is None:
        return 2
    _config, _platform, state = opened
    try:
        problem = db.revision_problem(state)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        before = sessions.unlock(state, args.user, operator=f"cli:{getpass.getuser()}")
    except SQLAlchemyError as exc:
        print(_("error: the state database cannot be used ({name})").format(name=type(exc).__name__), file=sys.stderr)
        return 2
    print(
        ngettext(
            "{user}: lockout lifted ({n} attempt no longer counts)",
            "{user}: lockout lifted ({n} attempts no longer count)",
            before,
        ).format(user=normalise_username(args.user), n=format_number(before))
    )
    return 0
