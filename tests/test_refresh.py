"""The refresher (dashboard/refresh.py) keeps dash_response_facts equal to the live
computation, on SQLite and PostgreSQL: for a demo service, across late commits of
lower ids and items that arrive after their response, under a lease that lets one
refresher work at a time, and after a reconcile that repairs drift. The live path
(dashboard.responses, what the pages run) is the oracle."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, update

from dashboard import db, demo, refresh, schema
from dashboard.cli import refresh as refresh_cli
from dashboard.config import Settings
from dashboard.engine import make_engine
from dashboard.measures import INSTRUMENTS
from dashboard.responses import ITEM_STATS, scored_responses
from dashboard.state_tables import refresh_lease, refresh_marks, response_facts
from tests.conftest import BACKENDS, DEMO_NOW, fresh_database_url
from tests.factory import Platform

FAR = datetime(2999, 1, 1)  # the live path's NOW: every response, whatever its date
COLUMNS = ["response_id", "patient_id", "instrument", "administered_at", "total_score", *ITEM_STATS]
TIMING = refresh.RefreshSettings(overlap_seconds=300, settle_seconds=900, lease_seconds=600, batch=7)


def live(engine) -> pd.DataFrame:
    """What the pages compute now, per response (undated responses are left out there too)."""
    with engine.connect() as conn:
        frame = scored_responses(conn, select(schema.patients.c.id), FAR, Settings())
    return _normal(frame)


def derived(engine) -> pd.DataFrame:
    """The stored facts the pages will read, for the rows the live path shows (dated, of a patient)."""
    with engine.connect() as conn:
        frame = pd.read_sql(select(*(response_facts.c[c] for c in COLUMNS)), conn)
        patients = set(conn.scalars(select(schema.patients.c.id)))
    return _normal(frame[frame["administered_at"].notna() & frame["patient_id"].isin(patients)])


def _normal(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[COLUMNS].sort_values("response_id").reset_index(drop=True)
    for column in ("total_score", *ITEM_STATS):
        out[column] = out[column].astype("float64")
    out["administered_at"] = pd.to_datetime(out["administered_at"])
    return out


def assert_same(engine) -> None:
    pd.testing.assert_frame_equal(derived(engine), live(engine), check_dtype=False)


# ---------------------------------------------------------------- a demo service


@pytest.fixture(scope="module", params=BACKENDS)
def small_demo(request, tmp_path_factory):
    gen = fresh_database_url(request.param, tmp_path_factory.mktemp("refresh"))
    url = next(gen)
    engine = make_engine(url)
    demo.generate(engine, patients=25, seed=11, now=DEMO_NOW)
    db.upgrade(engine)
    yield engine
    engine.dispose()
    gen.close()


def test_derived_facts_equal_the_live_computation_for_every_demo_response(small_demo):
    with small_demo.begin() as conn:
        conn.execute(delete(response_facts))
        conn.execute(delete(refresh_marks))
    report = refresh.refresh(small_demo, small_demo, DEMO_NOW, TIMING)
    assert report.status == refresh.DONE and report.read > 100
    assert_same(small_demo)
    assert refresh.reconcile(small_demo, small_demo, DEMO_NOW, TIMING).drift == 0


def test_reconcile_repairs_a_tampered_row_and_logs_the_drift(small_demo, caplog):
    refresh.refresh(small_demo, small_demo, DEMO_NOW, TIMING)
    some = live(small_demo)["response_id"].iloc[3]
    with small_demo.begin() as conn:
        conn.execute(
            update(response_facts)
            .where(response_facts.c.response_id == int(some))
            .values(valid_item_sum=response_facts.c.valid_item_sum + 1)
        )
    with pytest.raises(AssertionError):
        assert_same(small_demo)
    with caplog.at_level(logging.WARNING, logger="caseboard"):
        report = refresh.reconcile(small_demo, small_demo, DEMO_NOW, TIMING)
    assert report.drift == 1
    assert_same(small_demo)
    drift = [r for r in caplog.records if r.getMessage() == "refresh_drift"]
    assert [r.caseboard_fields for r in drift] == [{"kind": "changed", "rows": 1}]


def test_a_second_refresher_finds_the_lease_held_and_writes_nothing(small_demo):
    with small_demo.begin() as conn:
        conn.execute(delete(response_facts))
        conn.execute(delete(refresh_marks))
    assert refresh.take_lease(small_demo, "refresher-a", DEMO_NOW, 600)
    assert not refresh.take_lease(small_demo, "refresher-b", DEMO_NOW, 600)  # exactly one works
    held = refresh.refresh(small_demo, small_demo, DEMO_NOW, TIMING, holder="refresher-b")
    full = refresh.reconcile(small_demo, small_demo, DEMO_NOW, TIMING, holder="refresher-b")
    assert held.status == full.status == refresh.LEASE_HELD
    with small_demo.connect() as conn:
        assert conn.scalar(select(response_facts.c.response_id).limit(1)) is None
        assert conn.scalar(select(refresh_marks.c.source)) is None
    # the holder itself renews its lease and works; once it releases, the other may
    assert refresh.refresh(small_demo, small_demo, DEMO_NOW, TIMING, holder="refresher-a").status == refresh.DONE
    assert refresh.refresh(small_demo, small_demo, DEMO_NOW, TIMING, holder="refresher-b").status == refresh.DONE
    # a crashed holder's lease lapses
    assert refresh.take_lease(small_demo, "crashed", DEMO_NOW, 600)
    later = DEMO_NOW + timedelta(seconds=601)
    assert refresh.refresh(small_demo, small_demo, later, TIMING, holder="refresher-b").status == refresh.DONE
    with small_demo.connect() as conn:
        assert conn.scalar(select(refresh_lease.c.holder)) == "refresher-b"


def test_the_command_refreshes_and_says_so(small_demo, capsys, monkeypatch):
    url = small_demo.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DASHBOARD_MODE", "demo")
    assert refresh_cli.main(["--db", url]) == 0
    assert refresh_cli.main(["--db", url, "--full"]) == 0
    assert refresh_cli.main(["--db", url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("refresh: ") and " read, watermark " in out[0]
    assert out[1].startswith("team snapshots: 2 teams rebuilt, slowest ")  # none was kept yet
    assert out[2].startswith("full reconcile: ") and out[2].endswith(", 0 drifted rows repaired")
    assert out[3].startswith("team snapshots: 2 teams rebuilt")  # --full rebuilds every team's
    assert out[5] == "team snapshots: none due"  # both are younger than snapshot_every
    assert_same(small_demo)


# ---------------------------------------------------------------- late rows, by hand


@pytest.fixture
def platform(db_url):
    p = Platform(make_engine(db_url), DEMO_NOW)
    db.upgrade(p.engine)
    p.pid = p.patient("P1")
    yield p
    p.engine.dispose()


def add_response(p: Platform, rid: int, at: datetime, items: list[tuple[int, int | None]], instrument="PHQ9"):
    with p.engine.begin() as conn:
        conn.execute(
            insert(schema.responses).values(
                id=rid, patient_id=p.pid, instrument=instrument, administered_at=at, total_score=None
            )
        )
        add_items(conn, rid, items)


def add_items(conn, rid: int, items: list[tuple[int, int | None]]) -> None:
    if items:
        conn.execute(insert(schema.response_items), [{"response_id": rid, "item": i, "score": s} for i, s in items])


def test_a_lower_id_committed_after_a_higher_one_was_read_is_picked_up(platform):
    t = DEMO_NOW
    full = [(i, 1) for i in range(1, 10)]
    add_response(platform, 10, t, full)
    add_response(platform, 12, t, full)
    first = refresh.refresh(platform.engine, platform.engine, t, TIMING)
    assert first.watermark == 12
    add_response(platform, 11, t, [(i, 2) for i in range(1, 10)])  # its transaction began before 12's
    refresh.refresh(platform.engine, platform.engine, t + timedelta(seconds=60), TIMING)
    assert_same(platform.engine)
    assert list(derived(platform.engine)["response_id"]) == [10, 11, 12]


def test_items_arriving_after_their_response_are_scored_again(platform):
    t, engine = DEMO_NOW, platform.engine
    add_response(platform, 20, t, [(1, 3), (2, 3)])
    add_response(platform, 21, t, [(i, 0) for i in range(1, 10)])
    refresh.refresh(engine, engine, t, TIMING)
    refresh.refresh(engine, engine, t + timedelta(seconds=TIMING.overlap_seconds), TIMING)
    with engine.connect() as conn:
        assert conn.scalar(select(refresh_marks.c.floor_id)) == 21  # 20 is no longer re-read as a recent id
    with engine.begin() as conn:
        add_items(conn, 20, [(i, 2) for i in range(3, 10)])
    refresh.refresh(engine, engine, t + timedelta(seconds=400), TIMING)
    assert_same(engine)
    assert derived(engine).set_index("response_id").loc[20, "valid_item_sum"] == 6 + 14


def test_an_item_added_after_the_settle_age_is_drift_that_reconcile_repairs(platform):
    t, engine = DEMO_NOW, platform.engine
    add_response(platform, 30, t, [(1, 1)])
    for seconds in (0, 300, 600, 900):  # read at the settle age: no longer awaited
        refresh.refresh(engine, engine, t + timedelta(seconds=seconds), TIMING)
    with engine.begin() as conn:
        add_items(conn, 30, [(2, 2)])
    refresh.refresh(engine, engine, t + timedelta(seconds=1200), TIMING)
    assert derived(engine).set_index("response_id").loc[30, "valid_item_sum"] == 1
    assert refresh.reconcile(engine, engine, t + timedelta(seconds=1300), TIMING).drift == 1
    assert_same(engine)


# ---------------------------------------------------------------- random event streams

# A response commits at most 2 ticks after its id is taken (shorter than the overlap);
# its late items up to 10 ticks after that (longer than the overlap, shorter than the
# settle age: only the re-reading of incomplete responses finds those).
TICK = timedelta(seconds=60)
item = st.tuples(st.integers(0, 10), st.one_of(st.none(), st.integers(-1, 4)))  # out of range, repeated, blank
new_response = st.tuples(
    st.just("new"),
    st.sampled_from(["PHQ9", "GAD7"]),
    st.lists(item, max_size=11),  # committed with the response
    st.lists(item, min_size=1, max_size=6),  # committed later (only while the first part has fewer rows than items)
    st.integers(0, 2),  # ticks from the id being taken to the response's commit
    st.integers(0, 10),  # ticks from the response's commit to the late items' commit
)
ticks = st.tuples(st.just("tick"), st.integers(1, 6), st.booleans())  # minutes, then a refresh?
steps = st.lists(st.one_of(new_response, ticks, st.just(("refresh",))), min_size=15, max_size=50)


@pytest.fixture(scope="module", params=BACKENDS)
def stream_platform(request, tmp_path_factory):
    gen = fresh_database_url(request.param, tmp_path_factory.mktemp("stream"))
    url = next(gen)
    p = Platform(make_engine(url), DEMO_NOW)
    db.upgrade(p.engine)
    p.pid = p.patient("P1")
    yield p
    p.engine.dispose()
    gen.close()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(stream=steps)
def test_random_event_streams_keep_derived_equal_to_live(stream_platform, stream):
    p = stream_platform
    with p.engine.begin() as conn:
        for table in (schema.response_items, schema.responses, response_facts, refresh_marks, refresh_lease):
            conn.execute(delete(table))
    clock, next_id = DEMO_NOW, 1
    pending: list[tuple[datetime, int, int, tuple]] = []  # (commit time, id, 0 response | 1 late items, rows)

    def commit_due() -> None:
        for due in sorted(x for x in pending if x[0] <= clock):
            pending.remove(due)
            _, _, late_items, rows = due
            if not late_items:
                rid, instrument, at, items = rows
                add_response(p, rid, at, items, instrument)
            else:
                with p.engine.begin() as conn:
                    add_items(conn, *rows)

    def run_refresh() -> None:
        assert refresh.refresh(p.engine, p.engine, clock, TIMING).status == refresh.DONE
        assert_same(p.engine)

    for step in stream:
        if step[0] == "tick":
            for _ in range(step[1]):  # minute by minute: each commit happens when it is due
                clock += TICK
                commit_due()
            if step[2]:
                run_refresh()
        elif step[0] == "refresh":
            run_refresh()
        else:
            _, instrument, first, late, delay, late_delay = step
            rid, next_id = next_id, next_id + 1
            commit_at = clock + delay * TICK
            pending.append((commit_at, rid, 0, (rid, instrument, clock, first)))
            if late and len(first) < INSTRUMENTS[instrument].n_items:
                pending.append((commit_at + late_delay * TICK, rid, 1, (rid, late)))
            commit_due()
    for _ in range(15):  # every transaction has ended
        clock += TICK
        commit_due()
    refresh.refresh(p.engine, p.engine, clock, TIMING)
    assert_same(p.engine)
    assert refresh.reconcile(p.engine, p.engine, clock, TIMING).drift == 0
