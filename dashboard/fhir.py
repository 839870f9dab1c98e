"""The GP's record: one patient's scored questionnaires and GP follow-ups as a FHIR R4
transaction Bundle, exactly as clinical-reference section 7 describes.

* Scores are the app's own (``responses.scored_responses`` -> ``measures.score_responses``):
  the item sum wins over a disagreeing stored total, one or two missing PHQ-9 items are
  prorated, and the items exported are the ones that sum (``responses.valid_answers``).
* Every resource id is derived from platform ids and the service's identifier system
  (``resource_id``) and every entry is a PUT to that id, so a receiving system that
  imports the same data twice keeps one copy, and two services never share an id.
* The patient is their pseudonymous code under the service's identifier system, named
  only when ``fhir_include_name`` is on; a code another record shares (the
  ``code_duplicate`` data-quality check) is refused: the identifier would merge two people.

The LOINC codes, displays, item texts and answers are the instrument registry's
(``dashboard/instruments.toml``, clinical-reference 7.1): an instrument that has
them is written as a Questionnaire, response, items and panel, whichever file added it.

Validation (``problems``) is the ``fhir.resources`` R4B models (identical to R4 for
these resources), plus the transaction rules the models cannot see.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, select

from dashboard import audit
from dashboard.clinician_records import ACTIONS, current_followups
from dashboard.config import Settings
from dashboard.instruments import Instrument
from dashboard.measures import INSTRUMENTS, band_label
from dashboard.patient import Patient, file_stem, find_patient_by_id, patients_with_code
from dashboard.quality import code_is_shared
from dashboard.responses import scored_responses, valid_answers
from dashboard.schema import clinicians, patients
from dashboard.schema import responses as responses_table
from dashboard.scope import Viewer, patient_filter
from dashboard.timeutil import UTC_ZONE, utc_midnight, utcnow

# ---------------------------------------------------------------- code systems

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
# Caseboard's own URIs (README, FHIR export): `.example` is reserved (RFC 2606), so they can
# never collide with a real terminology's.
CASEBOARD = "https://caseboard.example/fhir"
INSTRUMENT_SYSTEM = f"{CASEBOARD}/CodeSystem/instrument"  # an instrument with no LOINC code in the reference
FOLLOWUP_MODE_SYSTEM = f"{CASEBOARD}/CodeSystem/followup-mode"
QUESTIONNAIRE_BASE = f"{CASEBOARD}/Questionnaire"

EXPORT_WHAT, EXPORT_FORMAT = "fhir", "fhir+json"
MIME = "application/fhir+json"
MAY_EXPORT = ("gp", "therapist")  # the patient's GP and therapist: the page's button and the command

# An encounter's class by the follow-up's mode (v3 ActCode): in person, or at a distance.
ENCOUNTER_CLASS = {
    "face-to-face": ("AMB", "ambulatory"),
    "phone": ("VR", "virtual"),
    "video": ("VR", "virtual"),
}

SURVEY = [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}]
_NAMESPACE = uuid.UUID("5f3b1c0e-2a4d-5c6b-8e9f-0a1b2c3d4e5f")  # fixed: ids must not change between releases


class FhirRefused(ValueError):
    """Nothing was exported; the message says why, in words for the clinician."""


@dataclass(frozen=True)
class FhirExport:
    patient: Patient
    bundle: dict

    @property
    def resources(self) -> int:
        return len(self.bundle["entry"])


def resource_id(system: str, kind: str, key: object) -> str:
    """A resource's id: the same platform row under the same identifier system always
    gets the same id, and another service's (another system) never does."""
    return str(uuid.uuid5(_NAMESPACE, f"{system}|{kind}|{key}"))


# ---------------------------------------------------------------- who may export whom


def refusal(platform: Engine, viewer: Viewer, patient_id: int, identifier_system: str | None) -> str | None:
    """Why this viewer cannot export this patient now, or None. Checked again in
    ``export_patient``; the page asks first so it can say why instead of a button."""
    return _checked(platform, viewer, patient_id, identifier_system)[1]


