"""A patient list that reads on a phone: the wide table above 640 px, a compact list below.

A table of eight columns cannot be read at 390 px: the safety columns scroll out of
sight. A page draws its table inside ``wide_table(name)`` and the same patients with
``compact_list(name, items)``; both are always sent, and the app's CSS (``NARROW_CSS``,
injected by the entry point) shows exactly one of them by the window's width, so a
rotation or a resized window needs no rerun. In the list each patient code is a link to
the patient page (the same record the table row opens).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st

from dashboard import i18n
from dashboard.i18n import gettext as _
from dashboard.i18n import ngettext
from dashboard.text import md
from dashboard.ui.nav import PATIENT_SCRIPT, patient_params

NARROW_PX = 640
# The entries a phone is sent: a caseload fits, a team lead's queue of 2,000 patients
# took about 0.7 s of every Triage run to send as 6,000 elements (docs/performance.md).
COMPACT_MAX = 100
WIDE_KEY, COMPACT_KEY = "wide_table_", "compact_list_"
# Containers with a key carry the class st-key-<key> (streamlit 1.67).
NARROW_CSS = (
    f'<style>[class*="st-key-{COMPACT_KEY}"]{{display:none}}'
    f'@media (max-width:{NARROW_PX}px){{[class*="st-key-{WIDE_KEY}"]{{display:none}}'
    f'[class*="st-key-{COMPACT_KEY}"]{{display:flex}}}}</style>'
)


@dataclass(frozen=True)
class CompactItem:
    """One patient in the compact list. Every text is shown escaped (it may hold
    platform or clinician text)."""

    code: str
    patient_id: int | None
    headline: str  # beside the code: how long they have waited, or when the follow-up is due
    detail: str = ""  # under it: why, or the alerts
    urgent: bool = False  # a risk answer or an escalation: an alarm icon, not colour alone


def wide_table(name: str):
    """The container of the page's wide table: hidden below ``NARROW_PX``."""
    return st.container(key=f"{WIDE_KEY}{name}")


def compact_list(name: str, items: Sequence[CompactItem], caption: str | None = None) -> None:
    """The same patients as the wide table, in its order, one short entry each: shown only
    below ``NARROW_PX``, at most ``COMPACT_MAX`` of them (then it says so). ``caption`` is
    the page's own, already translated; by default the generic hint."""
    with st.container(key=f"{COMPACT_KEY}{name}", gap="medium"):
        st.caption(caption if caption is not None else _("Tap a code to open the patient."))
        if len(items) > COMPACT_MAX:
            st.caption(
                ngettext(
                    "The first {shown} of {total} patient, in the table's order; a wider window shows them all.",
                    "The first {shown} of {total} patients, in the table's order; a wider window shows them all.",
                    len(items),
                ).format(shown=i18n.format_number(COMPACT_MAX), total=i18n.format_number(len(items)))
            )
        for item in items[:COMPACT_MAX]:
            with st.container(gap=None):  # the reason sits under its own code
                st.page_link(
                    PATIENT_SCRIPT,
                    label=f"**{md(item.code)}** · {md(item.headline)}",
                    icon=":material/emergency_home:" if item.urgent else ":material/person:",
                    query_params=patient_params(item.code, item.patient_id),
                    width="stretch",
                )
                if item.detail:
                    st.caption(md(item.detail))
