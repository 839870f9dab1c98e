"""The refresher (dashboard/refresh.py) keeps dash_response_facts equal to the live
computation, on SQLite and PostgreSQL: for a demo service, across late commits of
lower ids and items that arrive after their response, under a lease that lets one
refresher work at a time, and after a reconcile that repairs drift. The live path
(dashboard.responses, what the pages run) is the oracle."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.errors import DatabaseError as PandasDatabaseError
from sqlalchemy import case, delete, event, func, insert, select, text, update
from sqlalchemy.exc import OperationalError

from dashboard import db, demo, flags, refresh, schema, team_snapshot
from dashboard.cli import refresh as refresh_cli
from dashboard.cli.queue import due_records, queue_records
from dashboard.config import Settings
from dashboard.engine import make_engine
from dashboard.followups_due import due_list
from dashboard.measures import INSTRUMENTS, score_responses
from dashboard.responses import ITEM_STATS, RULE_STATS, scored_responses
from dashboard.scope import load_viewer
from dashboard.state_tables import refresh_lease, refresh_marks, response_facts, team_snapshots
from dashboard.timeutil import utcnow
from dashboard.triage import triage
from tests.conftest import BACKENDS, DEMO_NOW, fresh_database_url
from tests.factory import Platform

FAR = datetime(2999, 1, 1)  # the live path's NOW: every response, whatever its date
COLUMNS = ["response_id", "patient_id", "instrument", "administered_at", "total_score", *ITEM_STATS, *RULE_STATS]
at = refresh.stopped_clock
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
    # Scored as the pages score them: ``escalated`` is the rule's result only where the score is valid.
    shown = frame[frame["administered_at"].notna() & frame["patient_id"].isin(patients)]
    return _normal(score_responses(shown, Settings()))


def _normal(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[COLUMNS].sort_values("response_id").reset_index(drop=True)
    for column in ("total_score", *ITEM_STATS, *RULE_STATS):
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
    report = refresh.refresh(small_demo, small_demo, at(DEMO_NOW), TIMING)
    assert report.status == refresh.DONE and report.read > 100
    assert_same(small_demo)
    assert refresh.reconcile(small_demo, small_demo, at(DEMO_NOW), TIMING).drift == 0


def test_reconcile_repairs_a_tampered_row_and_logs_the_drift(small_demo, caplog):
    refresh.refresh(small_demo, small_demo, at(DEMO_NOW), TIMING)
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
        report = refresh.reconcile(small_demo, small_demo, at(DEMO_NOW), TIMING)
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
    held = refresh.refresh(small_demo, small_demo, at(DEMO_NOW), TIMING, holder="refresher-b")
    full = refresh.reconcile(small_demo, small_demo, at(DEMO_NOW), TIMING, holder="refresher-b")
    assert held.status == full.status == refresh.LEASE_HELD
    with small_demo.connect() as conn:
        assert conn.scalar(select(response_facts.c.response_id).limit(1)) is None
        assert conn.scalar(select(refresh_marks.c.source)) is None
    # the holder itself renews its lease and works; once it releases, the other may
    assert refresh.refresh(small_demo, small_demo, at(DEMO_NOW), TIMING, holder="refresher-a").status == refresh.DONE
    assert refresh.refresh(small_demo, small_demo, at(DEMO_NOW), TIMING, holder="refresher-b").status == refresh.DONE
    # a crashed holder's lease lapses
    assert refresh.take_lease(small_demo, "crashed", DEMO_NOW, 600)
    later = DEMO_NOW + timedelta(seconds=601)
    assert refresh.refresh(small_demo, small_demo, at(later), TIMING, holder="refresher-b").status == refresh.DONE
    with small_demo.connect() as conn:
        assert conn.scalar(select(refresh_lease.c.holder)) == "refresher-b"


def test_the_command_refreshes_and_says_so(small_demo, capsys, monkeypatch):
    url = small_demo.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DASHBOARD_MODE", "demo")
    assert refresh_cli.main(["--db", url]) == 0
    assert refresh_cli.main(["--db", url, "--full"]) == 0
    assert refresh_cli.main(["--db", url]) == 0
    out = capsys.readouterr().out.splitlines()
    first, full, again = (line.split("; ") for line in out)
    assert first[0].startswith("refresh: ") and " read, watermark " in first[0]
    assert first[1].startswith("team snapshots: 2 teams rebuilt, slowest ")  # none was kept yet
    assert full[0].startswith("full reconcile: ") and full[0].endswith(", 0 drifted rows repaired")
    assert full[1].startswith("team snapshots: 2 teams rebuilt")  # --full rebuilds every team's
    assert again[1] == "team snapshots: none due"  # both are younger than team_snapshot_every_seconds
    assert_same(small_demo)


def lost_in_pandas() -> Exception:
    """What pandas.read_sql raises when the database goes away under a team snapshot's
    read: its own DatabaseError, the driver's error as its cause."""
    lost = PandasDatabaseError("Execution failed on sql 'SELECT ...': connection refused")
    lost.__cause__ = OperationalError("SELECT ...", {}, Exception("connection refused"))
    return lost


