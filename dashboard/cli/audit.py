"""The service-wide audit trail for a privacy officer:

    caseboard audit [--from DATE] [--to DATE] [--user LOGIN] [--patient CODE]
                                  [--format csv|json] [--out FILE] [--db URL] [--state-db URL]

Every row of the append-only audit, of every team and of clinicians in no team
(GPs), scoped to nothing: it is run on the server by whoever may read the whole
trail, so it has no login. Each run is itself audited, as ``operator:OS_USER``
with its filters and row count, before anything is printed.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, select

from dashboard import audit
from dashboard.cli.common import add_database_arguments, clean_errors, day, open_databases, out_file
from dashboard.commands import command
from dashboard.exports import csv_header, frame_csv
from dashboard.i18n import gettext as _
from dashboard.schema import patients
from dashboard.state_tables import audit as audit_table
from dashboard.timeutil import utc_midnight

COLUMNS = ["occurred_at", "actor", "action", "patient_id", "patient", "detail"]
CHUNK = 5000  # ids per IN list when naming patients


def service_trail(
    state: Engine,
    platform: Engine,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
    patient_code: str | None = None,
) -> pd.DataFrame:
    """Audit rows oldest first, each with the patient's code (platform codes are
    looked up only for the patients in the rows)."""
    stmt = select(audit_table).order_by(audit_table.c.occurred_at, audit_table.c.id)
    if since is not None:
        stmt = stmt.where(audit_table.c.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(audit_table.c.occurred_at < until)
    if actor:
        names = audit.actor_names([actor.strip()])
        stmt = stmt.where(audit_table.c.actor.in_(names))
    if patient_code:
        stmt = stmt.where(audit_table.c.patient_id.in_(audit.requested_patients(platform, patient_code.strip())))
    with state.connect() as conn:
        rows = pd.read_sql(stmt, conn, parse_dates=["occurred_at"])
    ids = sorted({int(p) for p in rows["patient_id"].dropna()})
    codes: dict[int, str] = {}
    with platform.connect() as conn:
        for i in range(0, len(ids), CHUNK):
            codes.update(
                conn.execute(select(patients.c.id, patients.c.code).where(patients.c.id.in_(ids[i : i + CHUNK]))).all()
            )
    rows["patient_id"] = rows["patient_id"].astype("Int64")
    rows["patient"] = rows["patient_id"].map(codes)
    return rows[COLUMNS]


def render(rows: pd.DataFrame, fmt: str) -> str:
    """CSV through the one export helper (formula starts neutralised), or JSON with
    the detail as an object."""
    if fmt == "csv":
        table = rows.assign(occurred_at=[t.isoformat() for t in rows["occurred_at"]])
        return frame_csv(table.set_axis(csv_header(list(table.columns)), axis=1))  # the header in the language
    records = [
        {
            "occurred_at": r.occurred_at.isoformat(),
            "actor": r.actor,
            "action": r.action,
            "patient_id": None if pd.isna(r.patient_id) else int(r.patient_id),
            "patient": None if pd.isna(r.patient) else r.patient,
            "detail": json.loads(r.detail) if isinstance(r.detail, str) and r.detail else None,
        }
        for r in rows.itertuples()
    ]
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"


def operator() -> str:
    """Who runs the command: the operating-system login (there is no Caseboard login here)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


@clean_errors
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=command("audit"), description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--from", dest="first", type=day, help=_("first day, YYYY-MM-DD (service time zone; default: the start)")
    )
    parser.add_argument("--to", dest="last", type=day, help=_("last day, YYYY-MM-DD (default: now)"))
    parser.add_argument("--user", help=_("only this login name (its command-line runs too)"))
    parser.add_argument("--patient", help=_("only rows about the patient(s) with this code"))
    parser.add_argument(
        "--format", choices=("csv", "json"), default="csv", help=_("csv (default) or json; JSON keys stay English")
    )
    parser.add_argument("--out", type=out_file, help=_("file to write (default: standard output)"))
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    if args.first and args.last and args.first > args.last:
        print(_("error: --from {first} is after --to {last}").format(first=args.first, last=args.last), file=sys.stderr)
        return 2
    if (opened := open_databases(args, migrated=True)) is None:
        return 2
    config, platform, state = opened
    tz = config.timezone
    since = None if args.first is None else utc_midnight(args.first, tz)
    until = None if args.last is None else utc_midnight(args.last + timedelta(days=1), tz)
    rows = service_trail(state, platform, since, until, args.user, args.patient)
    # Audited before anything is shown: a run whose audit row cannot be written prints nothing.
    audit.record(
        state,
        f"operator:{operator()}",
        "cli_report",
        report="audit_trail",
        format=args.format,
        rows=len(rows),
        **{
            k: str(v)[:50]
            for k, v in (("from", args.first), ("to", args.last), ("user", args.user), ("patient", args.patient))
            if v
        },
    )
    text = render(rows, args.format)
    if args.out:
        with open(args.out, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0
