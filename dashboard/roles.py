"""PostgreSQL roles for a least-privilege deployment (README, "Database roles").

* The **platform's owner** grants the app read-only access to the platform tables.
* A **migrator** role owns the ``dash_`` tables and runs ``caseboard db upgrade``.
* The **app** role the dashboard connects as may only read the platform and
  read and append to its own tables: no DELETE anywhere and no UPDATE of any
  history, so the audit trail, acknowledgements and follow-up versions are
  append-only in the database itself, not only in the code. The one exception
  is the session record (``dash_sessions``): the app may update only its clock
  and revocation columns (``SESSION_COLUMNS``), never who or when it started.
  The derived rows of ``caseboard refresh`` (``DERIVED_TABLES``) are caches of the
  platform, not history: the refresher may update and delete them.

    caseboard roles --app caseboard_app [--database caseboard]

prints the statements, in two blocks for the two owners that must run them.
"""

from __future__ import annotations

import re

from dashboard.schema import OPTIONAL
from dashboard.schema import metadata as platform_metadata
from dashboard.state_tables import VERSION_TABLE
from dashboard.state_tables import metadata as state_metadata

# The columns of the session record a run, a logout or an idle check changes (dashboard.sessions).
SESSION_COLUMNS = ("last_action_at", "revoked_at", "revoke_reason", "logout_audited_at")
# Derived rows (dashboard.refresh): caches of the platform that the refresher rewrites
# in place and a full reconcile repairs, so they are the app's to update and delete.
DERIVED_TABLES = ("dash_response_facts", "dash_refresh_marks", "dash_refresh_lease", "dash_team_snapshots")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _checked(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"{name!r} is not a plain PostgreSQL identifier (lower-case letters, digits, _)")
    return name


def platform_grants(app: str, database: str) -> list[str]:
    """Run by the platform tables' owner: connect, and read the platform only. An
    optional table (``care_team``) has its own statement, left out by a platform without it."""
    app, database = _checked(app), _checked(database)
    required = [t.name for t in platform_metadata.sorted_tables if not t.info.get(OPTIONAL)]
    optional = [t.name for t in platform_metadata.sorted_tables if t.info.get(OPTIONAL)]
    return [
        f"GRANT CONNECT ON DATABASE {database} TO {app}",
        f"GRANT USAGE ON SCHEMA public TO {app}",
        f"GRANT SELECT ON {', '.join(required)} TO {app}",
        *(f"GRANT SELECT ON {name} TO {app}" for name in optional),
    ]


def _serial(column) -> bool:
    """An integer key PostgreSQL fills from a sequence (a text key such as a session id has none)."""
    return (
        column.autoincrement is True or (column.primary_key and column.autoincrement == "auto")
    ) and column.type.python_type is int


def state_grants(app: str) -> list[str]:
    """Run by the migrator, who owns the dash_ tables: read and append, never change."""
    app = _checked(app)
    out = [f"GRANT SELECT ON {VERSION_TABLE} TO {app}"]
    for table in state_metadata.sorted_tables:
        out.append(f"GRANT SELECT, INSERT ON {table.name} TO {app}")
        if table.name == "dash_sessions":
            out.append(f"GRANT UPDATE ({', '.join(SESSION_COLUMNS)}) ON {table.name} TO {app}")
        if table.name in DERIVED_TABLES:
            out.append(f"GRANT UPDATE, DELETE ON {table.name} TO {app}")
        if any(_serial(c) for c in table.columns):
            out.append(f"GRANT USAGE ON SEQUENCE {table.name}_id_seq TO {app}")
    return out