def _checked(
    platform: Engine, viewer: Viewer, patient_id: int, identifier_system: str | None
) -> tuple[Patient | None, str | None]:
    """(the patient, None) when the export may go ahead, else (whatever was found, why not)."""
    if identifier_system is None:
        return None, (
            "FHIR export is off: the service has not set DASHBOARD_FHIR_IDENTIFIER_SYSTEM, the identifier "
            "system under which the GP's record files patient codes."
        )
    if viewer.role not in MAY_EXPORT:
        return None, "FHIR export is for the patient's GP and therapist."
    patient = find_patient_by_id(platform, viewer, patient_id)
    if patient is None:
        return None, "No such patient in your caseload."
    if not (patient.code or "").strip():
        return (
            patient,
            "Not exported: the patient has no code on the platform, and the code is the record's identifier.",
        )
    if code_is_shared(platform, patient_id):
        return patient, (
            f"Not exported: the code {patient.code!r} is not unique on the platform (another patient record "
            "holds it, a data-quality problem to correct there). As the record's identifier it would merge "
            "two people."
        )
    return patient, None


def find_for_export(platform: Engine, viewer: Viewer, code: str) -> Patient:
    """The patient in the viewer's scope with this code, for the command line; refused
    when there is none (the same words whether it exists or is someone else's) or
    more than one."""
    found = patients_with_code(platform, viewer, code)
    if not found:
        raise FhirRefused(f"No patient {code[:50]!r} in {viewer.username}'s caseload.")
    if len(found) > 1:
        raise FhirRefused(
            f"Not exported: {len(found)} patient records share the code {code[:50]!r} on the platform; as the "
            "record's identifier it would merge them. Correct the code on the platform first."
        )
    return found[0]


def scoped_patient_ids(platform: Engine, viewer: Viewer) -> list[int]:
    """Every patient in the viewer's scope (``--all``), by id."""
    if viewer.role not in MAY_EXPORT:
        return []
    with platform.connect() as conn:
        return list(conn.scalars(select(patients.c.id).where(patient_filter(viewer)).order_by(patients.c.id)))


# ---------------------------------------------------------------- the Bundle


def export_patient(
    platform: Engine,
    state: Engine,
    viewer: Viewer,
    patient_id: int,
    now: datetime,
    settings: Settings,
    identifier_system: str | None,
    tz: ZoneInfo = UTC_ZONE,
    since: date | None = None,
) -> FhirExport:
    """The patient's Bundle (everything up to ``now``; from the service-zone day
    ``since`` on, if given), or FhirRefused. Every platform read is scoped in SQL."""
    patient, why = _checked(platform, viewer, patient_id, identifier_system)
    if why is not None or patient is None or identifier_system is None:
        raise FhirRefused(why)
    scored, answers = _responses(platform, viewer, patient_id, now, settings)
    followups = current_followups(state, [patient_id], include_withdrawn=True)
    if since is not None:
        scored = scored[scored["administered_at"] >= pd.Timestamp(utc_midnight(since, tz))]
        followups = followups[followups["held_on"].map(lambda d: d >= since).astype(bool)]
    builder = _Builder(identifier_system, patient)
    builder.patient(bool(settings.fhir_include_name))
    for row in scored[scored["valid"]].sort_values(["administered_at", "response_id"]).itertuples():
        builder.response(row, answers.get(int(row.response_id), {}))
    names = _clinician_names(platform, sorted(set(followups["gp"])))
    for row in followups.sort_values(["held_on", "entry_id"]).itertuples():
        builder.followup(row, names.get(str(row.gp).lower(), str(row.gp)))
    return FhirExport(patient, builder.bundle())


def _responses(
    platform: Engine, viewer: Viewer, patient_id: int, now: datetime, settings: Settings
) -> tuple[pd.DataFrame, dict[int, dict[int, int]]]:
    """(scored responses, response id -> {item: score} of the items that count)."""
    in_scope = select(patients.c.id).where(patients.c.id == patient_id, patient_filter(viewer))
    of_patient = select(responses_table.c.id).where(
        responses_table.c.patient_id.in_(in_scope), responses_table.c.administered_at <= now
    )
    with platform.connect() as conn:
        scored = scored_responses(conn, in_scope, now, settings)
        rows = conn.execute(valid_answers(of_patient)).all()
    answers: dict[int, dict[int, int]] = {}
    for response_id, item, score in rows:
        answers.setdefault(int(response_id), {})[int(item)] = int(score)
    return scored, answers


def _clinician_names(platform: Engine, usernames: list[str]) -> dict[str, str]:
    """Login (lower case) -> display name, for the GPs who wrote follow-ups."""
    if not usernames:
        return {}
    with platform.connect() as conn:
        rows = conn.execute(
            select(clinicians.c.username, clinicians.c.display_name).where(
                clinicians.c.username.in_(usernames + [u.lower() for u in usernames])
            )
        ).all()
    return {str(u).strip().lower(): str(n) for u, n in rows if n}


