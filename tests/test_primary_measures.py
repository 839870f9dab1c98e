"""Any instrument as a programme's primary measure (issue 19, items 3 and 6): the
score as the lists and the morning digest say it, deterioration only where the
registry holds a criterion, and the risk item (PHQ-9 item 9, clinical-reference 1.5)
not assessed for ``questionnaire_overdue_days`` in a programme whose primary measure
is another instrument. Flags and the digest on both backends; pages in AppTest.

Times are in days before NOW; 14 days is exactly 14 x 24 h (docs/design.md, Time)."""

import json

import pytest

from dashboard import db, measures
from dashboard.cli.queue import main as queue_main
from dashboard.config import DEFAULTS, Settings
from dashboard.engine import make_engine
from dashboard.flags import FLAG_KINDS, evaluate, load_inputs
from dashboard.instruments import load_registry
from dashboard.measures import INSTRUMENTS, score_words
from dashboard.scope import load_viewer
from tests.apptest import logged_in, open_patient, shown_text
from tests.conftest import PLATFORM_NOW as NOW
from tests.conftest import served_platform
from tests.factory import PROGRAMS, Platform

SETTINGS = Settings()
SECOND = 1 / 86400  # in days


@pytest.fixture
def platform(db_url) -> Platform:
    p = Platform(make_engine(db_url), NOW)
    db.upgrade(p.engine)
    return p


