"""Two patient records with one code (a platform view need not enforce UNIQUE; issue
14, finding 19): a row opens the record it shows, triage works on the record by id,
a link by the code alone asks which record, and the data-quality note says so.
AppTest on both backends."""

from datetime import UTC, datetime

import pytest

from dashboard import db
from dashboard.config import Settings
from dashboard.engine import make_engine
from dashboard.quality import data_quality
from dashboard.scope import load_viewer
from dashboard.ui.nav import PAGES_DIR
from tests.apptest import logged_in, open_patient, shown_text, table_state_key, table_with
from tests.baddata import BadPlatform
from tests.conftest import production_env


@pytest.fixture
def twins(db_url, monkeypatch, tmp_path):
    """TWIN in depression (risk answer) and TWIN in insomnia (awaiting reply), both ther.a's,
    on a platform whose patients table (a view) has no UNIQUE code, served in production mode."""
    app_platform = BadPlatform(make_engine(db_url), datetime.now(UTC).replace(tzinfo=None, microsecond=0))
    db.upgrade(app_platform.engine)
    production_env(monkeypatch, tmp_path, app_platform.engine, db_url)
    first = app_platform.patient("TWIN", program="depression", enrolled_days_ago=10)
    app_platform.phq9(first, 1, 14, item9=2)
    second = app_platform.patient("TWIN", program="insomnia", enrolled_days_ago=10)
    app_platform.message(second, 3, "from_patient")
    return app_platform, first, second


def test_the_data_quality_note_names_the_shared_code(twins):
    platform, first, second = twins
    found = data_quality(
        platform.engine,
        load_viewer(platform.engine, "ther.a"),
        datetime.now(UTC).replace(tzinfo=None),
        Settings(),
    )
    row = found.set_index("check").loc["code_duplicate"]
    assert row["patients"] == 2 and row["codes"] == ["TWIN", "TWIN"]


def test_a_link_by_the_code_alone_asks_which_record(twins):
    at = open_patient("ther.a", "TWIN")
    assert any("2 patient records in your caseload share this code" in e.value for e in at.error)
    labels = [b.label for b in at.button if b.label.startswith("TWIN")]
    assert (
        len(labels) == 2
        and any("Depression" in label for label in labels)
        and any("Insomnia" in label for label in labels)
    )
    assert "Outcomes" not in [s.value for s in at.subheader]  # no record shown until one is chosen


@pytest.mark.parametrize("which", [0, 1])
def test_the_record_chosen_opens_that_record(twins, which):
    platform, first, second = twins
    pid = (first, second)[which]
    at = logged_in("ther.a")
    at.query_params["patient"] = "TWIN"
    at.query_params["record"] = str(pid)
    at.switch_page(str(PAGES_DIR / "patient.py")).run()
    assert not at.exception
    programme = ("Depression", "Insomnia")[which]
    assert programme in shown_text(at) and ("Insomnia", "Depression")[which] not in at.markdown[1].value


def test_triage_works_on_the_selected_record_by_id(twins):
    platform, first, second = twins
    at = logged_in("ther.a")
    assert table_with(at, "code", "why")["code"].tolist() == ["TWIN", "TWIN"]
    at.session_state[table_state_key(at, "triage_table_")] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    assert at.session_state["triage_patient"] == second
    reasons = [c.label for c in at.checkbox]  # the handling dialog's reasons: the second record's
    assert any(r.startswith("**Awaiting reply**") for r in reasons)
    assert not any(r.startswith("**Risk answer**") for r in reasons)
