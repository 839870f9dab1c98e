"""The target database: refusing foreign data, resetting the schema, indexes and statistics."""

from __future__ import annotations

from sqlalchemy import (
    Connection,
    delete,
    inspect,
    text,
)
from sqlalchemy.schema import CreateTable

from dashboard.demo.common import DemoRefused, demo_meta
from dashboard.schema import metadata


def _reset_schema(conn: Connection) -> None:
    """Drop and recreate the platform tables without secondary indexes (built after the load).

    Refuses when platform tables exist that this generator did not create. Tables
    outside the platform schema (the dashboard's dash_ tables) are never touched.
    """
    existing = set(inspect(conn).get_table_names())
    if existing & set(metadata.tables) and demo_meta.name not in existing:
        raise DemoRefused("refusing to overwrite a platform database that the demo generator did not create")
    demo_meta.create(conn, checkfirst=True)
    conn.execute(delete(demo_meta))
    metadata.drop_all(conn)
    for table in metadata.sorted_tables:
        conn.execute(CreateTable(table))


def _create_indexes(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    for table in metadata.sorted_tables:
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            index.create(conn)


def _analyze(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.execute(text("PRAGMA analysis_limit=1000"))
    if conn.dialect.name in ("sqlite", "postgresql"):
        for table in [*metadata.sorted_tables, demo_meta]:
            conn.execute(text(f"ANALYZE {table.name}"))
    conn.commit()


def _database_bytes(conn: Connection) -> int | None:
    if conn.dialect.name == "sqlite":
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        pages = conn.execute(text("PRAGMA page_count")).scalar_one()
        return pages * conn.execute(text("PRAGMA page_size")).scalar_one()
    if conn.dialect.name == "postgresql":
        return conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    return None