@pytest.mark.parametrize(
    "fault",
    [lambda: OperationalError("SELECT max(id)", {}, Exception("connection refused")), lost_in_pandas],
    ids=["sqlalchemy", "pandas_read_sql"],
)
def test_the_service_reports_a_cycle_that_cannot_reach_a_database_and_runs_the_next(
    small_demo, capsys, monkeypatch, fault
):
    """caseboard refresh --every outlives a database that drops out for one cycle (it
    ended at the first fault, and a deployment's replica restart stopped it for good).
    A team snapshot reads through pandas, whose error is not SQLAlchemy's: the
    deployment's replica stopped during a 100,000-patient snapshot build ended the
    refresher with exit 2 before that case was caught too."""
    url = small_demo.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DASHBOARD_MODE", "demo")
    real, calls, sleeps = refresh.cycle, [], []

    def drops_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise fault()
        return real(*args, **kwargs)

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(refresh, "cycle", drops_once)
    monkeypatch.setattr(refresh_cli.time, "sleep", sleep)
    assert refresh_cli.main(["--db", url, "--every", "30"]) == 0
    captured = capsys.readouterr()
    assert "this cycle could not reach a database (OperationalError); the next runs in 30 s" in captured.err
    assert captured.out.startswith("refresh: ")  # the second cycle ran and wrote
    assert sleeps == [30, 30]
    assert_same(small_demo)


def test_a_cycle_with_the_teams_builds_their_due_snapshots(small_demo):
    """The in-process runner and the command run one cycle: with the app's settings and
    zone it also keeps each team's Caseload snapshot."""
    teams = refresh.TeamFigures(Settings(), ZoneInfo("Europe/Stockholm"))
    with small_demo.begin() as conn:  # the module's demo: start with no snapshot kept
        conn.execute(delete(team_snapshots))
    t = utcnow() + timedelta(hours=1)  # after any lease the module's other tests took at the real time
    first = refresh.cycle(small_demo, small_demo, at(t), TIMING, teams=teams)
    assert first.status == refresh.DONE and first.teams_built == 2 and first.slowest_team_ms > 0
    later = refresh.cycle(small_demo, small_demo, at(t + timedelta(seconds=60)), TIMING, teams=teams)
    assert later.teams_built == 0  # younger than team_snapshot_every_seconds
    assert refresh.cycle(small_demo, small_demo, at(t), TIMING).teams_built is None  # not asked
    with small_demo.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(team_snapshots)) == 2


