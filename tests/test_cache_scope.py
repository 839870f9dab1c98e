"""Cached results never cross users: every cached data function is keyed by the
viewer, and a second clinician in the same server process gets their own
answer, not the first one's cached frame (st.cache_data is process-wide)."""

import inspect

from dashboard.ui import cached
from dashboard.ui.nav import PAGES_DIR
from tests.apptest import logged_in, table_with

CACHED = [
    obj for name, obj in vars(cached).items() if callable(obj) and hasattr(obj, "clear") and not name.startswith("_")
]


def test_every_cached_data_function_is_keyed_by_the_viewer():
    assert len(CACHED) >= 7
    for fn in CACHED:
        params = inspect.signature(fn).parameters
        # Streamlit leaves _-prefixed arguments out of the key: the viewer must not be one.
        assert "viewer" in params, f"{fn.__name__} is cached without the viewer in its key"


def codes_on_my_patients(user: str) -> set[str]:
    at = logged_in(user)
    at.switch_page(str(PAGES_DIR / "my_patients.py")).run()
    assert not at.exception
    return set(table_with(at, "code")["code"])


def test_a_second_clinician_in_the_same_process_gets_their_own_answer(app_platform):
    p = app_platform
    p.patient("A-ONLY", therapist=1, gp=None)
    p.patient("B-ONLY", therapist=2, gp=None)
    cached.my_patients.clear()
    assert codes_on_my_patients("ther.a") == {"A-ONLY"}  # fills the cache for ther.a
    assert codes_on_my_patients("ther.b") == {"B-ONLY"}  # same process, same settings, same database
    assert codes_on_my_patients("ther.a") == {"A-ONLY"}
