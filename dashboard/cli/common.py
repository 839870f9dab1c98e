"""What the command-line tools share: the database options and opening them,
whole-day arguments, and error messages without tracebacks or SQL parameters."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from pandas.errors import DatabaseError as PandasDatabaseError
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from dashboard.commands import command
from dashboard.config import Config, ConfigError, load_config
from dashboard.db import revision_problem
from dashboard.engine import make_engine, missing_sqlite_file
from dashboard.i18n import N_
from dashboard.i18n import gettext as _

# Whole days a command accepts: wide enough for any service's history, narrow
# enough that a period and the one before it stay inside Python's dates.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help=_("platform database URL (default: DASHBOARD_DB_URL or the embedded demo)"))
    parser.add_argument("--state-db", help=_("state database URL (default: DASHBOARD_STATE_DB_URL, else --db)"))


def day(text: str) -> date:
    """An argparse type: a day YYYY-MM-DD between FIRST_DAY and LAST_DAY (argparse
    prints the message and exits 2, without a traceback)."""
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("not a day YYYY-MM-DD: {text}").format(text=repr(text[:40]))) from None
    if not FIRST_DAY <= value <= LAST_DAY:
        raise argparse.ArgumentTypeError(
            _("{day} is outside {first} to {last}").format(day=value, first=FIRST_DAY, last=LAST_DAY)
        )
    return value


def out_file(text: str) -> str:
    """An argparse type: a file to write whose folder exists (argparse prints the message, exit 2)."""
    folder = Path(text).expanduser().resolve().parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(
            _("no folder {folder} to write {name} into").format(folder=folder, name=Path(text).name)
        )
    return text


def open_databases(
    args: argparse.Namespace, migrated: bool = False, platform_needed: bool = True
) -> tuple[Config, Engine, Engine] | None:
    """(config, platform, state), or None after printing why the configuration is
    unusable; with ``migrated``, also when the state database is not at the expected
    revision (checked before any command reads a dash_ table). A command that reads
    only the state database (``platform_needed=False``) does not check the platform's file."""
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    platform_url = args.db or config.db_url
    state_url = args.state_db or (args.db if args.db else config.state_db_url)
    missing = (
        (_("error: no platform database file at {path}."), platform_url),
        (_("error: no state database file at {path}."), state_url),
    )
    for what, url in missing[0 if platform_needed else 1 :]:
        if (path := missing_sqlite_file(url)) is not None:
            advice = _(
                "Check the URL: a command never creates a database (make a demo one with {demo}, "
                "a state database with {upgrade})."
            ).format(demo=command("demo"), upgrade=command("db", "upgrade"))
            print(what.format(path=path) + " " + advice, file=sys.stderr)
            return None
    platform, state = make_engine(platform_url), make_engine(state_url)
    if migrated and (problem := revision_problem(state)) is not None:
        print(f"error: {problem}", file=sys.stderr)
        return None
    return config, platform, state


# Translated where printed (clean_errors): {upgrade} is the command that migrates.
DATABASE_ERROR = N_(
    "error: a database request failed ({name}). The details are not printed: they can hold patient "
    "identifiers. Check --db and --state-db, and that the state database is migrated ({upgrade})."
)


UNREACHABLE = N_(
    "error: cannot connect to the database server ({name}). Check that it is running and reachable, "
    "and the host, port and credentials in --db and --state-db (or DASHBOARD_DB_URL, DASHBOARD_STATE_DB_URL)."
)


def database_cause(exc: BaseException) -> BaseException:
    """The database's own error behind ``exc``: pandas' DatabaseError carries it as its
    cause, the statement in its text."""
    return exc.__cause__ if isinstance(exc, PandasDatabaseError) and exc.__cause__ else exc


def clean_errors(main: Callable[..., int]) -> Callable[..., int]:
    """A command's ``main`` that answers a database failure with one line and exit
    code 2: SQLAlchemy's own message carries the statement and its parameters
    (patient ids), which must not reach a terminal, a cron mail or a log."""

    @functools.wraps(main)
    def guarded(*args, **kwargs) -> int:
        try:
            return main(*args, **kwargs)
        except (SQLAlchemyError, PandasDatabaseError) as exc:  # pandas.read_sql wraps the driver's error
            cause = database_cause(exc)
            unreachable = isinstance(cause, OperationalError) and cause.statement is None  # failed to connect
            message = _(UNREACHABLE if unreachable else DATABASE_ERROR)
            print(message.format(name=type(cause).__name__, upgrade=command("db", "upgrade")), file=sys.stderr)
            return 2
        except OSError as exc:  # a file that cannot be written or read (pandas' DatabaseError is one: above)
            print(f"error: {exc.strerror or type(exc).__name__}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
            return 2

    return guarded