def test_a_second_refresher_started_during_a_long_snapshot_cycle_builds_nothing(small_demo, monkeypatch):
    """At 100,000 patients a cycle builds 20 teams for about 11 minutes (docs/deployment.md):
    the lease is held through the snapshots, so a refresher started meanwhile writes
    nothing; a cycle whose lease lapsed and was taken stops before its next team."""
    teams = refresh.TeamFigures(Settings(), ZoneInfo("UTC"))
    with small_demo.begin() as conn:
        conn.execute(delete(team_snapshots))
    now = [utcnow() + timedelta(hours=2)]  # after any lease the module's other tests took
    clock = lambda: now[0]  # noqa: E731
    real_build, seen = team_snapshot.build, []

    def slow_build(platform, state, team, *args, **kwargs):
        if not seen:  # while building the first team, a second refresher starts
            seen.append(refresh.cycle(small_demo, small_demo, clock, TIMING, holder="b", teams=teams))
        return real_build(platform, state, team, *args, **kwargs)

    monkeypatch.setattr(team_snapshot, "build", slow_build)
    first = refresh.cycle(small_demo, small_demo, clock, TIMING, holder="a", teams=teams)
    assert first.teams_built == 2 and seen[0].status == refresh.LEASE_HELD and seen[0].teams_built is None

    def lapsing_build(platform, state, team, *args, **kwargs):
        if len(seen) == 1:  # the first team outlasts the lease, and "b" takes it meanwhile
            now[0] += timedelta(seconds=TIMING.lease_seconds + 1)
            seen.append(refresh.take_lease(small_demo, "b", now[0], TIMING.lease_seconds))
        return real_build(platform, state, team, *args, **kwargs)

    monkeypatch.setattr(team_snapshot, "build", lapsing_build)
    now[0] += timedelta(hours=1)  # both snapshots are due again
    second = refresh.cycle(small_demo, small_demo, clock, TIMING, holder="a", teams=teams)
    assert seen[1] is True and second.teams_built == 1  # "a" stopped: the lease is no longer its own
    with small_demo.connect() as conn:
        assert conn.scalar(select(refresh_lease.c.holder)) == "b"


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
    first = refresh.refresh(platform.engine, platform.engine, at(t), TIMING)
    assert first.watermark == 12
    add_response(platform, 11, t, [(i, 2) for i in range(1, 10)])  # its transaction began before 12's
    refresh.refresh(platform.engine, platform.engine, at(t + timedelta(seconds=60)), TIMING)
    assert_same(platform.engine)
    assert list(derived(platform.engine)["response_id"]) == [10, 11, 12]


def test_a_follow_up_risk_answer_committed_after_the_refresher_and_the_snapshot_reaches_triage(platform):
    """Issue 20, risk at follow-up: triage reads the platform's responses itself, not
    the refresher's facts or the team's kept Caseload, so an item 9 of 2 (clinical-reference
    1.5) 12 weeks after the end, committed late under a lower id, is in the therapist's
    queue at the next read, with its follow-up context."""
    t, engine = DEMO_NOW, platform.engine
    platform.pid = platform.patient("FU-LATE", status="completed", enrolled_days_ago=150, ended_days_ago=12 * 7)
    zeros = [(i, 0) for i in range(1, 10)]
    add_response(platform, 40, t, zeros)
    add_response(platform, 42, t, zeros)
    refresh.refresh(engine, engine, at(t), TIMING)
    team_snapshot.build(engine, engine, 1, t, Settings(), ZoneInfo("UTC"))
    add_response(platform, 41, t, [*[(i, 1) for i in range(1, 9)], (9, 2)])
    queue = triage(engine, engine, load_viewer(engine, "ther.a"), t + timedelta(seconds=60), Settings()).queue
    row = queue.set_index("patient_id").loc[platform.pid]
    assert row["flags"] == ["risk"]
    assert "answered 2" in row["reasons"][0] and "at follow-up, 12 weeks after the episode ended" in row["reasons"][0]


class SlowTopRead:
    """A clock that moves on by ``delay`` while the refresher reads the platform's
    highest response id, the first time only: that read waited (a lock, a busy machine)."""

    def __init__(self, engine, start: datetime, delay: timedelta):
        self.now, self.delay = start, delay
        event.listen(engine, "before_cursor_execute", self.reading)

    def __call__(self) -> datetime:
        return self.now

    def reading(self, _conn, _cursor, statement: str, *_args) -> None:
        if "max(responses.id)" in statement.lower() and self.delay:
            self.now, self.delay = self.now + self.delay, timedelta(0)


