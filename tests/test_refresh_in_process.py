"""The embedded demo's refresher runs in the app's own process (dashboard/ui/refresher.py):
one thread per process, only for the embedded demo in one file, off at 0 seconds."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from dashboard import config, refresh
from dashboard.config import Settings, load_config
from dashboard.engine import make_engine
from dashboard.ui import refresher


@pytest.fixture
def embedded(tmp_path, monkeypatch):
    """The embedded demo's configuration on a file of this test, and a fake thread body
    that records each start and ends when stopped."""
    monkeypatch.setattr(config, "DEMO_DB_PATH", tmp_path / "demo.sqlite")
    monkeypatch.setattr(refresher, "_started", {})
    for var in ("DASHBOARD_DB_URL", "DASHBOARD_MODE", "DASHBOARD_STATE_DB_URL", "DASHBOARD_SETTINGS"):
        monkeypatch.delenv(var, raising=False)
    starts: list[float] = []

    def body(platform, state, every, stop, teams=None):
        assert teams == refresh.TeamFigures(cfg.settings, cfg.timezone)  # the app's: it keeps the team snapshots
        starts.append(every)
        stop.wait()

    monkeypatch.setattr(refresh, "run_forever", body)
    cfg = load_config(secrets={})
    engine = make_engine(cfg.db_url)
    yield cfg, engine, starts
    for stop in refresher._started.values():
        stop.set()
    engine.dispose()


def test_the_embedded_demo_starts_one_refresher_per_process(embedded):
    cfg, engine, starts = embedded
    assert cfg.refreshes_in_process
    stops = {refresher.start_in_process(cfg, engine, engine) for _ in range(3)}  # three page runs
    threads = [t for t in threading.enumerate() if t.name == "caseboard-refresher" and t.is_alive()]
    assert len(stops) == 1 and starts == [60.0] and len(threads) == 1
    (stop,) = stops
    stop.set()
    threads[0].join(30)
    assert not threads[0].is_alive()
    assert refresher.start_in_process(cfg, engine, engine) is stop and starts == [60.0]  # not started again


def test_no_refresher_in_the_app_at_0_seconds_or_beside_a_database_of_its_own(embedded, tmp_path):
    cfg, engine, starts = embedded
    off = replace(cfg, settings=Settings({**cfg.settings.values, "refresh_every_seconds": 0}))
    own_state = replace(cfg, state_db_url=f"sqlite:///{tmp_path}/state.sqlite")
    production = replace(
        cfg, db_url=f"sqlite:///{tmp_path}/platform.sqlite", state_db_url=f"sqlite:///{tmp_path}/platform.sqlite"
    )
    for other in (off, own_state, production):
        assert not other.refreshes_in_process
        assert refresher.start_in_process(other, engine, engine) is None
    assert starts == []
