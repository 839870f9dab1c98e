"""Pages take a response's item aggregates from the refresher's final kept row and
read every other response live (dashboard/response_facts.py), on SQLite and
PostgreSQL: the queue's inputs equal the live computation (``derived=False``, the
oracle) for a demo service's therapist and team lead, and in each order of events
where a kept row does not hold the platform's answer."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import pandas as pd
import pytest
from alembic import command
from sqlalchemy import delete, insert, inspect, select, update

from dashboard import db, demo, flags, measures, refresh, schema
from dashboard import response_facts as response_facts_mod
from dashboard.config import DEFAULTS, Settings
from dashboard.engine import make_engine
from dashboard.instruments import load_registry
from dashboard.response_facts import definition_hash
from dashboard.scope import load_viewer
from dashboard.state_tables import refresh_marks, response_facts
from tests.conftest import BACKENDS, DEMO_NOW, fresh_database_url
from tests.factory import Platform
from tests.test_refresh import as_numbers

TIMING = refresh.RefreshSettings(overlap_seconds=300, settle_seconds=900, lease_seconds=600, batch=50)
at = refresh.stopped_clock


def queue_inputs(engine, username: str, now, derived: bool | None) -> flags.FlagInputs:
    return flags.load_inputs(engine, load_viewer(engine, username), now, Settings(), state=engine, derived=derived)


def scored(engine, username: str, now, derived: bool = True) -> pd.DataFrame:
    return queue_inputs(engine, username, now, derived).responses.reset_index(drop=True)


def assert_reads_equal_live(engine, username: str, now) -> pd.DataFrame:
    """The page's read equals the live computation: the scored responses and the flags."""
    kept, live = queue_inputs(engine, username, now, True), queue_inputs(engine, username, now, False)
    pd.testing.assert_frame_equal(as_numbers(kept.responses), as_numbers(live.responses))
    settings = Settings()
    pd.testing.assert_frame_equal(flags.evaluate(kept, now, settings), flags.evaluate(live, now, settings))
    return kept.responses


# ---------------------------------------------------------------- a demo service


@pytest.fixture(scope="module", params=BACKENDS)
def service(request, tmp_path_factory):
    gen = fresh_database_url(request.param, tmp_path_factory.mktemp("kept"))
    engine = make_engine(next(gen))
    demo.generate(engine, patients=60, seed=5, now=DEMO_NOW)
    db.upgrade(engine)
    refresh.reconcile(engine, engine, at(DEMO_NOW), TIMING)
    yield engine
    engine.dispose()
    gen.close()


@pytest.mark.parametrize("username", ["therapist1", "lead1", "gp1"])
def test_the_queue_from_kept_facts_equals_the_live_queue(service, username):
    responses = assert_reads_equal_live(service, username, DEMO_NOW)
    assert len(responses) > 20


def test_a_final_kept_row_is_what_the_queue_reads_until_reconcile_repairs_it(service):
    """The boundary of the design, shown: an item added on the platform to a response
    already complete is not seen until ``refresh --full`` (docs/architecture.md)."""
    some = int(scored(service, "therapist1", DEMO_NOW)["response_id"].iloc[0])
    with service.begin() as conn:
        conn.execute(
            update(response_facts)
            .where(response_facts.c.response_id == some)
            .values(valid_item_sum=response_facts.c.valid_item_sum + 1)
        )
    tampered = scored(service, "therapist1", DEMO_NOW).set_index("response_id")
    live = scored(service, "therapist1", DEMO_NOW, derived=False).set_index("response_id")
    assert tampered.loc[some, "valid_item_sum"] == live.loc[some, "valid_item_sum"] + 1
    assert refresh.reconcile(service, service, at(DEMO_NOW), TIMING).drift == 1
    assert_reads_equal_live(service, "therapist1", DEMO_NOW)


# ---------------------------------------------------------------- orders of events, by hand


@pytest.fixture
def platform(db_url):
    p = Platform(make_engine(db_url), DEMO_NOW)
    db.upgrade(p.engine)
    p.pid = p.patient("P1")
    yield p
    p.engine.dispose()


def phq9(p: Platform, rid: int, at_time, items: list[tuple[int, int]], patient_id: int | None = None) -> None:
    with p.engine.begin() as conn:
        conn.execute(
            insert(schema.responses).values(
                id=rid, patient_id=patient_id or p.pid, instrument="PHQ9", administered_at=at_time, total_score=None
            )
        )
        if items:
            conn.execute(insert(schema.response_items), [{"response_id": rid, "item": i, "score": s} for i, s in items])