def test_a_row_uncommitted_when_a_slow_read_took_the_top_id_is_not_passed_by_the_floor(platform, db_url):
    """F6: the time recorded with the top id is taken after reading it, not when the
    refresh began; else the floor passes a lower id still inside its overlap window."""
    t, engine = DEMO_NOW, platform.engine
    full = [(i, 1) for i in range(1, 10)]
    add_response(platform, 10, t, full)
    add_response(platform, 12, t, full)  # 11 took its id just before 12, at about t + 200 s
    reader = make_engine(db_url)  # the refresher's own connections to the platform
    clock = SlowTopRead(reader, t, timedelta(seconds=200))
    assert refresh.refresh(reader, engine, clock, TIMING).watermark == 12  # the top id read at t + 200 s
    clock.now = t + timedelta(seconds=TIMING.overlap_seconds)  # only 100 s after that read
    refresh.refresh(reader, engine, clock, TIMING)
    with engine.connect() as conn:
        assert conn.scalar(select(refresh_marks.c.floor_id)) == 0  # 11 may still commit: keep re-reading
    add_response(platform, 11, t, [(i, 2) for i in range(1, 10)])  # commits 250 s after its id, within the overlap
    clock.now = t + timedelta(seconds=450)
    refresh.refresh(reader, engine, clock, TIMING)
    assert list(derived(engine)["response_id"]) == [10, 11, 12]
    assert_same(engine)
    reader.dispose()


def test_items_arriving_after_their_response_are_scored_again(platform):
    t, engine = DEMO_NOW, platform.engine
    add_response(platform, 20, t, [(1, 3), (2, 3)])
    add_response(platform, 21, t, [(i, 0) for i in range(1, 10)])
    refresh.refresh(engine, engine, at(t), TIMING)
    refresh.refresh(engine, engine, at(t + timedelta(seconds=TIMING.overlap_seconds)), TIMING)
    with engine.connect() as conn:
        assert conn.scalar(select(refresh_marks.c.floor_id)) == 21  # 20 is no longer re-read as a recent id
    with engine.begin() as conn:
        add_items(conn, 20, [(i, 2) for i in range(3, 10)])
    refresh.refresh(engine, engine, at(t + timedelta(seconds=400)), TIMING)
    assert_same(engine)
    assert derived(engine).set_index("response_id").loc[20, "valid_item_sum"] == 6 + 14


def test_an_item_added_after_the_settle_age_is_drift_that_reconcile_repairs(platform):
    t, engine = DEMO_NOW, platform.engine
    add_response(platform, 30, t, [(1, 1)])
    for seconds in (0, 300, 600, 900):  # read at the settle age: no longer awaited
        refresh.refresh(engine, engine, at(t + timedelta(seconds=seconds)), TIMING)
    with engine.begin() as conn:
        add_items(conn, 30, [(2, 2)])
    refresh.refresh(engine, engine, at(t + timedelta(seconds=1200)), TIMING)
    assert derived(engine).set_index("response_id").loc[30, "valid_item_sum"] == 1
    assert refresh.reconcile(engine, engine, at(t + timedelta(seconds=1300)), TIMING).drift == 1
    assert_same(engine)


# ---------------------------------------------------------------- the platform's ids

ID_COLUMNS = {  # a kind of id column -> (its DDL per backend, the problem named, or None: accepted)
    "a sequence": ({"postgresql": "id serial PRIMARY KEY", "sqlite": "id INTEGER PRIMARY KEY"}, None),
    "an identity": ({"postgresql": "id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"}, None),
    "text": ({"postgresql": "id text PRIMARY KEY", "sqlite": "id TEXT PRIMARY KEY"}, "not an integer"),
    "no generator": (
        {"postgresql": "id integer PRIMARY KEY", "sqlite": "id INT PRIMARY KEY"},
        "the refresher cannot keep a watermark",
    ),
    "without rowid": ({"sqlite": "id INTEGER PRIMARY KEY) WITHOUT ROWID --"}, "not an INTEGER PRIMARY KEY"),
    "a cached sequence": ({"postgresql": "id serial PRIMARY KEY"}, "CACHE 1"),
}


