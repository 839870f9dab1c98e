"""What the command-line tools share: the database options and opening them."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import Engine

from dashboard.config import Config, ConfigError, load_config
from dashboard.engine import make_engine


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="platform database URL (default: DASHBOARD_DB_URL or the embedded demo)")
    parser.add_argument("--state-db", help="state database URL (default: DASHBOARD_STATE_DB_URL, else --db)")


def open_databases(args: argparse.Namespace) -> tuple[Config, Engine, Engine] | None:
    """(config, platform, state), or None after printing why the configuration is unusable."""
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    platform = make_engine(args.db or config.db_url)
    state = make_engine(args.state_db or (args.db if args.db else config.state_db_url))
    return config, platform, state
