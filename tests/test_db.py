"""Migrations of the dash_ tables and the platform schema check, on both backends."""

from datetime import datetime

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, inspect, select, text

from dashboard import db, schema
from dashboard.cli import db as db_cli
from dashboard.config import load_config
from dashboard.engine import make_engine
from dashboard.startup import prepare_state_database
from dashboard.state_tables import audit
from dashboard.state_tables import metadata as state_metadata


def all_revisions() -> list[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(db.MIGRATIONS_DIR))
    return [s.revision for s in reversed(list(ScriptDirectory.from_config(cfg).walk_revisions()))]


def test_upgrade_from_empty_creates_the_declared_tables(db_url):
    engine = make_engine(db_url)
    assert db.current_revision(engine) is None
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    insp = inspect(engine)
    for table in state_metadata.sorted_tables:
        assert {c["name"] for c in insp.get_columns(table.name)} == set(table.columns.keys())
        assert {i["name"] for i in insp.get_indexes(table.name)} >= {i.name for i in table.indexes}
    db.upgrade(engine)  # idempotent
    assert db.current_revision(engine) == db.head_revision()


@pytest.mark.parametrize("revision", all_revisions()[1:])
def test_upgrade_from_previous_revision_keeps_rows(db_url, revision):
    engine = make_engine(db_url)
    revisions = all_revisions()
    db.upgrade(engine, revisions[revisions.index(revision) - 1])
    with engine.begin() as conn:  # raw SQL: the row must survive whatever the later revision changes
        conn.execute(
            text(
                "INSERT INTO dash_audit (occurred_at, actor, action, patient_id, detail) "
                "VALUES ('2026-01-02 03:04:05', 'therapist1', 'open_record', 42, NULL)"
            )
        )
    db.upgrade(engine, revision)
    with engine.connect() as conn:
        rows = conn.execute(select(audit.c.actor, audit.c.action, audit.c.patient_id)).all()
    assert rows == [("therapist1", "open_record", 42)]


def test_production_refuses_an_old_revision_and_names_the_command(db_url):
    engine = make_engine(db_url)
    db.upgrade(engine, all_revisions()[0])
    config = load_config(env={"DASHBOARD_DB_URL": db_url}, secrets={})
    problems = prepare_state_database(config, engine)
    assert len(problems) == 1
    assert "caseboard db upgrade" in problems[0] and db.head_revision() in problems[0]
    assert db.current_revision(engine) == all_revisions()[0]  # production never migrates by itself


def test_demo_mode_upgrades_by_itself(db_url):
    engine = make_engine(db_url)
    config = load_config(env={"DASHBOARD_DB_URL": db_url, "DASHBOARD_MODE": "demo"}, secrets={})
    assert prepare_state_database(config, engine) == []
    assert db.current_revision(engine) == db.head_revision()


def test_cli_upgrade(db_url, capsys):
    assert db_cli.main(["check", "--db", db_url]) == 1
    assert db_cli.main(["upgrade", "--db", db_url]) == 0
    assert f"-> {db.head_revision()}" in capsys.readouterr().out
    assert db_cli.main(["check", "--db", db_url]) == 0


def test_complete_platform_schema_has_no_problems(db_url):
    engine = make_engine(db_url)
    schema.metadata.create_all(engine)
    assert db.check_platform_schema(engine) == []


@pytest.mark.parametrize(
    "dialect, version, problem",
    [
        ("postgresql", (15, 4), None),
        ("postgresql", (12, 0), None),
        ("postgresql", (11, 22), "postgresql 11.22 is too old: Caseboard needs 12 or later"),
        ("sqlite", (3, 40, 1), None),
        ("sqlite", (3, 35, 0), None),
        ("sqlite", (3, 34, 1), "sqlite 3.34.1 is too old: Caseboard needs 3.35 or later"),
    ],
)
def test_a_server_too_old_for_the_queries_is_named(dialect, version, problem):
    """The queue's MATERIALIZED common table expression needs PostgreSQL 12 or SQLite 3.35."""
    assert db.server_version_problem(dialect, version) == problem


def test_an_old_server_is_a_platform_schema_problem(db_url):
    engine = make_engine(db_url)
    schema.metadata.create_all(engine)
    engine.dialect.server_version_info = (11, 5) if engine.dialect.name == "postgresql" else (3, 31, 1)
    assert [p.message for p in db.check_platform_schema(engine)] == [
        db.server_version_problem(engine.dialect.name, engine.dialect.server_version_info)
    ]


def test_missing_table_and_column_are_named(db_url):
    engine = make_engine(db_url)
    schema.metadata.create_all(
        engine, tables=[t for t in schema.metadata.sorted_tables if t.name not in ("messages", "patients")]
    )
    other = MetaData()
    Table("patients", other, *[Column(c.name, c.type) for c in schema.patients.columns if c.name != "ended_at"])
    other.create_all(engine)
    messages = [p.message for p in db.check_platform_schema(engine)]
    assert sorted(messages) == ["column patients.ended_at is missing", "table 'messages' is missing"]