def make_responses_table(url: str, backend: str, kind: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE responses ({ID_COLUMNS[kind][0][backend]})"))
        if kind == "a cached sequence":
            conn.execute(text("ALTER SEQUENCE responses_id_seq CACHE 20"))
    engine.dispose()


# Only the kinds each backend has: an identity column or a cached sequence exists on
# PostgreSQL alone, a table without rowids on SQLite alone.
ID_CASES = [(backend, kind) for kind, (ddl, _) in ID_COLUMNS.items() for backend in BACKENDS if backend in ddl]


@pytest.mark.parametrize(("backend", "kind"), ID_CASES)
def test_the_start_up_check_names_ids_the_watermark_cannot_rely_on(db_url, backend, kind):
    _ddl, problem = ID_COLUMNS[kind]
    make_responses_table(db_url, backend, kind)
    engine = make_engine(db_url)
    problems = refresh.check_platform_ids(engine)
    engine.dispose()
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0] and problems[0].startswith("responses.id")


def test_the_command_refuses_to_start_on_such_ids_without_a_traceback(db_url, backend, capsys, monkeypatch):
    make_responses_table(db_url, backend, "text")
    engine = make_engine(db_url)
    db.upgrade(engine)
    engine.dispose()
    monkeypatch.setenv("DASHBOARD_MODE", "demo")
    assert refresh_cli.main(["--db", db_url]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "error: responses.id is text, not an integer" in err.lower() and "Traceback" not in err


def test_a_demo_platform_passes_the_check(small_demo):
    assert refresh.check_platform_ids(small_demo) == []


def test_ids_below_the_watermark_rebuild_every_row_and_log_it(platform, caplog):
    """The platform restored from a backup (or reseeded): 11 and 12 are gone, and a new,
    different 11 arrives. The floor (12) would hide it from an incremental refresh."""
    t, engine = DEMO_NOW, platform.engine
    for rid in (10, 11, 12):
        add_response(platform, rid, t, [(i, 1) for i in range(1, 10)])
    refresh.refresh(engine, engine, at(t), TIMING)
    refresh.refresh(engine, engine, at(t + timedelta(seconds=TIMING.overlap_seconds)), TIMING)
    with engine.begin() as conn:
        assert conn.scalar(select(refresh_marks.c.floor_id)) == 12
        conn.execute(delete(schema.response_items).where(schema.response_items.c.response_id > 10))
        conn.execute(delete(schema.responses).where(schema.responses.c.id > 10))
    add_response(platform, 11, t, [(i, 3) for i in range(1, 10)])
    with caplog.at_level(logging.WARNING, logger="caseboard"):
        report = refresh.refresh(engine, engine, at(t + timedelta(seconds=400)), TIMING)
    assert report.full and report.drift == 2 and (report.watermark, report.floor) == (11, 0)
    assert_same(engine)
    kinds = [r.caseboard_fields["kind"] for r in caplog.records if r.getMessage() == "refresh_drift"]
    assert kinds == ["ids_went_back", "changed", "gone"]


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


def play(p: Platform, stream: list, after_step) -> datetime:
    """Run an event stream against an empty platform: responses whose rows commit late
    and out of id order, refreshes at random points, and (``edit``) a committed
    response's instrument changed in place. ``after_step(clock, refreshed)`` runs after
    each step; returns the clock once every transaction has ended."""
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

    for step in stream:
        refreshed = step[0] == "refresh" or (step[0] == "tick" and step[2])
        if step[0] == "tick":
            for _ in range(step[1]):  # minute by minute: each commit happens when it is due
                clock += TICK
                commit_due()
            if step[2]:
                assert refresh.refresh(p.engine, p.engine, at(clock), TIMING).status == refresh.DONE
        elif step[0] == "refresh":
            assert refresh.refresh(p.engine, p.engine, at(clock), TIMING).status == refresh.DONE
        elif step[0] == "edit":
            with p.engine.begin() as conn:
                # Not a response whose items are still to come: an edit can make such a
                # response look complete (8 of PHQ-9's items are all of GAD-7's), and an
                # item added after that is drift by design (dashboard.response_facts).
                awaited = {x[1] for x in pending if x[2]}
                ids = [i for i in sorted(conn.scalars(select(schema.responses.c.id))) if i not in awaited]
                if ids:
                    rid = ids[step[1] % len(ids)]
                    other = case((schema.responses.c.instrument == "PHQ9", "GAD7"), else_="PHQ9")
                    conn.execute(update(schema.responses).where(schema.responses.c.id == rid).values(instrument=other))
        else:
            _, instrument, first, late, delay, late_delay = step
            rid, next_id = next_id, next_id + 1
            commit_at = clock + delay * TICK
            pending.append((commit_at, rid, 0, (rid, instrument, clock, first)))
            if late and len(first) < INSTRUMENTS[instrument].n_items:
                pending.append((commit_at + late_delay * TICK, rid, 1, (rid, late)))
            commit_due()
        after_step(clock, refreshed)
    for _ in range(15):  # every transaction has ended
        clock += TICK
        commit_due()
    return clock


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(stream=steps)
def test_random_event_streams_keep_derived_equal_to_live(stream_platform, stream):
    p = stream_platform

    def after_step(_clock: datetime, refreshed: bool) -> None:
        if refreshed:
            assert_same(p.engine)

    clock = play(p, stream, after_step)
    refresh.refresh(p.engine, p.engine, at(clock), TIMING)
    assert_same(p.engine)
    assert refresh.reconcile(p.engine, p.engine, at(clock), TIMING).drift == 0


def page_reads(p: Platform, now: datetime, derived: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The triage queue's inputs for the patient's therapist: scored responses and flags."""
    inputs = flags.load_inputs(
        p.engine, load_viewer(p.engine, "ther.a"), now, Settings(), state=p.engine, derived=derived
    )
    return as_numbers(inputs.responses), flags.evaluate(inputs, now, Settings())


def as_numbers(scored: pd.DataFrame) -> pd.DataFrame:
    """Scored responses with every item count a float: a column read with no value at
    all comes back as None from the live path, NaN from the kept one (the same answer)."""
    return scored.astype({c: "float64" for c in (*ITEM_STATS, *RULE_STATS)}).reset_index(drop=True)


def cli_reads(p: Platform, now: datetime, kept: bool) -> tuple[list, list, list]:
    """What ``caseboard queue`` prints for the patient's therapist, team lead and GP
    (its records, before formatting), reading the kept facts for every scope or for none."""
    views = {u: load_viewer(p.engine, u) for u in ("ther.a", "lead.a", "gp.a")}
    with mock.patch.object(flags, "worth_reading", lambda _n: kept):
        queues = [
            queue_records(triage(p.engine, p.engine, views[u], now, Settings()).queue) for u in ("ther.a", "lead.a")
        ]
        due = due_records(due_list(p.engine, p.engine, views["gp.a"], now, Settings(), ZoneInfo("UTC")).due)
    return queues[0], queues[1], due


edits = st.tuples(st.just("edit"), st.integers(0, 50))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40)
@given(stream=st.lists(st.one_of(new_response, ticks, st.just(("refresh",)), edits), min_size=15, max_size=50))
def test_random_event_streams_keep_the_queue_equal_to_live(stream_platform, stream):
    """Issue 17's property: whatever the refresher kept and whenever it ran, the queue
    a page reads (kept facts where final, the rest live) equals the live computation,
    through late rows, rows committed out of id order and rows changed in place; so do
    the queues and the due list ``caseboard queue`` prints for each role."""
    p = stream_platform

    def after_step(clock: datetime, refreshed: bool = False) -> None:
        now = clock + TICK
        (kept, kept_flags), (live, live_flags) = page_reads(p, now, True), page_reads(p, now, False)
        pd.testing.assert_frame_equal(kept, live, check_dtype=False)
        pd.testing.assert_frame_equal(kept_flags, live_flags)
        if refreshed:  # the command line's whole output too, where the kept rows just changed
            assert cli_reads(p, now, kept=True) == cli_reads(p, now, kept=False)

    clock = play(p, stream, after_step)
    after_step(clock, refreshed=True)
    refresh.reconcile(p.engine, p.engine, at(clock), TIMING)
    assert_same(p.engine)


# ---------------------------------------------------------------- the schedules: one cycle, a runner


def test_a_cycle_refreshes_and_a_full_cycle_repairs_drift(platform):
    t, engine = DEMO_NOW, platform.engine
    add_response(platform, 1, t, [(i, 2) for i in range(1, 10)])
    add_response(platform, 2, t, [(1, 1)])
    report = refresh.cycle(engine, engine, at(t), TIMING)
    assert (report.status, report.full, report.read) == (refresh.DONE, False, 2)
    assert_same(engine)
    with engine.begin() as conn:
        conn.execute(update(response_facts).values(valid_item_sum=0))
    assert refresh.cycle(engine, engine, at(t), TIMING, full=True).drift == 2
    assert_same(engine)


def stop_after(monkeypatch, stop: threading.Event, cycles: int, fail_first: bool = False) -> list:
    """refresh.cycle as the runner calls it, recording each report and setting ``stop``
    after ``cycles`` calls; with ``fail_first`` the first call raises instead."""
    real, reports = refresh.cycle, []

    def counted(*args, **kwargs):
        if fail_first and not reports:
            reports.append(None)
            raise RuntimeError("the database went away")
        reports.append(real(*args, **kwargs))
        if len(reports) >= cycles:
            stop.set()
        return reports[-1]

    monkeypatch.setattr(refresh, "cycle", counted)
    return reports


def test_the_runner_survives_a_failing_cycle_and_logs_it(platform, monkeypatch, caplog):
    engine, stop = platform.engine, threading.Event()
    add_response(platform, 1, DEMO_NOW, [(i, 2) for i in range(1, 10)])
    reports = stop_after(monkeypatch, stop, cycles=2, fail_first=True)
    with caplog.at_level(logging.INFO, logger="caseboard"):
        refresh.run_forever(engine, engine, 0.001, stop, clock=at(DEMO_NOW), settings=TIMING)
    assert reports[0] is None and reports[1].status == refresh.DONE  # the next cycle ran and wrote
    assert_same(engine)
    events = [(r.getMessage(), r.caseboard_fields) for r in caplog.records if r.getMessage().startswith("refresh_")]
    assert events[0] == ("refresh_failed", {"error": "RuntimeError"})  # the class only, never the text
    assert events[1][0] == "refresh_cycle" and events[1][1]["kind"] == refresh.DONE and events[1][1]["rows"] == 1


def test_the_runner_stops_on_its_event(platform, monkeypatch):
    engine, stop, first = platform.engine, threading.Event(), threading.Event()
    real = refresh.cycle

    def signalled(*args, **kwargs):
        report = real(*args, **kwargs)
        first.set()
        return report

    monkeypatch.setattr(refresh, "cycle", signalled)
    thread = threading.Thread(target=refresh.run_forever, args=(engine, engine, 3600, stop), daemon=True)
    thread.start()
    assert first.wait(60), "the runner runs a cycle at start"
    stop.set()  # it waits an hour for the next cycle, unless stopped
    thread.join(60)
    assert not thread.is_alive()


def test_the_runner_respects_a_lease_held_by_another_refresher(platform, monkeypatch, caplog):
    engine, stop = platform.engine, threading.Event()
    add_response(platform, 1, DEMO_NOW, [(i, 2) for i in range(1, 10)])
    assert refresh.take_lease(engine, "caseboard-refresh-service", DEMO_NOW, 600)
    reports = stop_after(monkeypatch, stop, cycles=1)
    with caplog.at_level(logging.INFO, logger="caseboard"):
        refresh.run_forever(engine, engine, 0.001, stop, clock=at(DEMO_NOW), settings=TIMING)
    assert [r.status for r in reports] == [refresh.LEASE_HELD]
    with engine.connect() as conn:
        assert conn.scalar(select(response_facts.c.response_id)) is None  # nothing written
    cycles = [r.caseboard_fields for r in caplog.records if r.getMessage() == "refresh_cycle"]
    assert cycles == [{"kind": refresh.LEASE_HELD, "rows": 0, "teams": None, "duration_ms": cycles[0]["duration_ms"]}]


def test_the_runner_refuses_to_start_on_ids_it_cannot_rely_on(db_url, backend, caplog):
    make_responses_table(db_url, backend, "text")
    engine, stop = make_engine(db_url), threading.Event()
    thread = threading.Thread(target=refresh.run_forever, args=(engine, engine, 0.001, stop), daemon=True)
    with caplog.at_level(logging.INFO, logger="caseboard"):
        thread.start()
        thread.join(60)
    assert not thread.is_alive() and not stop.is_set()  # it ended by itself
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith("refresh_")] == ["refresh_refused"]
    engine.dispose()