def _instant(ts) -> str:
    """A platform timestamp (naive UTC) as a FHIR instant in UTC."""
    return f"{pd.Timestamp(ts):%Y-%m-%dT%H:%M:%S}Z"


def _number(value: float) -> int | float:
    """Whole scores as integers; a prorated one unrounded (clinical-reference 1.3)."""
    return int(value) if float(value).is_integer() else float(value)


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and value is not pd.NaT


def _coding(system: str, code: str, display: str | None = None) -> dict:
    return {"system": system, "code": code, **({"display": display} if display else {})}


class _Builder:
    """Collects a Bundle's resources in order; each ``add`` is one PUT entry."""

    def __init__(self, system: str, patient: Patient):
        self.system, self.source = system, patient
        self.entries: list[dict] = []
        self.questionnaires: set[str] = set()
        self.patient_id = resource_id(system, "patient", patient.patient_id)
        self.subject = {"reference": f"Patient/{self.patient_id}"}

    def add(self, resource: dict) -> str:
        ref = f"{resource['resourceType']}/{resource['id']}"
        self.entries.append(
            {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource, "request": {"method": "PUT", "url": ref}}
        )
        return ref

    def bundle(self) -> dict:
        # No timestamp or id: the same data gives the same bytes (re-export is identical).
        return {"resourceType": "Bundle", "type": "transaction", "entry": self.entries}

    def patient(self, include_name: bool) -> None:
        resource: dict = {
            "resourceType": "Patient",
            "id": self.patient_id,
            "identifier": [{"system": self.system, "value": self.source.code}],
        }
        if include_name and self.source.display_name:
            resource["name"] = [{"text": self.source.display_name}]
        self.add(resource)

    def questionnaire(self, inst: Instrument) -> str:
        """The Questionnaire's canonical URL, adding it once per Bundle (7.2)."""
        url = f"{QUESTIONNAIRE_BASE}/{slug(inst)}"
        if inst.code not in self.questionnaires:
            self.questionnaires.add(inst.code)
            self.entries.insert(
                len(self.questionnaires) - 1,  # before the Patient and every response
                {
                    "fullUrl": f"urn:uuid:{(qid := resource_id(CASEBOARD, 'questionnaire', slug(inst)))}",
                    "resource": questionnaire_resource(inst, qid, url),
                    "request": {"method": "PUT", "url": f"Questionnaire/{qid}"},
                },
            )
        return url

    def response(self, row, answers: dict[int, int]) -> None:
        inst = INSTRUMENTS[row.instrument]
        when = _instant(row.administered_at)
        common = {"status": "final", "category": SURVEY, "subject": self.subject, "effectiveDateTime": when}
        if not inst.has_loinc:  # no LOINC code in the registry: Caseboard's instrument code system
            code = {"coding": [_coding(INSTRUMENT_SYSTEM, inst.code, f"{inst.name} total score")]}
            self.add(self._total(row, code, common, answers))
            return
        code = {"coding": [_coding(LOINC, str(inst.loinc_total), inst.loinc_total_display)]}
        if not answers:  # a total the platform recorded without items: no response to derive it from
            self.add(self._total(row, code, common, answers))
            return
        qr_ref = self.add(
            {
                "resourceType": "QuestionnaireResponse",
                "id": resource_id(self.system, "response", row.response_id),
                "questionnaire": self.questionnaire(inst),
                "status": "completed",
                "subject": self.subject,
                "authored": when,
                "item": [  # a missing item has no item (7.2; clinical-reference 1.3)
                    {
                        "linkId": f"{slug(inst)}-{n}",
                        "text": inst.item_texts[n - 1],
                        "answer": [{"valueCoding": _answer(inst, s)}],
                    }
                    for n, s in sorted(answers.items())
                ],
            }
        )
        derived = {**common, "derivedFrom": [{"reference": qr_ref}]}
        members = [
            self.add(
                {
                    "resourceType": "Observation",
                    "id": resource_id(self.system, f"item-{n}", row.response_id),
                    **derived,
                    "code": {"coding": [_coding(LOINC, inst.loinc_items[n - 1])], "text": inst.item_texts[n - 1]},
                    "valueCodeableConcept": {"coding": [_answer(inst, s)]},
                }
            )
            for n, s in sorted(answers.items())
        ]
        members.append(self.add(self._total(row, code, derived, answers)))
        self.add(
            {
                "resourceType": "Observation",
                "id": resource_id(self.system, "panel", row.response_id),
                **derived,
                "code": {"coding": [_coding(LOINC, str(inst.loinc_panel), inst.loinc_panel_display)]},
                "hasMember": [{"reference": m} for m in members],
            }
        )

    def _total(self, row, code: dict, common: dict, answers: dict[int, int]) -> dict:
        resource = {
            "resourceType": "Observation",
            "id": resource_id(self.system, "total", row.response_id),
            **common,
            "code": code,
            "valueQuantity": {"value": _number(row.score), "system": UCUM, "code": "{score}"},
        }
        if band := band_label(row.instrument, row.score):
            resource["interpretation"] = [{"text": band}]
        if notes := total_notes(row, answers):
            resource["note"] = [{"text": n} for n in notes]
        return resource

    def followup(self, row, gp_name: str) -> None:
        withdrawn = bool(row.withdrawn)
        encounter_id = resource_id(self.system, "encounter", row.entry_id)
        klass, klass_display = ENCOUNTER_CLASS.get(row.modality, ("AMB", "ambulatory"))
        gp = {"display": gp_name}
        ref = self.add(
            {
                "resourceType": "Encounter",
                "id": encounter_id,
                "status": "entered-in-error" if withdrawn else "finished",
                "class": _coding(ACT_CODE, klass, klass_display),
                "type": [
                    {
                        "coding": [_coding(FOLLOWUP_MODE_SYSTEM, str(row.modality), str(row.modality))],
                        "text": f"GP brief follow-up of guided iCBT ({row.modality})",
                    }
                ],
                "subject": self.subject,
                "participant": [{"individual": gp}],
                "period": {"start": row.held_on.isoformat(), "end": row.held_on.isoformat()},
                "length": {"value": int(row.minutes), "unit": "min", "system": UCUM, "code": "min"},
            }
        )
        impression: dict = {
            "resourceType": "ClinicalImpression",
            "id": resource_id(self.system, "impression", row.entry_id),
            "status": "entered-in-error" if withdrawn else "completed",
            "description": "GP brief follow-up of guided iCBT: the action the GP took, and their note",
            "subject": self.subject,
            "encounter": {"reference": ref},
            "effectiveDateTime": row.held_on.isoformat(),
            "date": _instant(row.recorded_at),
            "assessor": gp,
            "summary": followup_summary(row),
        }
        if _present(row.note) and str(row.note).strip():
            impression["note"] = [{"text": str(row.note)}]
        self.add(impression)


