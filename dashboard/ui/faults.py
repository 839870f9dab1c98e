"""Database faults every page survives: the database unreachable or lost
mid-session, and a statement stopped at its time limit (``engine.make_engine``).
The clinician gets a banner in words and a retry, never a traceback."""

from __future__ import annotations

import logging
import sqlite3

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from dashboard.i18n import format_number
from dashboard.i18n import gettext as _
from dashboard.logs import log_event

PG_QUERY_CANCELED = "57014"  # statement_timeout


def is_timeout(exc: SQLAlchemyError) -> bool:
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) == PG_QUERY_CANCELED:
        return True
    return isinstance(orig, sqlite3.OperationalError) and "interrupted" in str(orig)


def message(exc: SQLAlchemyError, timeout_s: float | None) -> str:
    if is_timeout(exc):
        return _(
            "Reading this page took longer than {seconds} s and was stopped, so the database stays usable "
            "for everyone. Retry, or narrow the filters; if it keeps happening, tell your administrator."
        ).format(seconds=format_number(float(timeout_s or 0)))
    return _(
        "Caseboard cannot reach the database just now. Nothing you entered has been half-saved: "
        "a form is stored whole or not at all. Retry in a moment; if it keeps failing, tell your administrator."
    )


def log_fault(exc: SQLAlchemyError) -> None:
    """The ``db_fault`` event: error classes and a fixed kind only. The exception's
    message would carry the SQL parameters, which can be patient identifiers."""
    log_event(
        "db_fault",
        logging.WARNING,
        kind="timeout" if is_timeout(exc) else "unreachable",
        error=exc,
        cause=getattr(exc, "orig", None),
    )


def show(exc: SQLAlchemyError, timeout_s: float | None) -> None:
    """The banner and a retry; the log names the error classes only (log_fault)."""
    log_fault(exc)
    st.error(message(exc, timeout_s), icon=":material/cloud_off:")
    st.button(_("Retry"), icon=":material/refresh:", on_click=st.cache_resource.clear, key="fault_retry")