def items_for(instrument: str, total: int) -> list[int]:
    """Item scores summing to ``total``: spread evenly over the items with the full
    range, then the restricted ones (AUDIT 9-10: 0, 2, 4) take what is left."""
    inst = INSTRUMENTS[instrument]
    free = [i for i in range(1, inst.n_items + 1) if inst.options(i) == tuple(range(inst.item_min, inst.item_max + 1))]
    spread = min(total, len(free) * inst.item_max)
    scores = {
        i: min(inst.item_max, spread // len(free) + (1 if k < spread % len(free) else 0)) for k, i in enumerate(free)
    }
    left = total - spread
    for i in range(1, inst.n_items + 1):
        if i not in scores:
            scores[i] = max(v for v in inst.options(i) if v <= left)
            left -= scores[i]
    assert left == 0, (instrument, total)
    return [scores[i] for i in range(1, inst.n_items + 1)]


def answer(platform: Platform, pid: int, instrument: str, days_ago: float, total: int) -> int:
    return platform.response(pid, instrument, days_ago, items_for(instrument, total))


def engaged(platform: Platform, code: str, program: str, enrolled_days_ago: float = 30) -> int:
    """A patient who raises nothing else: recent activity, contact and primary measure."""
    pid = platform.patient(code, program, enrolled_days_ago=enrolled_days_ago)
    platform.module(pid, program, 1, 1)
    platform.message(pid, 1, "to_patient", clinician=1)
    primary = PROGRAMS[program][2]
    if primary != "PHQ9":
        answer(platform, pid, primary, 1, 10)
    return pid


def flags_by_code(platform: Platform, ids: dict[str, int]) -> dict[str, dict[str, str]]:
    viewer = load_viewer(platform.engine, "ther.a")
    flags = evaluate(load_inputs(platform.engine, viewer, NOW, SETTINGS), NOW, SETTINGS)
    codes = {v: k for k, v in ids.items()}
    out: dict[str, dict[str, str]] = {code: {} for code in ids}
    for row in flags.itertuples():  # a flag raised on two measures: its reasons a line each
        mine = out[codes[row.patient_id]]
        mine[row.flag] = f"{mine[row.flag]}\n{row.reason}" if row.flag in mine else row.reason
    return out


# ---------------------------------------------------------------- the score in words


@pytest.mark.parametrize(
    ("instrument", "score", "kw", "words"),
    [
        # OCI-R severity benchmarks 0-15 mild, 16-27 moderate, 28-72 severe (clinical-reference 4)
        ("OCIR", 30, {}, "30 · severe (OCI-R, 12 Nov)"),
        ("OCIR", 15, {}, "15 · mild (OCI-R, 12 Nov)"),
        ("OCIR", 16, {}, "16 · moderate (OCI-R, 12 Nov)"),
        ("OCIR", 27, {}, "27 · moderate (OCI-R, 12 Nov)"),
        ("OCIR", 28, {}, "28 · severe (OCI-R, 12 Nov)"),
        # AUDIT zones I 0-7, II 8-15, III 16-19, IV 20-40; one zone up by items 4-6 / 9-10
        ("AUDIT", 12, {}, "12 · zone II hazardous (AUDIT, 12 Nov)"),
        ("AUDIT", 7, {}, "7 · zone I low risk (AUDIT, 12 Nov)"),
        ("AUDIT", 8, {}, "8 · zone II hazardous (AUDIT, 12 Nov)"),
        ("AUDIT", 19, {}, "19 · zone III harmful (AUDIT, 12 Nov)"),
        ("AUDIT", 12, {"escalated": True}, "12 · zone III harmful, one zone up (AUDIT, 12 Nov)"),
        ("AUDIT", 20, {"escalated": True}, "20 · zone IV further evaluation for dependence (AUDIT, 12 Nov)"),
        # SPIN: only the cut-off >= 19 is defined (clinical-reference 4), no bands
        ("SPIN", 25, {}, "25 (SPIN, 12 Nov) · at or above cut-off 19"),
        ("SPIN", 19, {}, "19 (SPIN, 12 Nov) · at or above cut-off 19"),
        ("SPIN", 18, {}, "18 (SPIN, 12 Nov)"),
        # PDSS: no cut-off unless the service sets one
        ("PDSS", 12, {}, "12 (PDSS, 12 Nov)"),
        # WSAS > 20 / 10-20 / < 10; with work not applicable, the 4-item sum without bands
        ("WSAS", 21, {}, "21 · moderately severe or worse psychopathology (WSAS, 12 Nov)"),
        ("WSAS", 20, {}, "20 · significant functional impairment (WSAS, 12 Nov)"),
        ("WSAS", 18, {"not_applicable": True}, "18 · 4-item sum, work not applicable (WSAS, 12 Nov)"),
        # bands as before; ISI's cut-off 10 is not appended where bands speak
        ("ISI", 10, {}, "10 · subthreshold (ISI, 12 Nov)"),
        ("PHQ9", 14, {}, "14 · moderate (PHQ-9, 12 Nov)"),
    ],
)
def test_the_score_in_words_follows_the_registry(instrument, score, kw, words):
    assert score_words(instrument, score, "12 Nov", **kw) == words


def test_the_cut_off_is_compared_unrounded_and_the_day_is_optional():
    assert score_words("SPIN", 18.6) == "19 (SPIN)"  # shown as 19, but 18.6 is below 19 (reference 1.3)
    assert score_words("SPIN", 25) == "25 (SPIN) · at or above cut-off 19"


# ---------------------------------------------------------------- the risk item


@pytest.mark.parametrize(
    ("program", "enrolled", "phq9s", "reason"),
    [
        # (days ago, item 9 answered?) of the PHQ-9s; the primary measure was answered yesterday
        ("ocd", 30, [(14, True)], "risk item not assessed since 06 Nov (no PHQ-9 item 9 answer for 14 days)"),
        ("ocd", 30, [(14 - SECOND, True)], None),
        ("social_anxiety", 14, [], "risk item never assessed since enrolment (no PHQ-9 item 9 answer for 14 days)"),
        ("social_anxiety", 14 - SECOND, [], None),
        (
            "alcohol",
            30,
            [(20, True), (2, False)],
            "risk item not assessed since 31 Oct (no PHQ-9 item 9 answer for 20 days)",
        ),
        ("anxiety", 30, [(15, True)], "risk item not assessed since 05 Nov (no PHQ-9 item 9 answer for 15 days)"),
        ("insomnia", 30, [(1, True)], None),
        # a PHQ-9 answered before enrolment (the baseline window) starts no new episode's clock
        ("panic", 14, [(16, True)], "risk item never assessed since enrolment (no PHQ-9 item 9 answer for 14 days)"),
    ],
)
def test_risk_item_not_assessed_for_14_days(platform, program, enrolled, phq9s, reason):
    pid = engaged(platform, "P", program, enrolled_days_ago=enrolled)
    for days, answered in phq9s:
        platform.response(pid, "PHQ9", days, [1, 1, 1, 1, 1, 1, 1, 1, 0 if answered else None])
    got = flags_by_code(platform, {"P": pid})["P"]
    assert got.get("risk_unassessed") == reason
    assert "questionnaire_overdue" not in got  # the primary measure is up to date


def test_an_item9_answer_on_an_unscorable_phq9_counts_as_assessed(platform):
    """Three items missing leave the total unscored (1.3) but item 9 was answered: risk was asked."""
    pid = engaged(platform, "U", "ocd")
    platform.response(pid, "PHQ9", 3, [1, 1, 1, 1, 1, None, None, None, 0])
    assert "risk_unassessed" not in flags_by_code(platform, {"U": pid})["U"]


def test_a_phq9_programme_says_it_once(platform):
    """No PHQ-9 at all for 14 days in a PHQ-9 programme: one reason, questionnaire_overdue,
    naming the risk item; PHQ-9s without item 9 since its last answer: risk_unassessed."""
    silent = engaged(platform, "S", "depression")
    platform.phq9(silent, 14, 9)
    never = engaged(platform, "N", "depression", enrolled_days_ago=14)
    skipped = engaged(platform, "K", "depression")
    platform.phq9(skipped, 14, 9)
    platform.response(skipped, "PHQ9", 1, [1, 1, 1, 1, 1, 1, 1, 1, None])
    got = flags_by_code(platform, {"S": silent, "N": never, "K": skipped})
    assert got["S"]["questionnaire_overdue"] == "no PHQ-9 for 14 days: risk item not assessed since 06 Nov"
    assert got["N"]["questionnaire_overdue"] == "no PHQ-9 for 14 days: risk item never assessed since enrolment"
    assert "risk_unassessed" not in got["S"] and "risk_unassessed" not in got["N"]
    assert got["K"]["risk_unassessed"] == "risk item not assessed since 06 Nov (no PHQ-9 item 9 answer for 14 days)"
    assert "questionnaire_overdue" not in got["K"]  # a PHQ-9 came yesterday
    assert "risk_unknown" in got["K"]  # and its item 9 is missing: both facts are stated


def test_risk_item_not_assessed_is_not_raised_after_the_episode_ended(platform):
    pid = platform.patient("E", "ocd", status="completed", enrolled_days_ago=90, ended_days_ago=5)
    assert flags_by_code(platform, {"E": pid})["E"] == {}


def test_the_reason_ranks_with_questionnaire_overdue_and_is_handled_like_it():
    """The same fact reads questionnaire_overdue in a PHQ-9 programme: it ranks beside it,
    its acknowledgement expires like it, and it is never preselected (a risk reason)."""
    from dashboard.ack_cover import EXPIRING_FLAGS
    from dashboard.ui.components.handle_reasons import RISK_KINDS

    kinds = list(FLAG_KINDS)
    assert kinds.index("risk_unassessed") == kinds.index("questionnaire_overdue") - 1
    assert FLAG_KINDS["risk_unassessed"].priority < FLAG_KINDS["questionnaire_overdue"].priority
    assert FLAG_KINDS["risk_unassessed"].in_treatment_only
    assert "risk_unassessed" in EXPIRING_FLAGS and "risk_unassessed" in RISK_KINDS


# ---------------------------------------------------------------- deterioration


@pytest.mark.parametrize(
    ("instrument", "first", "last", "rci", "worse"),
    [
        ("PHQ9", 10, 16, False, True),  # reliable change 6 (clinical-reference 1.6)
        ("PHQ9", 10, 15, False, False),
        ("GAD7", 8, 12, False, True),  # 4 (2.3)
        ("ISI", 8, 28, False, False),  # no reliable-change criterion (-8.4 is not one, 4)
        ("OCIR", 10, 60, False, False),  # none published: no flag without a configured RCI
        ("SPIN", 10, 60, False, False),
        ("WSAS", 5, 40, False, False),
        ("AUDIT", 3, 36, False, False),  # not a change instrument: zone transitions (4)
        # the Jacobson-Truax RCI with the reference's worked inputs: 1.96 x 5.5 x sqrt(2 x 0.11) = 5.06 (1.7)
        ("OCIR", 20, 26, True, True),
        ("OCIR", 20, 25, True, False),
    ],
)
def test_deterioration_follows_each_instruments_own_criterion(
    platform, monkeypatch, tmp_path, instrument, first, last, rci, worse
):
    if rci:
        service = tmp_path / "instruments.toml"
        service.write_text(
            '[overrides.OCIR]\nrci_sd = 5.5\nrci_reliability = 0.89\nrci_source = "worked illustration, 1.7"\n'
        )
        monkeypatch.setattr(measures.INSTRUMENTS, "_registry", load_registry(service, DEFAULTS))
    pid = engaged(platform, "D", "ocd")
    platform.phq9(pid, 1, 5)
    answer(platform, pid, instrument, 20, first)
    answer(platform, pid, instrument, 0.5, last)
    reasons = [r for r in flags_by_code(platform, {"D": pid})["D"].get("deterioration", "").split("\n") if r]
    name = INSTRUMENTS[instrument].name
    assert any(r.startswith(f"{name} reliably worse: {first} → {last}") for r in reasons) == worse
    if rci and worse:
        assert "(criterion 5.1 points: Jacobson-Truax RCI, SD 5.5, reliability 0.89" in reasons[0]


# ---------------------------------------------------------------- the morning digest


def test_the_digest_names_each_programmes_own_measure(platform, capsys, monkeypatch):
    """``caseboard queue --user``: latest_score on the programme's primary measure, in the
    registry's words (OCI-R 28-72 severe, AUDIT zone II 8-15, SPIN cut-off 19)."""
    rows = {
        "OCD1": ("ocd", "OCIR", items_for("OCIR", 30)),
        "ALC1": ("alcohol", "AUDIT", [2, 2, 2, 1, 1, 1, 1, 2, 0, 0]),  # 12; items 4-6 below 2, 9-10 below 4
        "SOC1": ("social_anxiety", "SPIN", items_for("SPIN", 25)),
        "SOC2": ("social_anxiety", "SPIN", items_for("SPIN", 12)),
    }
    for code, (program, instrument, items) in rows.items():
        pid = platform.patient(code, program, enrolled_days_ago=30)  # no module: not_started puts them in the queue
        platform.phq9(pid, 8, 5)
        platform.response(pid, instrument, 8, items)  # 12 Nov, NOW being 20 Nov
    url = platform.engine.url.render_as_string(hide_password=False)
    monkeypatch.setattr("dashboard.cli.queue.utcnow", lambda: NOW)
    assert queue_main(["--user", "ther.a", "--db", url, "--format", "json"]) == 0
    latest = {r["patient_code"]: r["latest_score"] for r in json.loads(capsys.readouterr().out)}
    assert latest == {
        "OCD1": "30 · severe (OCI-R, 12 Nov)",
        "ALC1": "12 · zone II hazardous (AUDIT, 12 Nov)",
        "SOC1": "25 (SPIN, 12 Nov) · at or above cut-off 19",
        "SOC2": "12 (SPIN, 12 Nov)",
    }


def test_the_digest_moves_an_audit_zone_up_by_the_item_rule(platform, capsys, monkeypatch):
    """AUDIT 12 with item 4 scoring 2 is zone III (one zone up if items 4-6 score >= 2, 4)."""
    pid = platform.patient("ALC2", "alcohol", enrolled_days_ago=30)
    platform.phq9(pid, 8, 5)
    platform.response(pid, "AUDIT", 8, [2, 2, 2, 2, 1, 1, 1, 1, 0, 0])
    url = platform.engine.url.render_as_string(hide_password=False)
    monkeypatch.setattr("dashboard.cli.queue.utcnow", lambda: NOW)
    assert queue_main(["--user", "ther.a", "--db", url, "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["latest_score"] == "12 · zone III harmful, one zone up (AUDIT, 12 Nov)"


# ---------------------------------------------------------------- the pages


@pytest.fixture
def served(db_url, monkeypatch, tmp_path) -> Platform:
    return served_platform(db_url, monkeypatch, tmp_path)


def test_triage_and_patient_pages_say_the_risk_item_is_not_assessed(served):
    pid = served.patient("OCD9", "ocd", enrolled_days_ago=30)
    served.module(pid, "ocd", 1, 1)
    served.message(pid, 1, "to_patient", clinician=1)
    served.response(pid, "OCIR", 1, items_for("OCIR", 30))
    served.phq9(pid, 20, 6)
    day = f"{served.ago(20):%d %b}"
    at = logged_in("ther.a")
    table = at.dataframe[0].value
    row = table[table["code"] == "OCD9"].iloc[0]
    assert row["why"] == f"risk item not assessed since {day} (no PHQ-9 item 9 answer for 20 days)"
    assert any("**Risk item not assessed** 1" in m.value for m in at.markdown)
    page = open_patient("ther.a", "OCD9")
    text = shown_text(page)
    assert f"**Risk item not assessed**: risk item not assessed since {day}" in text
    assert "No flags" not in text
    assert f"Risk item (PHQ-9 item 9) last answered on {day}." in text


def test_the_patient_page_says_a_risk_item_never_answered(served):
    pid = served.patient("SOC9", "social_anxiety", enrolled_days_ago=3)
    served.response(pid, "SPIN", 2, items_for("SPIN", 25))
    page = open_patient("ther.a", "SOC9")
    text = shown_text(page)
    assert "Risk item (PHQ-9 item 9) never answered since enrolment: risk is not assessed." in text
