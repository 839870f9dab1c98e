"""A corpus of hostile text (issue 14, finding 4), beside tests/baddata.py: every
platform and clinician text field the pages interpolate, each holding Markdown,
Streamlit directives, HTML, LaTeX and bare links; plus the checks that an
element's Markdown carries none of that syntax unescaped and still reads as typed.

Each value starts with its own label (CODE, PATIENT, ...) so a test can say
which field reached which element.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from sqlalchemy import update

from dashboard import schema
from dashboard.acks import Choice, acknowledge_batch, evidence_keys
from dashboard.concerns import record_concern
from dashboard.config import Settings
from dashboard.gp_followups import log_followup
from dashboard.scope import load_viewer
from dashboard.text import WORD_JOINER
from dashboard.triage import triage
from tests.factory import Platform, followup_form, module_id

# Platform names are at most 200 characters (PostgreSQL enforces it); notes take more.
ATTACKS = (
    "![x](http://evil/b.png) [Session expired — log in again](http://evil) :green[risk reviewed: no risk] "
    "<img src=x onerror=alert(1)> **bold** `code` $x$ :material/check: :smile:\n\n- list"
)
NOTE_ATTACKS = " www.evil.example nurse@evil.example &#58;smile&#58; <http://evil> | a | b |\n---"


def hostile(label: str) -> str:
    """A heading marker first (only a line start makes one), then every attack."""
    return f"# {label} {ATTACKS}" + (NOTE_ATTACKS if label.endswith("NOTE") else "")


# patients.code is at most 50 characters and patients.status 20.
CODE = "[P1](http://evil):green[ok]![i](http://evil/i)"
STATUS_CODE = "STATUS-P"
STATUS = ":green[ok]![i](x)"
FIELDS = {  # label: value, as stored
    "PATIENT": hostile("PATIENT"),
    "THERAPIST": hostile("THERAPIST"),
    "GP": hostile("GP"),
    "LEAD": hostile("LEAD"),
    "TEAM": hostile("TEAM"),
    "PROGRAMME": hostile("PROGRAMME"),
    "MODULE": hostile("MODULE"),
    "SUMMARY": hostile("SUMMARY"),  # module 2's, on the GP's consultation agenda
    "GPNOTE": hostile("GPNOTE"),
    "ACKNOTE": hostile("ACKNOTE"),
    "PEER": hostile("PEER"),  # the peer supporter's display name
    # a peer supporter's concern (dashboard.concerns), in the therapist's triage and the patient page
    "CONCERNNOTE": hostile("CONCERNNOTE") + " <script>alert(1)</script> [a](javascript:alert(1)) :red[danger] **x**",
}


def build(p: Platform) -> dict[str, int]:
    """The hostile names on the factory's team 1, clinicians and depression
    programme; a patient of ther.a and gp.a with a hostile code and name, a
    risk answer acknowledged with a hostile note, a GP follow-up asking to step
    up with a hostile note, and a module completed since (due again), in the care
    of peer.a (a hostile name) who recorded a concern with a hostile note; and a
    patient whose status is hostile. Returns patient ids by code."""
    with p.engine.begin() as conn:
        conn.execute(update(schema.teams).where(schema.teams.c.id == 1).values(name=FIELDS["TEAM"]))
        for username, label in (("ther.a", "THERAPIST"), ("gp.a", "GP"), ("lead.a", "LEAD"), ("peer.a", "PEER")):
            conn.execute(
                update(schema.clinicians)
                .where(schema.clinicians.c.username == username)
                .values(display_name=FIELDS[label])
            )
        conn.execute(update(schema.programs).where(schema.programs.c.id == 1).values(name=FIELDS["PROGRAMME"]))
        conn.execute(
            update(schema.modules)
            .where(schema.modules.c.id == module_id("depression", 1))
            .values(title=FIELDS["MODULE"])
        )
        conn.execute(
            update(schema.modules)
            .where(schema.modules.c.id == module_id("depression", 2))
            .values(summary=FIELDS["SUMMARY"])
        )
    pid = p.patient(CODE, enrolled_days_ago=40, display_name=FIELDS["PATIENT"])
    p.module(pid, "depression", 1, 39, 30)
    p.module(pid, "depression", 2, 29, 5)
    p.module(pid, "depression", 3, 4)
    p.phq9(pid, 35, 18)
    p.phq9(pid, 3, 15, item9=2)
    p.message(pid, 2, "from_patient")
    gp = load_viewer(p.engine, "gp.a")
    held_on = (p.now - timedelta(days=20)).date()
    form = followup_form(held_on, modality="phone", module_position=1, action="step_up", note=FIELDS["GPNOTE"])
    log_followup(p.engine, p.engine, gp, pid, form, uuid.uuid4().hex, p.now)
    therapist = load_viewer(p.engine, "ther.a")
    shown = triage(p.engine, p.engine, therapist, p.now, Settings()).open_flags
    seen = frozenset(evidence_keys(shown[(shown["patient_id"] == pid) & (shown["flag"] == "risk")]))
    acknowledge_batch(p.engine, p.engine, therapist, pid, [Choice("risk", seen, FIELDS["ACKNOTE"])], p.now, Settings())
    p.care(pid, 11, started_days_ago=40)
    peer = load_viewer(p.engine, "peer.a")
    record_concern(p.engine, p.engine, peer, pid, FIELDS["CONCERNNOTE"], uuid.uuid4().hex, p.now, Settings())
    other = p.patient(STATUS_CODE, enrolled_days_ago=20)
    with p.engine.begin() as conn:
        conn.execute(update(schema.patients).where(schema.patients.c.id == other).values(status=STATUS))
    return {CODE: pid, STATUS_CODE: other}


# ---------------------------------------------------------------- checks

_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
# Syntax that must never survive unescaped in text built from these fields. The
# pages' own Markdown uses bold and nothing of this.
_ACTIVE = {
    "link or image": re.compile(r"!?\[[^\]]*\]\s*[(\[:]"),
    "raw HTML": re.compile(r"<[A-Za-z/!?]"),
    "directive": re.compile(r":[A-Za-z][\w-]*\["),
    "icon or emoji shortcode": re.compile(r":(material/\w+|[\w+-]*[A-Za-z][\w+-]*):"),
    "bare link": re.compile(r"https?://|www\.|\w@\w", re.IGNORECASE),
    "LaTeX": re.compile(r"\$[^$]+\$"),
    "inline code": re.compile(r"`"),
    "entity": re.compile(r"&(#\d+|#x[0-9a-f]+|\w+);", re.IGNORECASE),
    "bold from data": re.compile(r"\*\*bold"),
    "line start from data": re.compile(r"\n\s*(- list|# [A-Z])"),
}


def markdown_problems(source: str) -> list[str]:
    """The kinds of live syntax in ``source`` once its backslash escapes are set
    aside (an escaped character is shown, not interpreted)."""
    live = _ESCAPED.sub("", source)
    return [kind for kind, pattern in _ACTIVE.items() if pattern.search(live)]


def plain(source: str) -> str:
    """What a reader sees of escaped Markdown text: escapes and word joiners gone,
    whitespace runs read as one space."""
    return " ".join(_ESCAPED.sub(r"\1", source.replace(WORD_JOINER, "")).split())


def as_read(value: str) -> str:
    """The stored value as it should read in one line of Markdown."""
    return " ".join(value.split())
