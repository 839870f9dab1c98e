"""The FHIR R4 export for the GP's record (dashboard/fhir.py, caseboard fhir, the patient
page's button): the reference's codes and values item by item, stable ids, a transaction
of PUTs, scope, audit, and validation with fhir.resources (both backends)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from dashboard import audit, db, demo_history, fhir
from dashboard.cli import fhir as fhir_cli
from dashboard.config import ConfigError, Settings, load_config, parse_settings
from dashboard.engine import make_engine
from dashboard.gp_followups import FollowupForm, log_followup, withdraw_followup
from dashboard.scope import load_viewer
from tests.apptest import open_patient
from tests.baddata import BadPlatform
from tests.conftest import DEMO_NOW, production_env
from tests.factory import Platform

NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)  # the command and the page read the wall clock
SYSTEM = "https://icbt.example/fhir/sid/patient-code"
LOINC = "http://loinc.org"
LA = {0: "LA6568-5", 1: "LA6569-3", 2: "LA6570-1", 3: "LA6571-9"}


# ---------------------------------------------------------------- a hand-built patient


def build_patient(p: Platform) -> dict:
    """FHIR-1 (therapist ther.a, GP gp.a) with every case the export must get right;
    returns the response ids by name."""
    pid = p.patient("FHIR-1", therapist=1, gp=3, enrolled_days_ago=40, display_name="Alma Berg")
    ids = {
        "pid": pid,
        # clinical-reference 8 "mixed" vector, stored total 15: the item sum 12 wins
        "disagrees": p.response(pid, "PHQ9", 30, [2, 1, 2, 3, 1, 0, 1, 2, 0], total=15),
        # item 3 missing: prorated 15 x 9 / 8 = 16.875, unrounded, moderately severe (1.3)
        "prorated": p.response(pid, "PHQ9", 20, [2, 2, None, 2, 2, 2, 2, 2, 1]),
        # item 9 missing: prorated 8 x 9 / 8 = 9, and the risk item unanswered
        "no_item9": p.response(pid, "PHQ9", 10, [1, 1, 1, 1, 1, 1, 1, 1, None]),
        # three items missing: not scored, so not exported
        "unscored": p.response(pid, "PHQ9", 8, [1, 1, 1, 1, 1, 1, None, None, None]),
        # a total the platform holds without items
        "total_only": p.response(pid, "PHQ9", 6, None, total=11),
        # clinical-reference 8 GAD-7 vector 1 1 1 1 0 1 2 -> 7 (mild)
        "gad7": p.response(pid, "GAD7", 30, [1, 1, 1, 1, 0, 1, 2]),
        # no LOINC code in the reference: Caseboard's instrument code system
        "isi": p.response(pid, "ISI", 30, [2, 2, 2, 2, 2, 2, 2]),
    }
    return ids


@pytest.fixture
def platform(db_url, monkeypatch) -> Platform:
    monkeypatch.setenv("DASHBOARD_FHIR_IDENTIFIER_SYSTEM", SYSTEM)
    monkeypatch.delenv("DASHBOARD_SETTINGS", raising=False)
    p = BadPlatform(make_engine(db_url), NOW)  # no UNIQUE code: a platform view need not enforce it
    db.upgrade(p.engine)
    p.ids = build_patient(p)
    gp = load_viewer(p.engine, "gp.a")
    p.entry = log_followup(
        p.engine,
        p.engine,
        gp,
        p.ids["pid"],
        FollowupForm(date.today() - timedelta(days=3), 15, "phone", 2, 12, "step_up", None, None, "Sleep worse"),
        "key-1",
        NOW,
    )
    return p


def export(p: Platform, user: str = "gp.a", settings: Settings | None = None, **kw) -> fhir.FhirExport:
    viewer = load_viewer(p.engine, user)
    system = kw.pop("system", SYSTEM)
    return fhir.export_patient(p.engine, p.engine, viewer, p.ids["pid"], NOW, settings or Settings(), system, **kw)


def resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def by_id(bundle: dict) -> dict[str, dict]:
    return {f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"] for e in bundle["entry"]}


def code_of(resource: dict) -> tuple[str, str]:
    coding = resource["code"]["coding"][0]
    return coding["system"], coding["code"]


# (case, instrument's total LOINC, panel LOINC, value, band, answered items, words every note must hold)
LOINC_CASES = [
    ("disagrees", "44261-6", "44249-1", 12, "moderate", [2, 1, 2, 3, 1, 0, 1, 2, 0], ["stored total 15 disagrees"]),
    ("prorated", "44261-6", "44249-1", 16.875, "moderately severe", [2, 2, None, 2, 2, 2, 2, 2, 1], ["Prorated"]),
    ("no_item9", "44261-6", "44249-1", 9, "mild", [1, 1, 1, 1, 1, 1, 1, 1, None], ["Prorated", "Item 9 unanswered"]),
    ("gad7", "70274-6", "69737-5", 7, "mild", [1, 1, 1, 1, 0, 1, 2], []),
]
PHQ9_ITEMS = ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8"]
GAD7_ITEMS = ["69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"]


def test_the_bundle_holds_the_references_codes_and_values_item_by_item(platform):
    bundle = export(platform).bundle
    resolved = by_id(bundle)
    totals = {o["id"]: o for o in resources(bundle, "Observation") if "valueQuantity" in o}
    for case, total_code, panel_code, value, band, items, notes in LOINC_CASES:
        rid = platform.ids[case]
        total = totals[fhir.resource_id(SYSTEM, "total", rid)]
        assert code_of(total) == (LOINC, total_code), case
        assert total["status"] == "final" and total["category"][0]["coding"][0]["code"] == "survey", case
        assert total["valueQuantity"] == {"value": value, "system": "http://unitsofmeasure.org", "code": "{score}"}
        assert total["interpretation"] == [{"text": band}], case
        texts = " ".join(n["text"] for n in total.get("note", []))
        assert all(w in texts for w in notes) and (notes or "note" not in total), (case, texts)
        qr = resolved[total["derivedFrom"][0]["reference"]]
        assert qr["resourceType"] == "QuestionnaireResponse" and qr["status"] == "completed"
        slug = "phq9" if total_code == "44261-6" else "gad7"
        expected = [(f"{slug}-{n}", LA[s]) for n, s in enumerate(items, start=1) if s is not None]
        assert [(i["linkId"], i["answer"][0]["valueCoding"]["code"]) for i in qr["item"]] == expected, case
        assert {i["answer"][0]["valueCoding"]["system"] for i in qr["item"]} == {LOINC}
        panel = resolved[f"Observation/{fhir.resource_id(SYSTEM, 'panel', rid)}"]
        assert code_of(panel) == (LOINC, panel_code) and panel["derivedFrom"] == total["derivedFrom"]
        members = [resolved[m["reference"]] for m in panel["hasMember"]]
        item_codes = PHQ9_ITEMS if slug == "phq9" else GAD7_ITEMS
        # one item Observation per answered item (none for a missing one), then the total
        assert [code_of(m)[1] for m in members] == [item_codes[n] for n, s in enumerate(items) if s is not None] + [
            total_code
        ], case
        assert [m["valueCodeableConcept"]["coding"][0]["code"] for m in members[:-1]] == [
            LA[s] for s in items if s is not None
        ]


def test_the_other_cases_total_only_isi_and_not_scored(platform):
    bundle = export(platform).bundle
    totals = {o["id"]: o for o in resources(bundle, "Observation") if "valueQuantity" in o}
    isi = totals[fhir.resource_id(SYSTEM, "total", platform.ids["isi"])]
    assert code_of(isi) == (fhir.INSTRUMENT_SYSTEM, "ISI") and isi["valueQuantity"]["value"] == 14
    assert isi["interpretation"] == [{"text": "subthreshold"}] and "derivedFrom" not in isi
    only = totals[fhir.resource_id(SYSTEM, "total", platform.ids["total_only"])]
    assert only["valueQuantity"]["value"] == 11 and "derivedFrom" not in only
    assert "without" in only["note"][0]["text"] or "No item answers" in only["note"][0]["text"]
    assert fhir.resource_id(SYSTEM, "total", platform.ids["unscored"]) not in totals  # three items missing
    assert len(resources(bundle, "QuestionnaireResponse")) == 4  # the four responses with items
    questionnaires = {q["url"]: q for q in resources(bundle, "Questionnaire")}
    phq9 = questionnaires[f"{fhir.QUESTIONNAIRE_BASE}/phq9"]
    assert phq9["code"][0]["code"] == "44249-1" and [i["code"][0]["code"] for i in phq9["item"]] == PHQ9_ITEMS
    option = phq9["item"][0]["answerOption"][2]["valueCoding"]
    assert option["code"] == "LA6570-1" and option["extension"] == [
        {"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 2}
    ]


def test_the_patient_is_the_code_under_the_service_system_and_named_only_when_set(platform):
    patient = resources(export(platform).bundle, "Patient")[0]
    assert patient["identifier"] == [{"system": SYSTEM, "value": "FHIR-1"}] and "name" not in patient
    named = resources(export(platform, settings=parse_settings({"fhir_include_name": True})).bundle, "Patient")[0]
    assert named["name"] == [{"text": "Alma Berg"}]
    assert "Alma" not in fhir.bundle_json(export(platform).bundle).decode()


def test_a_follow_up_is_an_encounter_with_its_action_and_note_in_a_clinical_impression(platform):
    bundle = export(platform).bundle
    (encounter,) = resources(bundle, "Encounter")
    (impression,) = resources(bundle, "ClinicalImpression")
    assert encounter["id"] == fhir.resource_id(SYSTEM, "encounter", platform.entry)
    assert encounter["status"] == "finished" and encounter["class"]["code"] == "VR"  # by phone
    assert encounter["period"]["start"] == (date.today() - timedelta(days=3)).isoformat()
    assert encounter["length"] == {"value": 15, "unit": "min", "system": "http://unitsofmeasure.org", "code": "min"}
    assert encounter["type"][0]["coding"][0]["code"] == "phone"
    assert encounter["participant"] == [{"individual": {"display": "Dr GP A"}}]  # the GP who wrote it
    assert impression["encounter"] == {"reference": f"Encounter/{encounter['id']}"}
    assert (
        impression["summary"].startswith("Action: Step up care")
        and "PHQ-9 taken in clinic: 12" in (impression["summary"])
    )
    assert impression["note"] == [{"text": "Sleep worse"}] and impression["assessor"] == {"display": "Dr GP A"}
    withdraw_followup(
        platform.engine,
        platform.engine,
        load_viewer(platform.engine, "gp.a"),
        platform.entry,
        "wrong patient",
        "k2",
        NOW,
    )
    again = export(platform).bundle  # the receiving record is told, by the same ids
    assert [r["status"] for r in resources(again, "Encounter") + resources(again, "ClinicalImpression")] == [
        "entered-in-error",
        "entered-in-error",
    ]
    assert resources(again, "Encounter")[0]["id"] == encounter["id"]


def test_re_export_is_identical_and_ids_follow_the_identifier_system(platform):
    first, second = fhir.bundle_json(export(platform).bundle), fhir.bundle_json(export(platform).bundle)
    assert first == second
    ids = set(by_id(json.loads(first)))
    other = set(by_id(export(platform, system="urn:oid:1.2.3.4").bundle))
    questionnaires = {i for i in ids if i.startswith("Questionnaire/")}
    assert ids & other == questionnaires  # another service's ids never meet this one's (the forms are shared)
    for ref in ids:
        uuid.UUID(ref.split("/")[1])


def test_a_transaction_of_puts_each_to_its_own_id_that_fhir_resources_validates(platform):
    bundle = export(platform).bundle
    assert bundle["type"] == "transaction" and "timestamp" not in bundle
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert entry["request"] == {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
    assert fhir.problems(bundle) == []


def first(bundle: dict, kind: str) -> dict:
    return next(e for e in bundle["entry"] if e["resource"]["resourceType"] == kind)


@pytest.mark.parametrize(
    "spoil, words",
    [
        (lambda b: first(b, "Observation")["resource"].pop("status"), "status"),
        (lambda b: first(b, "Observation").update(request={"method": "POST", "url": "Observation"}), "not a PUT"),
        (lambda b: b["entry"].remove(first(b, "Patient")), "is not in the Bundle"),  # every resource names it
        (lambda b: b.update(type="collection"), "not a transaction"),
        (lambda b: first(b, "Observation")["resource"].update(effectiveDateTime="2026-13-01"), "effectiveDateTime"),
    ],
    ids=["required field", "POST", "dangling reference", "type", "bad date"],
)
def test_validation_names_what_is_wrong(platform, spoil, words):
    bundle = export(platform).bundle
    spoil(bundle)
    assert any(words in p for p in fhir.problems(bundle)), fhir.problems(bundle)


def test_since_keeps_only_later_questionnaires_and_follow_ups(platform):
    late = export(platform, since=date.today() - timedelta(days=12), tz=load_config().timezone).bundle
    totals = [o for o in resources(late, "Observation") if "valueQuantity" in o]
    assert {o["id"] for o in totals} == {
        fhir.resource_id(SYSTEM, "total", platform.ids[k]) for k in ("no_item9", "total_only")
    }
    assert len(resources(late, "Encounter")) == 1
    assert resources(export(platform, since=date.today()).bundle, "Encounter") == []


# ---------------------------------------------------------------- scope and refusals


def test_only_the_patients_gp_and_therapist_may_export(platform):
    assert export(platform, "ther.a").resources == export(platform, "gp.a").resources
    for user, words in (("gp.b", "No such patient"), ("ther.b", "No such patient"), ("lead.a", "GP and therapist")):
        with pytest.raises(fhir.FhirRefused, match=words):
            export(platform, user)


def test_a_code_another_record_holds_is_refused(platform):
    platform.patient("FHIR-1", therapist=2, gp=4)  # another GP's patient: out of gp.a's scope, still the same code
    with pytest.raises(fhir.FhirRefused, match="not unique on the platform"):
        export(platform)


def test_no_identifier_system_no_export(platform):
    with pytest.raises(fhir.FhirRefused, match="DASHBOARD_FHIR_IDENTIFIER_SYSTEM"):
        export(platform, system=None)


@pytest.mark.parametrize("value", ["patient-code", "https://", "ftp://x/y", "urn:x", "https://x y"])
def test_an_identifier_system_that_is_not_an_absolute_uri_is_refused(value):
    env = {"DASHBOARD_DB_URL": "sqlite:///x.db", "DASHBOARD_FHIR_IDENTIFIER_SYSTEM": value}
    with pytest.raises(ConfigError, match="DASHBOARD_FHIR_IDENTIFIER_SYSTEM"):
        load_config(env=env, secrets={})


def test_production_has_no_identifier_system_unless_it_sets_one():
    assert load_config(env={"DASHBOARD_DB_URL": "sqlite:///x.db"}, secrets={}).fhir_identifier_system is None
    assert (
        load_config(env={}, secrets={}).fhir_identifier_system == "https://caseboard.example/fhir/sid/demo-patient-code"
    )
    env = {"DASHBOARD_DB_URL": "sqlite:///x.db", "DASHBOARD_FHIR_IDENTIFIER_SYSTEM": SYSTEM}
    assert load_config(env=env, secrets={}).fhir_identifier_system == SYSTEM


# ---------------------------------------------------------------- the command


def run(p: Platform, *args: str) -> int:
    return fhir_cli.main(["--db", p.engine.url.render_as_string(hide_password=False), *args])


def audit_rows(p: Platform, actor: str) -> list[tuple[str, int | None, dict]]:
    rows = audit.read(p.engine, actor=actor).iloc[::-1]
    return [
        (a, None if pd.isna(pid) else int(pid), json.loads(d) if isinstance(d, str) else {})
        for a, pid, d in zip(rows["action"], rows["patient_id"], rows["detail"])
    ]


def test_the_command_writes_the_bundle_and_audits_it_with_its_format(platform, tmp_path, capsys):
    out = tmp_path / "fhir-1.json"
    assert run(platform, "--user", "gp.a", "--patient", "FHIR-1", "--check", "--out", str(out)) == 0
    written = json.loads(out.read_text())
    assert written == export(platform).bundle  # the page's Bundle: the same function
    assert audit_rows(platform, "cli:gp.a") == [
        ("export", platform.ids["pid"], {"what": "fhir", "format": "fhir+json", "resources": len(written["entry"])})
    ]
    assert run(platform, "--user", "ther.a", "--patient", "FHIR-1") == 0  # standard output
    assert json.loads(capsys.readouterr().out) == written


@pytest.mark.parametrize(
    "user, words", [("gp.b", "No patient 'FHIR-1' in gp.b's caseload"), ("lead.a", "not a GP or therapist")]
)
def test_the_command_refuses_another_clinicians_patient_writes_nothing_and_audits(
    platform, tmp_path, capsys, user, words
):
    out = tmp_path / "x.json"
    assert run(platform, "--user", user, "--patient", "FHIR-1", "--out", str(out)) == 2
    assert words in capsys.readouterr().err and not out.exists()
    rows = audit_rows(platform, f"cli:{user}")
    assert [a for a, _, _ in rows] == ["denied"]
    if user == "gp.b":  # named, so the patient's team lead sees the attempt
        assert rows[0][1] == platform.ids["pid"]


def test_the_command_refuses_a_shared_code(platform, tmp_path, capsys):
    platform.patient("FHIR-1", therapist=2, gp=3)  # gp.a now has two records with this code
    assert run(platform, "--user", "gp.a", "--patient", "FHIR-1", "--out", str(tmp_path / "x.json")) == 2
    assert "2 patient records share the code 'FHIR-1'" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_all_writes_one_bundle_per_patient_and_refuses_the_shared_code_alone(platform, tmp_path, capsys):
    platform.patient("FHIR-2", therapist=1, gp=3)
    platform.patient("DUP", therapist=1, gp=3)
    platform.patient("DUP", therapist=2, gp=4)  # another GP's: gp.a's DUP is refused all the same
    out = tmp_path / "bundles"
    out.mkdir()
    assert run(platform, "--user", "gp.a", "--all", "--check", "--out", str(out)) == 1
    assert sorted(p.name for p in out.iterdir()) == ["FHIR-1.fhir.json", "FHIR-2.fhir.json"]
    err = capsys.readouterr().err
    assert "'DUP' is not unique" in err and "2 of 3 Bundles written" in err
    actions = [a for a, _, _ in audit_rows(platform, "cli:gp.a")]
    assert sorted(actions) == ["denied", "export", "export"]


def test_all_needs_a_folder_that_exists(platform, tmp_path, capsys):
    with pytest.raises(SystemExit):
        run(platform, "--user", "gp.a", "--all")
    with pytest.raises(SystemExit):
        run(platform, "--user", "gp.a", "--all", "--out", str(tmp_path / "missing"))
    assert "no folder" in capsys.readouterr().err


# ---------------------------------------------------------------- every demo patient of one therapist


@pytest.fixture(scope="module")
def demo_with_state(demo_db):
    """The default demo with its history (GP follow-ups among it), as the embedded demo is made."""
    engine = make_engine(demo_db)
    db.upgrade(engine)
    demo_history.seed_history(engine, engine, DEMO_NOW)
    yield demo_db, engine
    engine.dispose()


def test_every_demo_patient_of_a_therapist_validates(demo_with_state, tmp_path, monkeypatch, capsys):
    url, engine = demo_with_state
    monkeypatch.setenv("DASHBOARD_FHIR_IDENTIFIER_SYSTEM", SYSTEM)
    viewer = load_viewer(engine, "therapist1")
    expected = fhir.scoped_patient_ids(engine, viewer)
    assert fhir_cli.main(["--db", url, "--user", "therapist1", "--all", "--check", "--out", str(tmp_path)]) == 0
    assert f"{len(expected)} of {len(expected)} Bundles written (each valid" in capsys.readouterr().err
    files = list(tmp_path.iterdir())
    assert len(files) == len(expected) > 30
    kinds = {e["resource"]["resourceType"] for f in files for e in json.loads(f.read_text())["entry"]}
    assert {"QuestionnaireResponse", "Observation", "Encounter", "ClinicalImpression"} <= kinds


# ---------------------------------------------------------------- the page


@pytest.fixture
def deferred(monkeypatch) -> dict:
    """file id -> the callable a download button registered: AppTest's runtime is gone
    after each run, so the test keeps what a click would run (dashboard.exports)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    kept: dict = {}
    register = MediaFileManager.add_deferred

    def keep(self, data_callable, *args, **kwargs):
        file_id = register(self, data_callable, *args, **kwargs)
        kept[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", keep)
    return kept


def click_download(at, deferred: dict, label: str) -> bytes:
    """What a click on the download button serves: its callable, run as Streamlit does."""
    (button,) = [b.proto for b in at.get("download_button") if b.proto.label == label]
    assert button.url == "" and button.HasField("deferred_file_id")  # nothing built on render
    return deferred[button.deferred_file_id]()


@pytest.fixture
def page_platform(db_url, monkeypatch, tmp_path):
    """FHIR-1 served to AppTest in production mode (tests/conftest.py app_platform), on
    relaxed tables so a test can give a second record the same code."""
    p = BadPlatform(make_engine(db_url), NOW)
    db.upgrade(p.engine)
    production_env(monkeypatch, tmp_path, p.engine, db_url)
    monkeypatch.setenv("DASHBOARD_FHIR_IDENTIFIER_SYSTEM", SYSTEM)
    p.ids = build_patient(p)
    return p


@pytest.mark.parametrize("user", ["gp.a", "ther.a"])
def test_the_page_button_builds_and_audits_on_click(page_platform, deferred, user):
    at = open_patient(user, "FHIR-1")
    assert "export" not in [a for a, _, _ in audit_rows(page_platform, user)]  # rendered: nothing exported
    bundle = json.loads(click_download(at, deferred, "Download FHIR (JSON)"))
    assert fhir.problems(bundle) == [] and resources(bundle, "Patient")[0]["identifier"][0]["value"] == "FHIR-1"
    assert audit_rows(page_platform, user)[-1] == (
        "export",
        page_platform.ids["pid"],
        {"what": "fhir", "format": "fhir+json", "resources": len(bundle["entry"])},
    )


def test_the_page_has_no_button_for_a_lead_or_another_gp(page_platform):
    lead = open_patient("lead.a", "FHIR-1")
    assert not [b for b in lead.get("download_button") if b.proto.label == "Download FHIR (JSON)"]
    other = open_patient("gp.b", "FHIR-1")  # refused by the page before anything else
    assert [e.value for e in other.error] == ["No such patient in your caseload."] and not other.get("download_button")


def test_the_page_says_why_a_shared_code_is_not_exported(page_platform):
    page_platform.patient("FHIR-1", therapist=2, gp=4)
    at = open_patient("gp.a", "FHIR-1")
    assert not [b for b in at.get("download_button") if b.proto.label == "Download FHIR (JSON)"]
    assert any("not unique on the platform" in c.value for c in at.caption)
