"""Small display helpers shared by pages (formatting only, no data access)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.flags import FLAG_KINDS, HIGH_RISK_PRIORITY, title
from dashboard.i18n import N_
from dashboard.i18n import gettext as _
from dashboard.measures import band_words
from dashboard.text import md

# Marked for the catalogs; a page translates them where it shows them (``gettext``).
STATUS_LABELS = {"active": N_("Active"), "completed": N_("Completed"), "withdrawn": N_("Withdrawn")}


def score_with_band(score: object, band: object, prorated: object) -> str:
    """'14 · moderate' (prorated scores say so), the band in the run's language; a
    note when there is no valid score."""
    if score is None or pd.isna(score):
        return _("no valid score yet")
    text = f"{int(score)}"
    if isinstance(band, str) and band:
        text += f" · {band_words(band)}"
    if prorated is True:
        text += _(" (prorated)")
    return text


def blank_or_int(value: object) -> str:
    """A whole number for a table cell, or blank where nothing was recorded: Streamlit
    draws a missing value as "None", which reads as an answer."""
    return "" if value is None or pd.isna(value) else str(int(value))


def patient_label(code: str, display_name: object) -> str:
    return f"{code} · {display_name}" if isinstance(display_name, str) and display_name else code


ROW_PX, HEADER_PX, MAX_VISIBLE_ROWS = 35, 38, 25


def table_height(rows: int) -> int:
    """Tall enough to show a typical caseload without an inner scroll bar, capped
    so an 80-patient list still leaves the page's filters in view."""
    return HEADER_PX + ROW_PX * max(1, min(rows, MAX_VISIBLE_ROWS)) + 2


# glide-data-grid's keys (checked in Chromium, tests/test_accessibility.py::select_row).
KEYBOARD_HINT = N_("Keyboard: Tab into the table, arrow keys to a row, Shift+Space to select it.")


def waited(hours: float) -> str:
    """'5 h' under two days, else '3 d 4 h': a clinician reads days, not 235 h."""
    if hours < 48:
        return _("{hours} h").format(hours=f"{hours:.0f}")
    return _("{days} d {hours} h").format(days=int(hours // 24), hours=int(hours % 24))


RISK_NOTE = N_(
    "Caseboard is not monitored out of hours and is not a risk assessment: follow your service's risk protocol now."
)
# clinical-reference 1.5: most suicides followed a most recent item 9 of "not at all".
NO_RISK_ANSWER = N_(
    "No PHQ-9 item 9 answer above 0 is recorded. This does not mean no risk: an answer of 0 is not a risk assessment."
)


def flag_badges(flags: pd.DataFrame) -> None:
    """The patient's current flags in words, most urgent first; risk adds the
    out-of-hours note. Icons and words carry the meaning, never colour alone."""
    if flags.empty:
        st.caption(_("No flags: nothing in the triage rules needs a clinician now."))
        return
    for row in flags.sort_values(["priority", "since"]).itertuples():
        kind_title = title(row.flag)
        reason = md(row.reason)  # holds GP names and notes
        text = f"**{kind_title}**: {reason}"
        if row.flag == "risk":
            label = _("High-priority risk answer") if row.priority == HIGH_RISK_PRIORITY else kind_title
            st.error(f"**{label}**: {reason}. {_(RISK_NOTE)}", icon=":material/emergency_home:")
        elif row.flag == "peer_concern":
            st.error(f"{text}  \n{_(RISK_NOTE)}", icon=":material/emergency_home:")  # the note has its own stop
        elif row.flag in ("risk_unknown", "risk_unassessed"):
            st.warning(text, icon=":material/help:")
        else:
            st.warning(text, icon=":material/flag:")


def flag_titles(keys: list[str]) -> str:
    """The flags' badge texts in the run's language, in the order given."""
    return ", ".join(title(k) for k in keys if k in FLAG_KINDS)
