"""Small display helpers shared by pages (formatting only, no data access)."""

from __future__ import annotations

import pandas as pd

STATUS_LABELS = {"active": "Active", "completed": "Completed", "withdrawn": "Withdrawn"}


def score_with_band(score: object, band: object, prorated: object) -> str:
    """'14 · moderate' (prorated scores say so); blank when there is no valid score."""
    if score is None or pd.isna(score):
        return "no valid score yet"
    text = f"{int(score)}"
    if isinstance(band, str) and band:
        text += f" · {band}"
    if prorated is True:
        text += " (prorated)"
    return text


def patient_label(code: str, display_name: object) -> str:
    return f"{code} · {display_name}" if isinstance(display_name, str) and display_name else code


ROW_PX, HEADER_PX, MAX_VISIBLE_ROWS = 35, 38, 25


def table_height(rows: int) -> int:
    """Tall enough to show a typical caseload without an inner scroll bar, capped
    so an 80-patient list still leaves the page's filters in view."""
    return HEADER_PX + ROW_PX * max(1, min(rows, MAX_VISIBLE_ROWS)) + 2


def waited(hours: float) -> str:
    """'5 h' under two days, else '3 d 4 h': a clinician reads days, not 235 h."""
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{int(hours // 24)} d {int(hours % 24)} h"
