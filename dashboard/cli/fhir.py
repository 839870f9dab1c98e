"""``caseboard fhir --user U --patient CODE``: one patient's scored questionnaires and GP
follow-ups as a FHIR R4 transaction Bundle for the GP's record (dashboard/fhir.py);
``--all --out DIR`` writes one Bundle per patient in the user's scope.

The same scope as the patient page (the user's own patients) and the same audit:
each Bundle written is an ``export`` row, each refusal a ``denied`` row, as
``cli:USERNAME``; the audit row is written before the file, so no file exists
without one. ``--check`` validates every Bundle with fhir.resources first and
writes nothing that fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dashboard import audit, fhir
from dashboard.cli.common import add_database_arguments, clean_errors, day, open_databases, out_file
from dashboard.commands import command
from dashboard.config import FHIR_IDENTIFIER_SYSTEM_HELP
from dashboard.i18n import format_number
from dashboard.i18n import gettext as _
from dashboard.scope import load_viewer
from dashboard.text import control_problem
from dashboard.timeutil import utcnow


def out_dir(text: str) -> str:
    """An argparse type: a folder that exists (a command never makes one: a typo would scatter files)."""
    if not Path(text).expanduser().is_dir():
        raise argparse.ArgumentTypeError(_("no folder {folder} to write the Bundles into").format(folder=text[:200]))
    return text


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=command("fhir"), description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--user", required=True, help=_("login name of the patient's GP or therapist"))
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--patient", help=_("the patient's code"))
    which.add_argument("--all", action="store_true", help=_("every patient in the user's scope (needs --out DIR)"))
    parser.add_argument("--since", type=day, help=_("only questionnaires and follow-ups from this day, YYYY-MM-DD"))
    parser.add_argument("--check", action="store_true", help=_("validate each Bundle with fhir.resources first"))
    parser.add_argument("--out", help=_("file to write (a folder with --all; default: standard output)"))
    add_database_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    return clean_errors(_main)(argv)


def _main(argv: list[str] | None) -> int:
    parser = arguments()
    args = parser.parse_args(argv)
    if args.all and not args.out:
        parser.error(_("--all needs --out DIR: one file per patient"))
    try:
        args.out = (out_dir if args.all else out_file)(args.out) if args.out else None
    except argparse.ArgumentTypeError as exc:
        parser.error(f"argument --out: {exc}")
    if args.patient is not None and (problem := control_problem(args.patient, "--patient")):
        parser.error(problem)  # before any query: PostgreSQL cannot even compare a code holding NUL
    if (opened := open_databases(args, migrated=True)) is None:
        return 2
    config, platform, state = opened
    if config.fhir_identifier_system is None:
        print(
            _("error: the FHIR export is off in this configuration: set {setting}.").format(
                setting=FHIR_IDENTIFIER_SYSTEM_HELP
            ),
            file=sys.stderr,
        )
        return 2
    actor = f"cli:{args.user[:50]}"
    viewer = load_viewer(platform, args.user)
    if viewer is None or viewer.role not in fhir.MAY_EXPORT:
        reason = "unknown user" if viewer is None else "not a GP or therapist"  # the audit row's, English
        audit.record(state, actor, "denied", export=fhir.EXPORT_WHAT, reason=reason)
        shown = _("unknown user") if viewer is None else _("not a GP or therapist")
        print(
            _("error: {user}: {reason}; the FHIR export is for a patient's GP and therapist.").format(
                user=repr(args.user[:50]), reason=shown
            ),
            file=sys.stderr,
        )
        return 2
    actor = f"cli:{viewer.username}"
    if args.all:
        ids = fhir.scoped_patient_ids(platform, viewer)
    else:
        try:
            ids = [fhir.find_for_export(platform, viewer, args.patient).patient_id]
        except fhir.FhirRefused as exc:
            requested = audit.requested_patients(platform, args.patient) or [None]
            for pid in requested:  # named, so that patient's team lead sees the attempt (as a denied deep link)
                audit.record(state, actor, "denied", pid, export=fhir.EXPORT_WHAT, requested_code=args.patient[:50])
            print(f"error: {exc}", file=sys.stderr)
            return 2
    now, written, refused, invalid = utcnow(), 0, [], []
    for pid in ids:
        try:
            export = fhir.export_patient(
                platform,
                state,
                viewer,
                pid,
                now,
                config.settings,
                config.fhir_identifier_system,
                config.timezone,
                args.since,
            )
        except fhir.FhirRefused as exc:
            audit.record(state, actor, "denied", pid, export=fhir.EXPORT_WHAT, reason=str(exc)[:200])
            refused.append(str(exc))
            continue
        if args.check and (found := fhir.problems(export.bundle)):
            invalid.append(f"{export.patient.code}: " + "; ".join(found[:5]))
            continue
        body = fhir.bundle_json(export.bundle)
        fhir.record_export(state, actor, export)  # before the file: no file without its audit row
        if args.all:
            (Path(args.out) / fhir.file_name(export.patient)).write_bytes(body)
        elif args.out:
            Path(args.out).write_bytes(body)
        else:
            sys.stdout.write(body.decode())
        written += 1
    for line in refused + [_("not valid, not written: {problem}").format(problem=i) for i in invalid]:
        print(_("error: {problem}").format(problem=line), file=sys.stderr)
    if args.all or args.check:
        checked = _(" (each valid: fhir.resources R4B)") if args.check else ""
        print(
            _("{n} of {total} Bundles written").format(n=format_number(written), total=format_number(len(ids)))
            + checked,
            file=sys.stderr,
        )
    if refused and not args.all:
        return 2
    return 1 if refused or invalid else 0
