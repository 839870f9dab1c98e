"""``caseboard db upgrade|current|check``: the state database's migrations (dashboard/db.py),
run by an operator whose role may change the schema (``caseboard roles``)."""

from __future__ import annotations

import argparse
import sys

from dashboard.commands import command
from dashboard.config import ConfigError, load_config
from dashboard.db import current_revision, head_revision, revision_problem, upgrade
from dashboard.engine import make_engine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=command("db"), description=__doc__)
    parser.add_argument("action", choices=["upgrade", "current", "check"])
    parser.add_argument("--db", help="SQLAlchemy URL of the state database (default: DASHBOARD_STATE_DB_URL)")
    args = parser.parse_args(argv)
    try:
        url = args.db or load_config().state_db_url
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    engine = make_engine(url)
    if args.action == "upgrade":
        before = current_revision(engine)
        upgrade(engine)
        print(f"state database upgraded: {before or 'empty'} -> {current_revision(engine)}")
        return 0
    if args.action == "current":
        print(current_revision(engine) or "empty")
        return 0
    problem = revision_problem(engine)
    print(problem or f"state database is at revision {head_revision()} (current)")
    return 1 if problem else 0
