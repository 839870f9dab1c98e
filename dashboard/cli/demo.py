"""``caseboard demo --db URL``: fill a database with synthetic platform data (dashboard/demo)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from dashboard import db, demo_history
from dashboard.commands import command
from dashboard.demo import DEFAULT_PATIENTS, DEFAULT_SEED, DemoRefused, _naive_utc, _utc_now, generate
from dashboard.engine import make_engine


def _parse_now(value: str) -> datetime:
    try:
        return _naive_utc(datetime.fromisoformat(value))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date-time: {value!r}") from exc


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=command("demo"),
        description="Fill a database with synthetic iCBT platform data (drops and recreates the platform tables).",
    )
    parser.add_argument("--db", required=True, help="SQLAlchemy URL, e.g. sqlite:///data/demo.sqlite")
    parser.add_argument("--patients", type=_positive_int, default=DEFAULT_PATIENTS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--now",
        type=_parse_now,
        default=None,
        help="generate as of this UTC time (ISO 8601; default: now)",
    )
    parser.add_argument(
        "--state-db",
        default=None,
        help="state database for the demo's history (acknowledgements, GP follow-ups, audit; default: --db)",
    )
    parser.add_argument(
        "--no-history",
        action="store_true",
        help="platform data only: leave the state database alone (what caseboard bench measures)",
    )
    args = parser.parse_args(argv)
    now = args.now or _utc_now()
    try:
        safe_url = make_url(args.db).render_as_string(hide_password=True)
        platform = make_engine(args.db)
        report = generate(platform, args.patients, args.seed, now)
        history = None
        if not args.no_history:
            state = make_engine(args.state_db) if args.state_db else platform
            db.upgrade(state)
            history = demo_history.seed_history(platform, state, now, args.seed)
    except DemoRefused as exc:
        print(f"error: {exc} ({safe_url})", file=sys.stderr)
        return 1
    except (SQLAlchemyError, OSError, ValueError) as exc:
        print(f"error: could not generate demo data: {exc}", file=sys.stderr)
        return 1
    print(
        f"demo data: {args.patients:,} patients, seed {args.seed}, "
        f"data as of {now:%Y-%m-%d %H:%M:%S} UTC, in {safe_url}"
    )
    print(report.format())
    if history is not None:
        print(
            f"history: {history.acknowledgements:,} acknowledgements, {history.followups:,} GP follow-ups, "
            f"{history.audit_rows:,} audit rows"
        )
    return 0
