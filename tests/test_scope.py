"""Scope in the data layer: each demo user sees exactly their own patients."""

import pandas as pd
import pytest
from sqlalchemy import select

from dashboard import flags
from dashboard import my_patients as my_patients_data
from dashboard.config import Settings
from dashboard.engine import make_engine
from dashboard.measures import INSTRUMENTS
from dashboard.my_patients import COLUMNS, my_patients
from dashboard.schema import clinicians, patients
from dashboard.scope import Viewer, load_viewer
from tests.conftest import DEMO_NOW

EXPECTED_ROLES = {
    "gp1": "gp",
    "gp2": "gp",
    "therapist1": "therapist",
    "therapist2": "therapist",
    "lead1": "team_lead",
    "lead2": "team_lead",
}
OWNING_COLUMN = {"gp": "gp_id", "therapist": "therapist_id", "team_lead": "team_id"}


@pytest.mark.parametrize("username", sorted(EXPECTED_ROLES))
def test_each_demo_user_sees_exactly_their_patients(demo_db, username):
    engine = make_engine(demo_db)
    viewer = load_viewer(engine, username)
    assert viewer is not None and viewer.role == EXPECTED_ROLES[username]
    owner = viewer.team_id if viewer.role == "team_lead" else viewer.clinician_id
    with engine.connect() as conn:
        expected = set(conn.scalars(select(patients.c.code).where(patients.c[OWNING_COLUMN[viewer.role]] == owner)))
        everyone = set(conn.scalars(select(patients.c.code)))
    shown = my_patients(engine, viewer, DEMO_NOW)
    assert list(shown.columns) == COLUMNS
    assert set(shown["code"]) == expected and len(shown) == len(expected) > 0
    assert everyone - expected, "the demo must have patients outside every viewer's scope"


def test_unknown_login_and_unknown_role_see_nothing(demo_db):
    engine = make_engine(demo_db)
    assert load_viewer(engine, "nobody") is None
    with engine.connect() as conn:
        some = conn.execute(select(clinicians).limit(1)).first()
    stranger = Viewer(some.id, some.username, some.display_name, "receptionist", some.team_id)
    assert my_patients(engine, stranger, DEMO_NOW).empty
    lead_without_team = Viewer(some.id, some.username, some.display_name, "team_lead", None)
    assert my_patients(engine, lead_without_team, DEMO_NOW).empty


def test_my_patients_facts_are_consistent(demo_db):
    engine = make_engine(demo_db)
    frame = my_patients(engine, load_viewer(engine, "lead1"), DEMO_NOW)
    assert (frame["days_since_activity"] >= 0).all()
    assert (frame["modules_completed"] <= frame["modules_total"]).all()
    assert (frame["last_activity_at"] <= DEMO_NOW).all()
    # a baseline questionnaire may precede enrolment by up to 14 days (docs/design.md, treatment clock)
    assert (frame["last_activity_at"] >= frame["enrolled_at"] - pd.Timedelta(days=14)).all()
    scored = frame.dropna(subset=["latest_score"])
    assert len(scored) > 0.9 * len(frame)
    # PDSS and SPIN have no bands (clinical-reference 4): every other primary score has one
    banded = scored["primary_instrument"].map(lambda code: bool(INSTRUMENTS[code].bands))
    assert scored.loc[banded, "latest_band"].notna().all() and banded.sum() < len(scored)
    finished = frame[frame["current_module"].isna()]
    assert (finished["modules_completed"] == finished["modules_total"]).all()


def test_the_same_prepared_statement_serves_each_viewer_their_own_patients(demo_db):
    """Statements are built once per role (dashboard.statements) and the viewer's id
    is a parameter: alternating two therapists and two GPs, each still gets exactly
    their own list and triage inputs, and no statement is kept per viewer."""
    engine = make_engine(demo_db)
    viewers = [load_viewer(engine, u) for u in ("therapist1", "gp1", "therapist2", "gp2", "therapist1")]
    for viewer in viewers:
        owner = viewer.team_id if viewer.role == "team_lead" else viewer.clinician_id
        with engine.connect() as conn:
            expected = set(conn.scalars(select(patients.c.id).where(patients.c[OWNING_COLUMN[viewer.role]] == owner)))
        assert set(my_patients(engine, viewer, DEMO_NOW)["patient_id"]) == expected
        inputs = flags.load_inputs(engine, viewer, DEMO_NOW, Settings())
        assert set(inputs.patients["patient_id"]) == expected
        assert set(inputs.responses["patient_id"]) <= expected
    assert my_patients_data._list_statements.cache_info().currsize <= 2 * 3  # roles x shapes, whatever the viewers