def add_items(p: Platform, rid: int, items: list[tuple[int, int]]) -> None:
    with p.engine.begin() as conn:
        conn.execute(insert(schema.response_items), [{"response_id": rid, "item": i, "score": s} for i, s in items])


def _late_items(p, t):
    add_items(p, 11, [(i, 2) for i in range(3, 10)])  # the awaited response's items arrive, item 9 among them


def _instrument_changed(p, t):
    with p.engine.begin() as conn:
        conn.execute(update(schema.responses).where(schema.responses.c.id == 10).values(instrument="GAD7"))


def _platform_restored(p, t):
    """The platform restored from a backup and refilled: id 10 is now another patient's answer."""
    other = p.patient("P2")
    with p.engine.begin() as conn:
        conn.execute(delete(schema.response_items).where(schema.response_items.c.response_id == 10))
        conn.execute(delete(schema.responses).where(schema.responses.c.id == 10))
    phq9(p, 10, t, [(i, 3) for i in range(1, 10)], patient_id=other)


def _committed_after_the_refresh(p, t):
    phq9(p, 9, t, [*[(i, 1) for i in range(1, 9)], (9, 3)])  # a lower id, committed late


def _second_item_9(p, t):
    """A complete response gains a second, disagreeing item 9 (a platform error): its
    kept row is final, but the higher answer is a risk alert (clinical-reference 1.5)."""
    add_items(p, 12, [(9, 2)])


def _another_definition(p, t):
    """Rows kept by another release, whose rule counted one more point per response."""
    with p.engine.begin() as conn:
        conn.execute(update(refresh_marks).values(facts_hash="made by another release"))
        conn.execute(update(response_facts).values(valid_item_sum=response_facts.c.valid_item_sum + 1))


def _no_refresh_yet(p, t):
    """Rows left without a watermark (a refresher stopped half-way through its first run)."""
    with p.engine.begin() as conn:
        conn.execute(delete(refresh_marks))
        conn.execute(update(response_facts).values(valid_item_sum=response_facts.c.valid_item_sum + 1))


ORDERS = {  # what happens after the refresh: the queue must still see the platform's answer
    "items arrive for a response still awaited": _late_items,
    "a response's instrument changes in place": _instrument_changed,
    "the platform is restored and reuses an id": _platform_restored,
    "a lower id commits after the refresh": _committed_after_the_refresh,
    "a complete response gains a disagreeing item 9": _second_item_9,
    "the rows were kept by another definition": _another_definition,
    "no watermark at all": _no_refresh_yet,
}


@pytest.mark.parametrize("order", ORDERS)
def test_what_a_kept_row_cannot_answer_is_read_live(platform, order):
    t, engine = DEMO_NOW - timedelta(hours=1), platform.engine
    phq9(platform, 10, t, [(i, 1) for i in range(1, 10)])
    phq9(platform, 11, t, [(1, 0), (2, 0)])  # two items in: the rest are awaited
    phq9(platform, 12, t, [(i, 0) for i in range(1, 10)])
    refresh.refresh(engine, engine, at(t), TIMING)
    ORDERS[order](platform, t)
    responses = assert_reads_equal_live(engine, "ther.a", DEMO_NOW)
    assert set(responses["response_id"]) >= {11, 12}


@pytest.mark.parametrize(
    "first, late",
    [
        ([(1, 0), (2, 0)], [*[(i, 0) for i in range(3, 9)], (9, 1)]),  # the items still awaited
        ([(i, 0) for i in range(1, 10)], [(9, 1)]),  # a complete response: its kept row is final
    ],
    ids=["awaited", "complete"],
)
def test_a_risk_answer_in_late_items_reaches_the_queue_before_the_next_refresh(platform, first, late):
    """Clinical-reference 1.5: item 9 above 0 is a risk alert, whatever the refresher kept."""
    t, engine = DEMO_NOW - timedelta(hours=1), platform.engine
    phq9(platform, 11, t, first)
    refresh.refresh(engine, engine, at(t), TIMING)
    before = flags.evaluate(queue_inputs(engine, "ther.a", DEMO_NOW, True), DEMO_NOW, Settings())
    add_items(platform, 11, late)
    after = flags.evaluate(queue_inputs(engine, "ther.a", DEMO_NOW, True), DEMO_NOW, Settings())
    assert "risk" not in set(before["flag"]) and "risk" in set(after["flag"])


# ---------------------------------------------------------------- the definition


