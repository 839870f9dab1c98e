"""Database set-up: migrations of the ``dash_`` tables and the platform schema check.

``caseboard db upgrade`` applies the migrations (run by an operator whose
role may change the schema); ``current`` and ``check`` report without changing.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.types import DateTime

from dashboard import schema
from dashboard.commands import command as caseboard_command
from dashboard.state_tables import VERSION_TABLE

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
UPGRADE_COMMAND = caseboard_command("db", "upgrade")

TIMESTAMP_SAMPLE_ROWS = 50


def _alembic_config(connection) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    cfg.attributes["version_table"] = VERSION_TABLE
    return cfg


@functools.cache
def head_revision() -> str:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


# Alembic's command API keeps its migration context in module globals, so two
# sessions starting at once would corrupt each other's: one upgrade at a time.
_upgrade_lock = threading.Lock()


def upgrade(engine: Engine, revision: str = "head") -> None:
    with _upgrade_lock, engine.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)


def revision_problem(engine: Engine) -> str | None:
    """Why production must not start on this state database, or None."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return None
    found = f"revision {current}" if current else "no dashboard tables"
    return (
        f"The state database has {found}; this version of Caseboard needs revision {head}. "
        f"An operator must run: {UPGRADE_COMMAND}"
    )


@dataclass(frozen=True)
class SchemaProblem:
    table: str
    column: str | None
    message: str


def check_platform_schema(engine: Engine) -> list[SchemaProblem]:
    """What in the platform database breaks the contract (docs/design.md): missing
    tables or required columns (an optional table or column, marked ``schema.OPTIONAL``,
    may be absent: ``care_team``, ``modules.summary``; when present it is checked like the
    others), and timestamps that are not naive UTC in the agreed format."""
    insp = inspect(engine)
    present = set(insp.get_table_names()) | set(insp.get_view_names())
    problems: list[SchemaProblem] = []
    if (too_old := server_version_problem(engine.dialect.name, engine.dialect.server_version_info)) is not None:
        problems.append(SchemaProblem("", None, too_old))
    for table in schema.metadata.sorted_tables:
        if table.name not in present:
            if table.info.get(schema.OPTIONAL):
                continue
            problems.append(SchemaProblem(table.name, None, f"table {table.name!r} is missing"))
            continue
        columns = {c["name"]: c for c in insp.get_columns(table.name)}
        for col in table.columns:
            if col.name not in columns and col.info.get(schema.OPTIONAL):
                continue  # an optional extension: today's platforms keep working without it
            if col.name not in columns:
                problems.append(SchemaProblem(table.name, col.name, f"column {table.name}.{col.name} is missing"))
            elif isinstance(col.type, DateTime):
                problems.extend(_timestamp_problems(engine, table.name, col.name, columns[col.name]["type"]))
    return problems


# The oldest servers whose SQL the queries use: MATERIALIZED common table expressions
# (dashboard.flags.contact_facts_query) came in PostgreSQL 12 and SQLite 3.35.
OLDEST_SERVERS = {"postgresql": (12,), "sqlite": (3, 35)}


def server_version_problem(dialect: str, version: tuple | None) -> str | None:
    """Why this database server is too old for Caseboard's queries, or None."""
    oldest = OLDEST_SERVERS.get(dialect)
    if oldest is None or version is None or tuple(version[: len(oldest)]) >= oldest:
        return None
    found, needed = ".".join(map(str, version)), ".".join(map(str, oldest))
    return f"{dialect} {found} is too old: Caseboard needs {needed} or later"


def platform_has(engine: Engine, table: str, column: str) -> bool:
    """Whether the platform has this column: an optional one (``schema.OPTIONAL``) is
    read only where it exists. Asked at each use, so a column the platform adds is
    read without a restart."""
    return any(c["name"] == column for c in inspect(engine).get_columns(table))


def _timestamp_problems(engine: Engine, table: str, column: str, db_type) -> list[SchemaProblem]:
    if engine.dialect.name == "postgresql":
        if isinstance(db_type, DateTime) and not getattr(db_type, "timezone", False):
            return []
        return [
            SchemaProblem(
                table, column, f"{table}.{column} must be 'timestamp without time zone' in UTC, found {db_type}"
            )
        ]
    # SQLite keeps timestamps as text: sample both ends of the table. A column written
    # in another format breaks the contract; a few odd rows among good ones are bad
    # data, read as missing and reported to the viewer by dashboard.quality.
    sql = text(
        f'SELECT v FROM (SELECT "{column}" AS v FROM "{table}" WHERE "{column}" IS NOT NULL LIMIT :n) '
        f'UNION ALL SELECT v FROM (SELECT "{column}" AS v FROM "{table}" WHERE "{column}" IS NOT NULL '
        f"ORDER BY rowid DESC LIMIT :n)"
    )
    with engine.connect() as conn:
        sample = [v for (v,) in conn.execute(sql, {"n": TIMESTAMP_SAMPLE_ROWS})]
    bad = [v for v in sample if not (isinstance(v, str) and schema.SQLITE_TIMESTAMP.match(v))]
    if len(bad) * 2 <= len(sample):
        return []
    return [
        SchemaProblem(
            table,
            column,
            f"{table}.{column} has timestamps like {str(bad[0])!r}; expected 'YYYY-MM-DD HH:MM:SS' in UTC",
        )
    ]
