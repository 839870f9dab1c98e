"""Structured logs: one JSON object per line on stderr, never a patient identifier.

Log lines leave the clinical system (log shippers, support tickets), so only
allow-listed fields are written, and their values are plain scalars. An
exception is written as its class name only: a database driver's message can
carry the SQL parameters, which can be patient codes. A record that reaches
the "caseboard" logger some other way (``log.warning("...", x)``) is written as
an ``unstructured`` event with its source line, never with its text or
arguments. Clinician usernames are not patient identifiers and are logged.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LOGGER_NAME = "caseboard"
# Every field a log line may carry besides ts, level and event. Add a field here
# only after checking that no value of it can be, or contain, a patient identifier.
FIELDS = frozenset(
    {
        "user",  # clinician username
        "role",  # gp / therapist / team_lead
        "page",  # the page's title from st.Page ("Patient"), never its query parameters
        "duration_ms",  # a script run's wall time
        "cpu_ms",  # a script run's CPU time on its own thread
        "rss_mb",  # the process's resident memory
        "error",  # an exception's class name
        "cause",  # the class name of the driver exception behind it
        "kind",  # a fixed word chosen by the caller, e.g. "timeout"
        "reason",  # a fixed word or phrase chosen by the caller, e.g. "idle"
        "source",  # module:line of an unstructured record
        "rows",  # a count of rows (e.g. the refresher's repaired drift), never which
        "teams",  # a count of teams (the team snapshots a refresher cycle rebuilt), never which
    }
)
SCALARS = (str, int, float, bool, type(None))

log = logging.getLogger(LOGGER_NAME)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts (UTC ISO 8601), level, event, then fields."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "caseboard_fields", None)
        if fields is None:  # not written by log_event: keep where it came from, drop its text
            event, fields = "unstructured", {"source": f"{record.module}:{record.lineno}"}
        else:
            event = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None and "error" not in fields:
            fields = {**fields, "error": type(record.exc_info[1]).__name__}
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        return json.dumps(
            {"ts": ts, "level": record.levelname.lower(), "event": event, **fields}, separators=(",", ":")
        )


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (pytest and Streamlit may replace it)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


STREAMLIT_ERROR_LOGGER = "streamlit.error_util"  # logs "Uncaught app execution" with the exception


class WithholdExceptionText(logging.Filter):
    """Streamlit logs an uncaught page exception as a plain traceback whose last line
    is the exception's message, which could hold a patient code. Keep the class and
    where it was raised; withhold the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc, tb = record.exc_info[1], record.exc_info[2]
            where = " <- ".join(
                f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in reversed(traceback.extract_tb(tb)[-6:])
            )
            record.msg = (
                f"{record.getMessage()}: {type(exc).__name__} at {where} (message withheld: it may name a patient)"
            )
            record.args, record.exc_info, record.exc_text = None, None, None
        return True


def configure(level: int = logging.INFO) -> logging.Logger:
    """Attach the JSON handler to the "caseboard" logger once per process;
    Streamlit re-executes app.py on every run, so a second call changes nothing."""
    streamlit_errors = logging.getLogger(STREAMLIT_ERROR_LOGGER)
    if not any(isinstance(f, WithholdExceptionText) for f in streamlit_errors.filters):
        streamlit_errors.addFilter(WithholdExceptionText())
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        handler = _StderrHandler()
        handler.setFormatter(JsonFormatter())
        log.addHandler(handler)
        log.setLevel(level)
        log.propagate = False  # not also through the root logger's plain-text handlers
    return log


def clean(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields as they may be written; an unknown name is a programming error."""
    unknown = set(fields) - FIELDS
    if unknown:
        raise ValueError(f"log field(s) not allowed: {sorted(unknown)} (see dashboard.logs.FIELDS)")
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, BaseException):
            value = type(value).__name__  # never str(exc): it can carry SQL parameters
        elif isinstance(value, type) and issubclass(value, BaseException):
            value = value.__name__
        elif not isinstance(value, SCALARS):
            raise TypeError(f"log field {name!r} must be a plain scalar, not {type(value).__name__}")
        out[name] = value
    return out


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Write one structured event; ``event`` is a fixed name such as "script_run"."""
    if not event.replace("_", "").isalnum():
        raise ValueError(f"event names are fixed identifiers, not {event!r}")
    log.log(level, event, extra={"caseboard_fields": clean(fields)})


def proc_memory_mb(field: str, pid: int | str = "self") -> float | None:
    """A memory line of /proc/PID/status (``VmRSS``, ``VmHWM``) in MB; None off Linux
    or when the process has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def rss_mb(pid: int | str = "self") -> float | None:
    """Resident memory of a process in MB."""
    return proc_memory_mb("VmRSS", pid)


@dataclass(frozen=True)
class RunStart:
    """When a script run began, by the wall clock and by its thread's CPU clock.

    Streamlit runs each script run on a script thread of its own, so the thread's
    CPU time between the run's start and end is that run's work (cached work
    computed on a miss included, as it runs on the calling thread), without the
    time spent waiting for the CPU, the GIL or the database: steadier than wall
    time on a busy machine."""

    wall: float  # time.perf_counter()
    cpu: float  # time.thread_time()

    @classmethod
    def now(cls) -> RunStart:
        return cls(time.perf_counter(), time.thread_time())


def script_run(page: str, user: str, role: str, started: RunStart) -> None:
    """The ``script_run`` event for a page run that began at ``started``, on this thread."""
    cpu_ms = round((time.thread_time() - started.cpu) * 1000, 1)
    duration_ms = round((time.perf_counter() - started.wall) * 1000, 1)
    rss = rss_mb()
    log_event(
        "script_run",
        page=page,
        user=user,
        role=role,
        duration_ms=duration_ms,
        cpu_ms=cpu_ms,
        rss_mb=None if rss is None else round(rss, 1),
    )