def test_a_new_definition_rebuilds_every_row_without_calling_it_drift(platform, caplog):
    t, engine = DEMO_NOW, platform.engine
    phq9(platform, 10, t, [(i, 1) for i in range(1, 10)])
    refresh.refresh(engine, engine, at(t), TIMING)
    with engine.begin() as conn:  # as revision 0013 leaves rows kept before it
        conn.execute(update(refresh_marks).values(facts_hash=None))
        conn.execute(update(response_facts).values(n_invalid_options=None, n_na_items=None, escalated=None))
    with caplog.at_level(logging.INFO, logger="caseboard"):
        report = refresh.refresh(engine, engine, at(t + timedelta(seconds=60)), TIMING)
    assert report.full and report.drift == 0
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith("refresh_")] == ["refresh_rebuild"]
    with engine.connect() as conn:
        assert conn.scalar(select(refresh_marks.c.facts_hash)) == definition_hash()
        assert conn.execute(select(response_facts.c.n_invalid_options, response_facts.c.escalated)).one() == (0, 0)


def test_the_definition_hash_follows_the_instrument_registry(monkeypatch):
    """A service file that changes an item's range makes the kept rows unread."""
    shipped = definition_hash()
    registry = dict(load_registry(None, DEFAULTS))
    registry["PHQ9"] = replace(registry["PHQ9"], item_max=4)
    monkeypatch.setattr(measures.INSTRUMENTS, "_registry", registry)
    assert definition_hash() != shipped


def test_migration_0013_leaves_earlier_rows_unread_until_the_refresher_rebuilds_them(db_url):
    """Rows kept before 0013 have no rule counts and no definition: the next refresh
    rebuilds them, and a downgrade drops the columns again."""
    p = Platform(make_engine(db_url), DEMO_NOW)
    db.upgrade(p.engine, "0012")
    p.pid = p.patient("P1")
    phq9(p, 10, DEMO_NOW, [(i, 1) for i in range(1, 10)])
    now = DEMO_NOW
    with p.engine.begin() as conn:  # what a refresher of revision 0012 kept
        old = dict(n_item_rows=9, n_valid_items=9, valid_item_sum=9, risk_item_score=1, awaited_until=now)
        row = dict(response_id=10, patient_id=p.pid, instrument="PHQ9", administered_at=now, refreshed_at=now, **old)
        conn.execute(insert(response_facts).values(row))
        mark = dict(last_id=10, last_at=now, pending_id=10, pending_at=now, floor_id=0)
        conn.execute(insert(refresh_marks).values(source="responses", **mark))
    db.upgrade(p.engine)
    with p.engine.connect() as conn:
        assert conn.execute(select(response_facts.c.n_invalid_options)).scalar_one() is None
        assert conn.execute(select(refresh_marks.c.facts_hash)).scalar_one() is None
    assert_reads_equal_live(p.engine, "ther.a", now + timedelta(minutes=1))
    assert refresh.refresh(p.engine, p.engine, at(now), TIMING).full
    with p.engine.connect() as conn:
        assert conn.execute(select(response_facts.c.n_invalid_options, response_facts.c.escalated)).one() == (0, 0)
    with p.engine.begin() as conn:
        command.downgrade(db._alembic_config(conn), "0012")
    assert "n_na_items" not in {c["name"] for c in inspect(p.engine).get_columns("dash_response_facts")}
    p.engine.dispose()


def test_only_a_scope_of_a_team_s_size_reads_the_kept_facts(service, monkeypatch):
    """A caseload aggregates its few responses live (cheaper than a second read);
    a team's queue reads the kept facts (response_facts.KEPT_FROM_PATIENTS)."""
    some = int(scored(service, "therapist1", DEMO_NOW)["response_id"].iloc[0])
    live = scored(service, "therapist1", DEMO_NOW, derived=False).set_index("response_id")
    with service.begin() as conn:
        conn.execute(
            update(response_facts)
            .where(response_facts.c.response_id == some)
            .values(valid_item_sum=response_facts.c.valid_item_sum + 1)
        )
    by_default = queue_inputs(service, "therapist1", DEMO_NOW, None).responses.set_index("response_id")
    assert len(queue_inputs(service, "therapist1", DEMO_NOW, None).patients) < response_facts_mod.KEPT_FROM_PATIENTS
    assert by_default.loc[some, "valid_item_sum"] == live.loc[some, "valid_item_sum"]
    monkeypatch.setattr(response_facts_mod, "KEPT_FROM_PATIENTS", 1)
    as_a_team = queue_inputs(service, "therapist1", DEMO_NOW, None).responses.set_index("response_id")
    assert as_a_team.loc[some, "valid_item_sum"] == live.loc[some, "valid_item_sum"] + 1
    refresh.reconcile(service, service, at(DEMO_NOW), TIMING)
