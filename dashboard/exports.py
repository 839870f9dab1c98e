"""Every CSV Caseboard writes, and the audited download of a page's export.

Two rules live here so no page or command-line tool can forget them:

* **Formula injection** (OWASP "CSV injection"): a spreadsheet runs a cell that
  starts with ``=``, ``+``, ``-`` or ``@`` (and, in some, a tab or carriage
  return) as a formula. Platform text (patient codes, names, notes) reaches the
  exports, so every text cell that starts with one of them gets a leading
  ``'``, which spreadsheets show as text. Numbers are left alone.
* **Headers follow the language, JSON keys do not**: a CSV is read by people in a
  spreadsheet, so its header row is in the run's language (``csv_header``; in English
  the codes as before), while JSON output keeps its stable English keys for programs.
* **Exports are built on click**: ``st.download_button`` given bytes uploads
  them to ``/media/<id>`` when the page renders, before any click, where they
  can be fetched without the login cookie and without an audit row. Given a
  callable, Streamlit runs it only on click, on a separate thread where ``st.*``
  commands are ignored: the callable built here writes the export's audit row
  (a plain database write) and then returns the file. That thread may not carry
  the run's language, so each callable captures the language when the button is
  drawn and builds the file inside ``i18n.language(code)``: its headers and words
  are in the language the clinician saw the page in.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from dashboard import audit, i18n
from dashboard.i18n import N_
from dashboard.i18n import gettext as _

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# The commands' CSV columns: the English header is the code itself (unchanged since
# before translation), another language's is its own word for it.
CSV_HEADERS = {
    "patient_code": N_("patient_code"),
    "flags": N_("flags"),
    "reasons": N_("reasons"),
    "waiting_days": N_("waiting_days"),
    "therapist": N_("therapist"),
    "latest_score": N_("latest_score"),
    "escalated": N_("escalated"),
    "finished": N_("finished"),
    "overdue": N_("overdue"),
    "change": N_("change"),
    "alerts": N_("alerts"),
    "occurred_at": N_("occurred_at"),
    "actor": N_("actor"),
    "action": N_("action"),
    "patient_id": N_("patient_id"),
    "patient": N_("patient"),
    "detail": N_("detail"),
    # the GP's follow-ups CSV (pages/followups.py)
    "entry_id": N_("entry_id"),
    "code": N_("code"),
    "held_on": N_("held_on"),
    "minutes": N_("minutes"),
    "modality": N_("modality"),
    "module_position": N_("module_position"),
    "clinic_phq9": N_("clinic_phq9"),
    "pause_until": N_("pause_until"),
    "next_on": N_("next_on"),
    "note": N_("note"),
    "recorded_at": N_("recorded_at"),
}


def csv_header(fields: Sequence[str]) -> list[str]:
    """A CSV's header row in the run's language; a field without a word stays its code."""
    return [_(CSV_HEADERS[f]) if f in CSV_HEADERS else f for f in fields]


def headed(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its code-named columns in the run's language (``csv_header``)."""
    return frame.set_axis(csv_header([str(c) for c in frame.columns]), axis=1)


def safe_cell(value: Any) -> Any:
    """A text cell a spreadsheet will not run as a formula; other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell passed through ``safe_cell`` (column names too)."""
    out = frame.copy()
    for column in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[column]) or pd.api.types.is_datetime64_any_dtype(out[column])):
            out[column] = out[column].map(safe_cell, na_action="ignore")
    out.columns = [safe_cell(str(c)) for c in out.columns]
    return out


def frame_csv(frame: pd.DataFrame) -> str:
    """The CSV text of a table, safe to open in a spreadsheet. Lines end in CRLF
    (RFC 4180, as the csv module writes): then a cell holding a carriage return is
    quoted, where with LF endings it would split the row."""
    return safe_frame(frame).to_csv(index=False, lineterminator="\r\n")


def rows_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The CSV text of plain rows (the command-line tools), safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


def audited_csv(state: Engine, actor: str, what: str, build: Callable[[], pd.DataFrame]) -> Callable[[], bytes]:
    """The ``data`` callable of a CSV download button: called on click, it builds
    the table, records the export (who, what, how many rows) and returns the file.
    Rendering the page calls nothing, so no file exists and nothing is audited
    until the clinician clicks. If the audit write fails, no file is served."""

    code = i18n.current_language()  # drawn now, built later (maybe on another thread)

    def on_click() -> bytes:
        with i18n.language(code):
            frame = build()
            text = frame_csv(frame)
        audit.record(state, actor, "export", what=what, rows=len(frame))
        return text.encode()

    return on_click


def zip_of(files: dict[str, pd.DataFrame | str]) -> bytes:
    """One zip holding a CSV per table (``name.csv``, each through ``frame_csv``) and any
    text file given as a string (``name`` as it is): one download for every table."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, body in files.items():
            if isinstance(body, pd.DataFrame):
                archive.writestr(f"{name}.csv", frame_csv(body))
            else:
                archive.writestr(name, body)
    return out.getvalue()


def audited_zip(
    state: Engine, actor: str, what: str, build: Callable[[], dict[str, pd.DataFrame | str]]
) -> Callable[[], bytes]:
    """As ``audited_csv``, for a zip of every table: built and audited only on click,
    the audit row naming the tables and their rows."""

    code = i18n.current_language()

    def on_click() -> bytes:
        with i18n.language(code):
            files = build()
            body = zip_of(files)
        tables = {name: len(f) for name, f in files.items() if isinstance(f, pd.DataFrame)}
        audit.record(state, actor, "export", what=what, tables=tables, rows=sum(tables.values()))
        return body

    return on_click


def audited_file(state: Engine, actor: str, what: str, build: Callable[[], str | bytes]) -> Callable[[], bytes]:
    """As ``audited_csv``, for a file that is not a table (the HTML report)."""

    code = i18n.current_language()

    def on_click() -> bytes:
        with i18n.language(code):
            body = build()
        audit.record(state, actor, "export", what=what)
        return body.encode() if isinstance(body, str) else body

    return on_click
