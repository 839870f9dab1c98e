"""Readiness check for orchestrators and load balancers: exit 0 only when this
instance could serve clinicians now. Streamlit's /_stcore/health says the
process is up; this says the databases are reachable and as expected.

    caseboard ready        # prints "ready" or the problems, one per line

Checks, each within a few seconds: the configuration and the credentials file
load and pass production's refusals (demo users, weak cookie keys, plain-text
passwords); the platform
database answers and matches the schema contract; the state database is at the
migration head (a production instance never migrates by itself).
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from dashboard import db, startup
from dashboard.auth import AuthFileError, load_auth_file
from dashboard.config import ConfigError, load_config
from dashboard.engine import make_engine

CHECK_TIMEOUT_S = 5.0


def problems() -> list[str]:
    try:
        config = load_config()
    except ConfigError as exc:
        return [f"configuration: {exc}"]
    try:
        found = [f"credentials: {p}" for p in startup.auth_problems(config, load_auth_file(config.auth_file))]
    except AuthFileError as exc:
        found = [f"credentials: {exc}"]
    if missing := startup.database_file_problems(config):
        return found + [f"platform database: {p}" for p in missing]
    platform = make_engine(config.db_url, CHECK_TIMEOUT_S)
    state = make_engine(config.state_db_url, CHECK_TIMEOUT_S)
    try:
        found += [f"platform schema: {p.message}" for p in db.check_platform_schema(platform)]
        found += [f"mode: {p}" for p in startup.demo_database_problems(config, platform)]
    except SQLAlchemyError as exc:
        found.append(f"platform database unreachable ({type(exc).__name__})")
    try:
        if (problem := db.revision_problem(state)) is not None:
            found.append(f"state database: {problem}")
    except SQLAlchemyError as exc:
        found.append(f"state database unreachable ({type(exc).__name__})")
    platform.dispose()
    state.dispose()
    return found
