"""The embedded demo's refresher, in the app's own process (issue 17: the demo needs
no extra process). One daemon thread per process and state database runs
``refresh.run_forever``: a cycle at start, then every ``refresh_every_seconds``. It
takes the same lease as ``caseboard refresh``, so a separate refresher and the app
never both work. Streamlit re-executes app.py on every run but imports this module
once, so the guard below is per process (st.cache_resource would start a second
thread after "Clear cache")."""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from dashboard import refresh
from dashboard.config import Config

_lock = threading.Lock()
_started: dict[str, threading.Event] = {}  # state database URL -> the thread's stop event


def start_in_process(config: Config, platform: Engine, state: Engine) -> threading.Event | None:
    """Start the refresher thread if the configuration asks for one and this process
    has none yet for this state database; its stop event (None when not asked for).
    A thread that ended (refused at start, or stopped) is not started again."""
    if not config.refreshes_in_process:
        return None
    with _lock:
        if config.state_db_url not in _started:
            stop = threading.Event()
            threading.Thread(
                target=refresh.run_forever,
                args=(platform, state, float(config.settings.refresh_every_seconds), stop),
                kwargs={"teams": refresh.TeamFigures(config.settings, config.timezone)},
                name="caseboard-refresher",
                daemon=True,
            ).start()
            _started[config.state_db_url] = stop
        return _started[config.state_db_url]