def test_the_optional_care_team_table_may_be_absent_but_is_checked_when_present(db_url):
    """Issue 20: a platform without care_team keeps working; one with it must give every column."""
    engine = make_engine(db_url)
    schema.metadata.create_all(engine, tables=[t for t in schema.metadata.sorted_tables if t.name != "care_team"])
    assert db.check_platform_schema(engine) == []
    other = MetaData()
    Table("care_team", other, *[Column(c.name, c.type) for c in schema.care_team.columns if c.name != "ended_at"])
    other.create_all(engine)
    assert [p.message for p in db.check_platform_schema(engine)] == ["column care_team.ended_at is missing"]


def test_badly_formatted_timestamps_are_reported(db_url, backend):
    engine = make_engine(db_url)
    schema.metadata.create_all(engine, tables=[t for t in schema.metadata.sorted_tables if t.name != "activity"])
    other = MetaData()
    if backend == "sqlite":
        Table(
            "activity",
            other,
            Column("id", Integer, primary_key=True),
            Column("patient_id", Integer),
            Column("occurred_at", String),
            Column("kind", String),
        )
        other.create_all(engine)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO activity (patient_id, occurred_at, kind) VALUES (1, '2026-01-02 03:04:05', 'login'), "
                    "(1, '02/01/2026 03:04', 'login'), (1, '03/01/2026 03:04', 'login')"
                )
            )
    else:
        Table(
            "activity",
            other,
            Column("id", Integer, primary_key=True),
            Column("patient_id", Integer),
            Column("occurred_at", DateTime(timezone=True)),
            Column("kind", String),
        )
        other.create_all(engine)
    problems = db.check_platform_schema(engine)
    assert [(p.table, p.column) for p in problems] == [("activity", "occurred_at")]
    assert "02/01/2026" in problems[0].message if backend == "sqlite" else "without time zone" in problems[0].message


def test_a_few_odd_timestamps_among_good_ones_are_data_quality_not_a_broken_contract(tmp_path):
    """Refusing to start over one odd row would take the whole service down; the
    row reads as missing and the viewer's data-quality note counts it."""
    engine = make_engine(f"sqlite:///{tmp_path}/odd.sqlite")
    schema.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO activity (patient_id, occurred_at, kind) VALUES "
                "(1, '2026-01-02 03:04:05', 'login'), (1, '2026-01-03 03:04:05', 'login'), "
                "(1, '02/01/2026 03:04', 'login')"
            )
        )
    assert db.check_platform_schema(engine) == []
    with engine.connect() as conn:
        read = conn.execute(select(schema.activity.c.occurred_at).order_by(schema.activity.c.id)).scalars().all()
    assert read == [datetime(2026, 1, 2, 3, 4, 5), datetime(2026, 1, 3, 3, 4, 5), None]


def test_sessions_starting_at_once_can_all_upgrade(tmp_path):
    """Alembic keeps its context in module globals; two sessions starting together
    once crashed the app with KeyError('config') (found by the browser tests)."""
    import threading

    engines = [make_engine(f"sqlite:///{tmp_path}/state-{i}.sqlite") for i in range(6)]
    errors: list[BaseException] = []

    def go(engine):
        try:
            db.upgrade(engine)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert {db.current_revision(e) for e in engines} == {db.head_revision()}


def test_revision_0011_adds_concerns_and_the_snapshots_concerns_version_and_goes_back(db_url):
    from alembic import command

    engine = make_engine(db_url)
    db.upgrade(engine, "0010")
    with engine.begin() as conn:  # a snapshot kept before 0011: its concerns part reads 0
        conn.execute(
            text(
                "INSERT INTO dash_team_snapshots (team_id, as_of, first_day, last_day, settings_hash, "
                "followups_version, acks_version, withdrawals_version, payload, built_ms) "
                "VALUES (1, '2026-11-20 09:00:00', '2026-10-21', '2026-11-20', 'h', 3, 4, 5, '{}', 7)"
            )
        )
    db.upgrade(engine, "0011")
    insp = inspect(engine)
    assert "dash_concerns" in insp.get_table_names()
    assert {u["name"] for u in insp.get_unique_constraints("dash_concerns")} == {"uq_dash_concerns_idempotency"}
    with engine.begin() as conn:
        row = conn.execute(
            text(
                "SELECT followups_version, acks_version, withdrawals_version, concerns_version FROM dash_team_snapshots"
            )
        ).one()
        assert tuple(row) == (3, 4, 5, 0)
        insert_concern = text(
            "INSERT INTO dash_concerns (patient_id, recorded_by, actor, author_name, role, recorded_at, note, "
            "idempotency_key) VALUES (1, 11, 'peer.a', 'Peer A', 'peer_supporter', '2026-11-20 09:00:00', "
            "'She said she feels unsafe.', 'k')"
        )
        conn.execute(insert_concern)
    with pytest.raises(Exception, match="(?i)unique"), engine.begin() as conn:
        conn.execute(insert_concern)  # one idempotency key, one concern
    with engine.begin() as conn:
        command.downgrade(db._alembic_config(conn), "0010")
    insp = inspect(engine)
    assert "dash_concerns" not in insp.get_table_names()
    assert "concerns_version" not in {c["name"] for c in insp.get_columns("dash_team_snapshots")}
    assert db.current_revision(engine) == "0010"
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()  # and up again, past 0011