def slug(inst: Instrument) -> str:
    """The Questionnaire's name in its URL and its items' linkId prefix ("phq9-1", 7.2)."""
    return inst.code.lower()


def _answer(inst: Instrument, score: int) -> dict:
    answer = inst.answer(score)
    return _coding(LOINC, answer.code, answer.display)


def total_notes(row, answers: dict[int, int]) -> list[str]:
    """What a reader of the total must know: proration (clinical-reference 1.3), an
    unanswered risk item (1.3, 1.5), and what was wrong with the platform's rows."""
    inst = INSTRUMENTS[row.instrument]
    notes = []
    if row.prorated:
        n = len(answers)
        notes.append(
            f"Prorated total: {n} of {inst.n_items} items answered, so the sum of the answered items x "
            f"{inst.n_items} / {n}, not rounded (clinical-reference 1.3)."
        )
    if inst.risk_item and answers and inst.risk_item not in answers:
        notes.append(f"Item {inst.risk_item} unanswered: the risk question could not be evaluated.")
    if not answers:
        notes.append("No item answers on the platform: the total as the platform recorded it.")
    # The platform's other problems (a disagreeing stored total, repeated items): the proration is said above.
    other = (
        [q for q in str(row.quality).split("; ") if not q.endswith("missing: prorated")]
        if _present(row.quality)
        else []
    )
    if other and answers:
        notes.append(f"Platform data: {'; '.join(other)}.")
    return notes


