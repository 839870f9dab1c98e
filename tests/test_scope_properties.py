"""Access control, proven by property: for generated caseloads, every data
function, called by every clinician of every role, returns no patient outside
that clinician's scope (docs/design.md, Roles and scope), on SQLite and PostgreSQL.

Scope: a GP sees patients whose ``gp_id`` is theirs, a therapist those whose
``therapist_id`` is theirs, a team lead every patient of their team. Each
generated patient has a risk answer, a message and a completed module, so they
appear in every list that could leak them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from dashboard import agenda, audit, caseload, db, followups_due, quality, schema, triage
from dashboard import my_patients as my_patients_data
from dashboard import patient as patient_data
from dashboard.config import Settings
from dashboard.engine import make_engine
from dashboard.scope import load_viewer
from dashboard.state_tables import metadata as state_metadata
from tests.conftest import BACKENDS, fresh_database_url
from tests.factory import CLINICIANS, Platform

NOW = datetime(2026, 3, 10, 12, 0)
UTC = ZoneInfo("UTC")
VIEWERS = [username for _id, username, _name, _role, _team in CLINICIANS]
TEAM_OF = {cid: team for cid, _u, _n, _r, team in CLINICIANS}
EXAMPLES = 15  # per backend; each example checks every viewer against every data function
CASES: dict[str, int] = {}  # scope checks made, counted for the closing note

patient_rows = st.fixed_dictionaries(
    {
        "therapist": st.sampled_from([1, 2, 7, None]),
        "gp": st.sampled_from([3, 4, None]),
        "team": st.sampled_from([1, 2]),
        "program": st.sampled_from(["depression", "anxiety"]),
        "status": st.sampled_from(["active", "active", "completed", "withdrawn"]),
        "enrolled": st.integers(20, 150),
    }
)


@pytest.fixture(scope="module", params=BACKENDS)
def platform(request, tmp_path_factory):
    gen = fresh_database_url(request.param, tmp_path_factory.mktemp("scope"))
    url = next(gen)
    p = Platform(make_engine(url), NOW)
    db.upgrade(p.engine)
    yield p
    p.engine.dispose()
    gen.close()


def reset(p: Platform) -> None:
    with p.engine.begin() as conn:
        for table in (
            schema.response_items,
            schema.responses,
            schema.messages,
            schema.activity,
            schema.module_progress,
            schema.patients,
            *reversed(state_metadata.sorted_tables),
        ):
            if table.name != "dash_alembic_version":
                conn.execute(delete(table))


def build(p: Platform, rows: list[dict]) -> dict[str, dict]:
    """The generated patients; returns code -> row (with its id)."""
    out = {}
    for i, row in enumerate(rows):
        code = f"S{i:03d}"
        ended = None if row["status"] == "active" else 5.5
        therapist = row["therapist"] if row["therapist"] is None or TEAM_OF[row["therapist"]] == row["team"] else None
        pid = p.patient(
            code,
            program=row["program"],
            therapist=therapist,
            gp=row["gp"],
            team=row["team"],
            enrolled_days_ago=row["enrolled"],
            status=row["status"],
            ended_days_ago=ended,
        )
        p.module(pid, row["program"], 1, row["enrolled"] - 1, row["enrolled"] - 8)
        p.message(pid, 3.2, "from_patient")
        p.phq9(pid, 4.1, 15, item9=2)
        p.gad7(pid, 4.1, 12)
        p.activity(pid, -3)  # a future-dated row: every patient has a data-quality note to leak
        for actor in ("gp.a", "ther.c"):  # clinicians of both teams open records of any team in the trail
            audit.record(p.engine, actor, "open_record", pid)
        out[code] = {**row, "therapist": therapist, "id": pid}
    return out


def in_scope(viewer, row: dict) -> bool:
    if viewer.role == "gp":
        return row["gp"] == viewer.clinician_id
    if viewer.role == "therapist":
        return row["therapist"] == viewer.clinician_id
    return row["team"] == viewer.team_id


def check(name: str, shown: set, allowed: set) -> None:
    CASES[name] = CASES.get(name, 0) + 1
    assert shown <= allowed, f"{name} leaked {sorted(shown - allowed)}"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(patient_rows, min_size=1, max_size=8))
def test_no_data_function_returns_a_patient_outside_the_viewers_scope(platform, rows):
    reset(platform)
    made = build(platform, rows)
    code_of = {r["id"]: code for code, r in made.items()}
    engine, s = platform.engine, Settings()
    for username in VIEWERS:
        viewer = load_viewer(engine, username)
        allowed_codes = {code for code, r in made.items() if in_scope(viewer, r)}

        listed = my_patients_data.my_patients(engine, viewer, NOW, s)
        assert set(listed["code"]) == allowed_codes  # exactly the scope, not merely within it
        check("my_patients", set(listed["code"]), allowed_codes)

        noted = quality.data_quality(engine, viewer, NOW, s)
        noted_codes = {c for codes in noted["codes"] for c in codes}
        assert noted_codes == allowed_codes  # each has its future row: exactly the scope
        check("data_quality", noted_codes, allowed_codes)

        queue = triage.triage(engine, engine, viewer, NOW, s)
        check("triage.queue", set(queue.queue["code"]), allowed_codes)
        check("triage.flags", {code_of[i] for i in queue.open_flags["patient_id"]}, allowed_codes)
        check("triage.responses", {code_of[i] for i in queue.responses["patient_id"]}, allowed_codes)

        for code, row in made.items():  # every record, by code and by id: only the scope opens
            CASES["patient"] = CASES.get("patient", 0) + 2
            assert (patient_data.find_patient(engine, viewer, code) is not None) == (code in allowed_codes)
            assert (patient_data.find_patient_by_id(engine, viewer, row["id"]) is not None) == (code in allowed_codes)

        for code, row in made.items():  # the consultation agenda: the GP's and therapist's own patients only
            CASES["agenda"] = CASES.get("agenda", 0) + 1
            try:
                built = agenda.build(engine, engine, viewer, row["id"], NOW, s, UTC).patient.code
            except agenda.AgendaRefused:
                built = None
            assert (built == code) == (code in allowed_codes and viewer.role in agenda.MAY_VIEW)

        if viewer.role == "gp":
            listed_due = followups_due.due_list(engine, engine, viewer, NOW, s, UTC)
            check("due_list", set(listed_due.due["code"]), allowed_codes)

        if viewer.role == "team_lead":
            f = caseload.Filters(NOW - timedelta(days=90), NOW)
            result = caseload.caseload(engine, engine, viewer, f, s, UTC, queue)
            check("caseload.lapsed", set(result.lapsed["code"]), allowed_codes)
            open_now = sum(1 for c in allowed_codes if made[c]["status"] == "active")
            headline = result.headline.set_index("figure")
            CASES["caseload.aggregates"] = CASES.get("caseload.aggregates", 0) + 1
            assert headline.loc["open_episodes", "value"] == open_now
            assert result.workload["caseload"].sum() == open_now
            assert result.adherence["enrolled"].sum() == len(allowed_codes)
            assert headline.loc["open_triage_items", "numerator"] == len(queue.open_flags)
            trail = audit.team_trail(engine, engine, viewer, datetime(2000, 1, 1), datetime(2100, 1, 1))
            check("audit.team_trail", set(trail["patient"].dropna()), allowed_codes)


def test_zz_report_scope_cases(capsys):
    """Prints how many scope checks ran (the closing note quotes it)."""
    with capsys.disabled():
        print(f"\nscope checks: {sum(CASES.values())} ({', '.join(f'{k} {v}' for k, v in sorted(CASES.items()))})")
    assert not CASES or sum(CASES.values()) > 0
