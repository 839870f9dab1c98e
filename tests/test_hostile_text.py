"""Hostile text (tests/hostile.py) on every page, for every role, on both
backends (issue 14, finding 4): no element's Markdown carries a live link,
image, directive, icon, HTML, LaTeX or formatting from the data, and every
hostile value is still shown, escaped, as it was stored."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.ui.nav import PAGES, PAGES_DIR, ROLE_PAGES
from tests import hostile
from tests.apptest import logged_in, open_patient, table_state_key

USERS = {"ther.a": "therapist", "gp.a": "gp", "lead.a": "team_lead", "peer.a": "peer_supporter"}
# Plain text or not text (icons are Streamlit's own names, options and widget
# values are shown as typed, a chart spec's tooltips are not Markdown).
PLAIN_FIELDS = {"icon", "options", "default", "value", "spec"}
APP_OWN = {":orange-badge[:material/science: DEMO — synthetic data]"}  # st.badge's own Markdown, no data
# Which hostile fields each role must see in a Markdown element (a table cell
# alone is not enough: it is plain text already). The module title reaches
# tables and select boxes only.
SEEN_BY_ALL = {"PATIENT", "PROGRAMME", "THERAPIST", "GP", "GPNOTE", "ACKNOTE", "PEER", "CONCERNNOTE"}
# The module summary is on the consultation agenda, the patient's GP's and therapist's.
EXPECTED = {
    "ther.a": SEEN_BY_ALL | {"SUMMARY"},
    "gp.a": SEEN_BY_ALL | {"SUMMARY"},
    "lead.a": SEEN_BY_ALL | {"TEAM", "LEAD"},
    # the supporter sees no GP note, no acknowledgement note, and their concern only as its status
    "peer.a": {"PATIENT", "PROGRAMME", "THERAPIST"},
}


@pytest.fixture
def corpus(app_platform):
    return app_platform, hostile.build(app_platform)


def _nodes(node) -> Iterator:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _nodes(child)


def _strings(message, path: str = "") -> Iterator[tuple[str, str]]:
    for field, value in message.ListFields():
        if field.name in PLAIN_FIELDS:
            continue
        for item in list(value) if field.is_repeated else [value]:
            if field.type == field.TYPE_MESSAGE:
                yield from _strings(item, f"{path}.{field.name}")
            elif field.type == field.TYPE_STRING:
                yield f"{path}.{field.name}", item


def markdown_sources(at: AppTest) -> list[tuple[str, str]]:
    """(element and field, text) of every string the page sends that the browser
    renders as Markdown: bodies, labels, help texts, captions, alerts, toasts,
    expander labels, metric labels... st.html is the app's own style sheet."""
    found = []
    for node in _nodes(at._tree):
        proto = getattr(node, "proto", None)
        if proto is None or type(node).__name__ == "Html":
            continue
        found += [(f"{type(node).__name__}{path}", text) for path, text in _strings(proto)]
    return found


def visits(user: str, ids: dict[str, int]) -> Iterator[tuple[str, AppTest]]:
    """Every page of the role, the triage, contact and follow-up forms open on the
    hostile patient, and both hostile patients' pages."""
    at = logged_in(user)
    for page in ROLE_PAGES[USERS[user]]:
        at.switch_page(str(PAGES_DIR / PAGES[page][0])).run()
        yield page, at
    if USERS[user] == "gp":
        at.switch_page(str(PAGES_DIR / PAGES["followups"][0])).run()
        at.session_state[table_state_key(at, "due_table_")] = {"selection": {"rows": [0], "columns": [], "cells": []}}
        yield "followups with the form open", at.run()
    elif USERS[user] == "peer_supporter":
        at.session_state["contact_patient"] = ids[hostile.CODE]
        yield "contact with the patient open", at.switch_page(str(PAGES_DIR / PAGES["contact"][0])).run()
    else:
        at.session_state["triage_patient"] = hostile.CODE
        yield "triage with the patient open", at.switch_page(str(PAGES_DIR / PAGES["triage"][0])).run()
    yield "patient", open_patient(user, hostile.CODE)
    if USERS[user] != "peer_supporter":  # not in a supporter's care
        yield "patient with a hostile status", open_patient(user, hostile.STATUS_CODE)


@pytest.mark.parametrize("user", sorted(USERS))
def test_hostile_text_is_shown_escaped_on_every_page(corpus, user):
    platform, ids = corpus
    shown = []
    for name, at in visits(user, ids):
        assert not at.exception, (name, at.exception)
        sources = markdown_sources(at)
        assert sources, f"{name} rendered nothing"
        for where, source in sources:
            if source in APP_OWN:
                continue
            problems = hostile.markdown_problems(source)
            assert not problems, f"{name}: {where} carries {problems}: {source[:160]!r}"
            shown.append(hostile.plain(source))
    text = "\n".join(shown)
    for label in EXPECTED[user]:  # escaped, not dropped: it reads as stored
        assert hostile.as_read(hostile.FIELDS[label]) in text, label
    if user != "peer.a":
        assert hostile.as_read(hostile.STATUS) in text


@pytest.mark.parametrize("user", sorted(USERS))
def test_the_patient_title_reads_exactly_as_the_code_and_name(corpus, user):
    at = open_patient(user, hostile.CODE)
    assert not at.exception, at.exception
    assert hostile.plain(at.title[0].value) == hostile.as_read(f"{hostile.CODE} · {hostile.FIELDS['PATIENT']}")


def test_the_platform_link_carries_the_code_percent_encoded(corpus, monkeypatch):
    monkeypatch.setenv("DASHBOARD_PLATFORM_URL", "https://icbt.example/patients/{code}/messages")
    at = logged_in("ther.a")
    table = at.dataframe[0].value if "thread" in at.dataframe[0].value else at.dataframe[1].value
    link = table.loc[table["code"] == hostile.CODE, "thread"].iloc[0]
    assert (
        link
        == "https://icbt.example/patients/%5BP1%5D%28http%3A%2F%2Fevil%29%3Agreen%5Bok%5D%21%5Bi%5D%28http%3A%2F%2Fevil%2Fi%29/messages"
    )
