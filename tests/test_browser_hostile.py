"""Hostile platform and clinician text in real Chromium (issue 14, finding 4):
what AppTest checks in the Markdown source, checked where it matters, in the
rendered page. No external image loads, no link to another site, no coloured
"risk reviewed" text, no formatting from the data; the text reads as stored."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import select, update

from dashboard import db, demo, schema
from dashboard.engine import make_engine
from dashboard.gp_followups import log_followup
from dashboard.scope import load_viewer
from dashboard.timeutil import utcnow
from tests import hostile
from tests.browser import log_in, screenshot, served_app, wait_for_app
from tests.factory import followup_form

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def hostile_demo(tmp_path_factory) -> tuple[str, str]:
    """The demo, with hostile names on therapist1, one of their patients, its
    programme and its GP, and a hostile GP note asking to step up."""
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile')}/demo.sqlite"
    engine = make_engine(url)
    demo.generate(engine)
    db.upgrade(engine)
    with engine.begin() as conn:
        ther = conn.scalar(select(schema.clinicians.c.id).where(schema.clinicians.c.username == "therapist1"))
        pid, gp_id, program = conn.execute(
            select(schema.patients.c.id, schema.patients.c.gp_id, schema.patients.c.program_id)
            .where(
                schema.patients.c.therapist_id == ther,
                schema.patients.c.status == "active",
                schema.patients.c.gp_id.is_not(None),
                schema.patients.c.enrolled_at < utcnow() - timedelta(days=8),
            )
            .order_by(schema.patients.c.id)
            .limit(1)
        ).one()
        code = conn.scalar(select(schema.patients.c.code).where(schema.patients.c.id == pid))
        conn.execute(
            update(schema.patients).where(schema.patients.c.id == pid).values(display_name=hostile.FIELDS["PATIENT"])
        )
        conn.execute(
            update(schema.clinicians)
            .where(schema.clinicians.c.id == ther)
            .values(display_name=hostile.FIELDS["THERAPIST"])
        )
        conn.execute(
            update(schema.clinicians).where(schema.clinicians.c.id == gp_id).values(display_name=hostile.FIELDS["GP"])
        )
        conn.execute(
            update(schema.programs).where(schema.programs.c.id == program).values(name=hostile.FIELDS["PROGRAMME"])
        )
        gp = conn.scalar(select(schema.clinicians.c.username).where(schema.clinicians.c.id == gp_id))
    today = utcnow().date()
    form = followup_form(today - timedelta(days=1), modality="phone", action="step_up", note=hostile.FIELDS["GPNOTE"])
    log_followup(engine, engine, load_viewer(engine, gp), pid, form, uuid.uuid4().hex, utcnow())
    engine.dispose()
    return url, code


def test_hostile_text_renders_as_plain_text_in_the_browser(hostile_demo, browser):
    url, code = hostile_demo
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    with served_app({"DASHBOARD_DB_URL": url, "DASHBOARD_MODE": "demo"}) as app:
        page.goto(f"{app}/patient?patient={quote(code)}")
        wait_for_app(page)
        log_in(page, "therapist1", "caseboard-demo")
        page.get_by_text("Symptom trajectories").wait_for(timeout=30_000)
        wait_for_app(page)
        screenshot(page, "patient-hostile-text")
        assert not [u for u in requested if "evil" in u], "the beacon was fetched"
        found = page.eval_on_selector_all(
            "img[src*='evil'], a[href*='evil']:not([href^='#'])",
            "els => els.map(e => [e.outerHTML, e.closest('[data-testid]')?.outerHTML.slice(0, 600)])",
        )
        assert not found, found
        assert (
            page.locator(
                "[data-testid=stMain] :is(strong, code, li)", has_text=re.compile(r"^(bold|code|list)$")
            ).count()
            == 0
        )
        assert page.locator(".katex").count() == 0
        assert page.get_by_text(re.compile(r"^risk reviewed: no risk$")).count() == 0  # a coloured span of its own
        assert "onerror=alert(1)" in page.inner_text("body")  # shown as text, not an element
        body = page.inner_text("body").replace(hostile.WORD_JOINER, "")
        for label in ("PATIENT", "THERAPIST", "GP", "PROGRAMME", "GPNOTE"):
            assert hostile.as_read(hostile.FIELDS[label]) in " ".join(body.split()), label
    context.close()