def followup_summary(row) -> str:
    """The GP's action and what goes with it, in words (an R4 Encounter has no note)."""
    parts = [f"Action: {ACTIONS.get(row.action, row.action)}"]
    if _present(row.pause_until):
        parts.append(f"programme paused until {row.pause_until.isoformat()}")
    if _present(row.next_on):
        parts.append(f"next follow-up planned for {row.next_on.isoformat()}")
    if _present(row.module_position):
        parts.append(f"module {int(row.module_position)} reviewed")
    if _present(row.clinic_phq9):
        parts.append(f"PHQ-9 taken in clinic: {int(row.clinic_phq9)}")
    return "; ".join(parts) + "."


def questionnaire_resource(inst: Instrument, qid: str, url: str) -> dict:
    """Caseboard's Questionnaire of an instrument with LOINC codes (clinical-reference
    7.2): the codes on the form and its items, each item's LA answers with their scores."""
    return {
        "resourceType": "Questionnaire",
        "id": qid,
        "url": url,
        "name": inst.code,
        "title": inst.name,
        "status": "active",
        "code": [_coding(LOINC, str(inst.loinc_panel), inst.loinc_panel_display)],
        "item": [
            {
                "linkId": f"{slug(inst)}-{n}",
                "code": [_coding(LOINC, code)],
                "text": inst.item_texts[n - 1],
                "type": "choice",
                "answerOption": [
                    {"valueCoding": {**_answer(inst, s), "extension": [{"url": ORDINAL_VALUE, "valueDecimal": s}]}}
                    for s in inst.options(n)
                ],
            }
            for n, code in enumerate(inst.loinc_items, start=1)
        ],
    }


def bundle_json(bundle: dict) -> bytes:
    """The file: the same Bundle always gives the same bytes."""
    return (json.dumps(bundle, indent=2, ensure_ascii=False) + "\n").encode()


def file_name(patient: Patient) -> str:
    """A file name for the patient's Bundle: the code where it is safe in a path, else the record id."""
    return f"{file_stem(patient)}.fhir.json"


# ---------------------------------------------------------------- audit and validation


def record_export(state: Engine, actor: str, export: FhirExport) -> None:
    """The export's audit row, as every export's (README, Exports), with its patient."""
    audit.record(
        state,
        actor,
        "export",
        export.patient.patient_id,
        what=EXPORT_WHAT,
        format=EXPORT_FORMAT,
        resources=export.resources,
    )


def audited_download(
    platform: Engine,
    state: Engine,
    viewer: Viewer,
    patient_id: int,
    settings: Settings,
    identifier_system: str | None,
    tz: ZoneInfo,
) -> Callable[[], bytes]:
    """The ``data`` callable of the page's download button: built and audited only on
    click (dashboard.exports); no audit row, no file."""

    def on_click() -> bytes:
        export = export_patient(platform, state, viewer, patient_id, utcnow(), settings, identifier_system, tz)
        body = bundle_json(export.bundle)
        record_export(state, viewer.username, export)
        return body

    return on_click


def problems(bundle: dict) -> list[str]:
    """Every problem ``fhir.resources`` finds in the Bundle (its R4B models), then the
    transaction's own rules, which no model checks: each entry a PUT to its resource's
    id, ids unique, every reference to a resource in the Bundle resolved. Empty: valid."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    found = []
    try:
        Bundle.model_validate(bundle)
    except ValidationError as exc:
        found += [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    if bundle.get("type") != "transaction":
        found.append(f"type is {bundle.get('type')!r}, not a transaction")
    entries = bundle.get("entry", [])
    refs = [f"{e['resource']['resourceType']}/{e['resource'].get('id')}" for e in entries if "resource" in e]
    if len(set(refs)) != len(refs):
        found.append("two entries hold the same resource id")
    for n, entry in enumerate(entries):
        ref = refs[n] if n < len(refs) else None
        if entry.get("request") != {"method": "PUT", "url": ref}:
            found.append(f"entry.{n}: the request is not a PUT to {ref}")
    canonicals = {
        e["resource"].get("url") for e in entries if e.get("resource", {}).get("resourceType") == "Questionnaire"
    }
    for n, entry in enumerate(entries):
        resource = entry.get("resource", {})
        for target in _references(resource):
            if target not in refs:
                found.append(f"entry.{n}: reference {target} is not in the Bundle")
        if (q := resource.get("questionnaire")) is not None and q not in canonicals:
            found.append(f"entry.{n}: questionnaire {q} is not in the Bundle")
    return found


def _references(value: Any) -> list[str]:
    """Every ``reference`` string inside a resource."""
    if isinstance(value, dict):
        own = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return own + [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []
