"""Configuration: environment variables win over .streamlit/secrets.toml, which wins
over the defaults declared here (docs/design.md, Configuration).

Thresholds are declared as data (name, default, help) so that the README's table
and the code cannot drift apart; a test checks the README lists every one.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dashboard import i18n
from dashboard.commands import command
from dashboard.instruments import Instrument, InstrumentFileError, load_registry

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
DEMO_DB_PATH = DATA_DIR / "demo.sqlite"
DEMO_AUTH_FILE = Path(__file__).resolve().parent / "demo_auth.yaml"
DEMO_TIMEZONE = "Europe/Stockholm"  # the demo service's zone (a Swedish primary-care service, papers/000)
SECRETS_FILE = ROOT / ".streamlit" / "secrets.toml"

MODES = ("demo", "production")


SettingValue = bool | int | float | str | Mapping[str, str] | None

# clinical-reference 3.3: the anxiety measure paired with PHQ-9 by problem descriptor, as
# instrument codes. The reference names "OCI" for OCD: OCI-R (OCIR) is another instrument,
# used only when a service maps OCD to it. IES-R, the Mobility Inventory and HAI are not in
# the shipped registry: a service that adds them under these codes has them used.
REFERENCE_ANXIETY_MEASURES: dict[str, str] = {
    "depression": "GAD7",
    "GAD": "GAD7",
    "mixed anxiety/depression": "GAD7",
    "none recorded": "GAD7",
    "social anxiety disorder": "SPIN",
    "PTSD": "IESR",
    "agoraphobia": "MI",
    "OCD": "OCI",
    "panic disorder": "PDSS",
    "health anxiety": "HAI",
}
NO_DESCRIPTOR = "none recorded"  # a programme the service has not mapped (3.3)


@dataclass(frozen=True)
class Setting:
    name: str
    default: SettingValue
    help: str
    choices: tuple[str, ...] = ()  # for a setting that names one of several definitions


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "idle_timeout_minutes",
        15,
        "A session with no clinician action for this long is logged out on the server, whatever the cookie says (a reload, a new tab and the triage queue's own refresh are not actions).",
    ),
    Setting(
        "idle_check_seconds",
        30,
        "How often an open page asks the server whether its session is still live, so an unattended screen blanks itself (shows the login form) within this long after the idle timeout, without a click.",
    ),
    Setting(
        "max_failed_logins",
        5,
        "Login attempts for one username (known or not) within `login_lockout_minutes` since its last successful login, after which that login is refused, even with the right password, until the window passes or an operator runs `"
        + command("unlock")
        + "`.",
    ),
    Setting("login_lockout_minutes", 15, "The window for `max_failed_logins`."),
    Setting(
        "max_cookie_hours",
        12,
        "Production refuses a credentials file whose `cookie.expiry_days` makes the login cookie live longer than this.",
    ),
    Setting(
        "statement_timeout_seconds",
        30,
        "The app stops any database statement running longer than this and says so (PostgreSQL statement_timeout; a progress-handler deadline on SQLite).",
    ),
    Setting("cache_ttl_seconds", 60, "How long a page's query result is reused before it is read again."),
    Setting(
        "demo_max_age_hours",
        24,
        "The embedded demo database is regenerated when it was made for a `now` older than this, so flags stay live.",
    ),
    Setting("min_cookie_key_bytes", 32, "Production refuses a cookie signing key shorter than this."),
    Setting(
        "module_pace_days",
        7,
        "Expected days per module: module k is due at enrolment + k x pace (clinical-reference 5.3).",
    ),
    Setting(
        "reminder_module_overdue_days",
        2,
        "A module not completed this many days after it was due is overdue (clinical-reference 5.3).",
    ),
    Setting(
        "baseline_window_days",
        14,
        "A questionnaire up to this many days before enrolment can be the baseline (docs/design.md, treatment clock).",
    ),
    Setting("inactive_days", 7, "No activity for this many days raises `inactive` (docs/design.md: last activity)."),
    Setting("inactive_at_risk_days", 14, '`inactive` becomes "at risk of drop-out" after this many days.'),
    Setting("inactive_lapsed_days", 28, '`inactive` becomes "lapsed" after this many days.'),
    Setting(
        "reply_overdue_hours",
        48,
        'A patient message unanswered this long is an overdue reply (before that: "reply within 48 h").',
    ),
    Setting(
        "feedback_due_hours",
        48,
        "A completed module with no clinician contact since raises `feedback_due` after this many hours.",
    ),
    Setting(
        "not_started_days",
        14,
        "No module started this many days after enrolment raises `not_started` (clinical-reference 5.3, escalate_not_started_days).",
    ),
    Setting(
        "no_contact_days",
        7,
        "No clinician contact (a to_patient message from a clinician) for this many days raises `no_contact`.",
    ),
    Setting(
        "questionnaire_overdue_days",
        14,
        "No primary-measure questionnaire for this many days raises `questionnaire_overdue`; no PHQ-9 item 9 answer for this many days raises `risk_unassessed`.",
    ),
    Setting(
        "risk_after_end_days",
        30,
        "Risk answers are still triaged this many days after a completed or withdrawn episode ended, or until `follow_up_to_weeks` after it if that is later (one span from the end: no gap if the follow-up window opens later); an answer of that span stays in the lists this many days after it closed, until acknowledged.",
    ),
    Setting(
        "follow_up_from_weeks",
        4,
        'The post-treatment follow-up window opens this many weeks after the episode ended: the outcome table\'s "at follow-up" column reads the latest valid score in the window (issue 20).',
    ),
    Setting(
        "follow_up_to_weeks",
        26,
        "The post-treatment follow-up window closes this many weeks after the episode ended; risk answers up to then are triaged like any risk answer, with the therapist as owner and escalation to the team lead (from the end on, with `risk_after_end_days`); later ones are not: the service's own protocol applies.",
    ),
    Setting(
        "not_on_track_week4_first_day",
        22,
        "First day of treatment week 4 for the not-on-track check (clinical-reference 6.2, not_on_track_week4_days).",
    ),
    Setting(
        "not_on_track_week4_last_day",
        28,
        "Last day of treatment week 4 for the not-on-track check (clinical-reference 6.2).",
    ),
    Setting(
        "ack_expiry_days",
        7,
        "Acknowledgements of `inactive`, `no_contact`, `risk_unassessed` and `questionnaire_overdue` expire after this many days.",
    ),
    Setting(
        "risk_note_min_chars",
        10,
        "Acknowledging a risk answer or a peer supporter's concern needs a note of at least this many characters, visible to the team; recording a concern needs as many.",
    ),
    Setting(
        "risk_escalation_working_days",
        1,
        "A risk answer or a peer supporter's concern nobody has acknowledged within this many working days (Monday-Friday) from the earliest unhandled one is escalated: it comes before a risk of the same grade that is not, in every list.",
    ),
    Setting(
        "queue_refresh_seconds",
        60,
        "The triage queue reloads itself this often (never while an acknowledgement form is open).",
    ),
    Setting(
        "refresh_every_seconds",
        60,
        "The embedded demo (one SQLite file for platform and state) runs the refresher in the app's own process: a cycle at start, then one this often; 0 turns it off. Other deployments run `"
        + command("refresh", "--every", "60")
        + "` as a service.",
    ),
    Setting(
        "followup_overdue_days",
        14,
        "A GP follow-up is overdue this many days after the first module completed since the last one.",
    ),
    Setting(
        "max_pause_weeks",
        12,
        "The longest pause a GP may log, in weeks: a pause holds `inactive` and `no_contact`, so an unbounded one (a typo in the year) would silence them for years.",
    ),
    Setting(
        "followup_after_end_days",
        28,
        "Completed and withdrawn patients stay on the GP's due list this many days after the episode ended.",
    ),
    Setting(
        "gad7_max_missing_items",
        0,
        "GAD-7 items that may be missing and prorated; the reference gives no rule, so by default a GAD-7 with a missing item is not scored (clinical-reference 2.4).",
    ),
    Setting(
        "pdss_cutoff",
        None,
        "PDSS cut-off line (>=); the reference fixes none (clinical-reference 4), so none is drawn unless the service sets one.",
    ),
    Setting(
        "pdss_reliable_change",
        None,
        "PDSS reliable-change criterion in points; unset by default: compute it with the Jacobson-Truax formula (clinical-reference 1.7) and record its SD and reliability.",
    ),
    Setting(
        "report_period_days",
        90,
        'The Caseload page\'s default reporting period, ending today; "change" compares with the same length just before.',
    ),
    Setting(
        "team_snapshot_every_seconds",
        300,
        "`"
        + command("refresh")
        + "` rebuilds a team's Caseload snapshot once it is this old, one team after another under the refresher's lease. When building every team takes longer (docs/deployment.md, Sizing: about 11 minutes for 20 teams of 5,000 patients), each is rebuilt once a cycle; keep `team_snapshot_max_age_seconds` above that time, or the Caseload computes live.",
    ),
    Setting(
        "team_snapshot_max_age_seconds",
        900,
        "Caseload: the team's default-period figures kept by `"
        + command("refresh")
        + "` are shown, with their time, while at most this old; otherwise they are computed when the page opens. Follow-ups and acknowledgements are always live.",
    ),
    Setting("recent_days", 7, 'Caseload: "active" and "clinician contact" in the last this many days.'),
    Setting(
        "dropout_inactive_days",
        28,
        "Caseload: no activity for this many days before completing counts as drop-out (clinical-reference 5.1), separate from triage's `inactive_days`.",
    ),
    Setting(
        "funnel_grace_days",
        28,
        "Caseload funnel: a patient counts for module k once their episode ended or k x `module_pace_days` plus this many days have passed since enrolment.",
    ),
    Setting(
        "treatment_session_event",
        "module_completed",
        'What counts as an attended treatment session for "finished a course" (clinical-reference 3.1): a completed module, or a clinician message.',
        ("module_completed", "clinician_message"),
    ),
    Setting(
        "finished_course_min_sessions",
        2,
        "Treatment sessions a finished course needs (clinical-reference 3.1: at least two).",
    ),
    Setting(
        "small_cell_min", 5, 'Outcome rates with a denominator below this are shown as "too few", not as a percentage.'
    ),
    Setting("target_recovery", 0.5, "Recovery-rate standard drawn beside outcomes (clinical-reference 3.6: 50 %)."),
    Setting(
        "target_reliable_recovery",
        None,
        "Reliable-recovery target, unset by default (clinical-reference 3.6: planning targets change between rounds).",
    ),
    Setting(
        "target_reliable_improvement", None, "Reliable-improvement target, unset by default (clinical-reference 3.6)."
    ),
    Setting(
        "fhir_include_name",
        False,
        "The FHIR export names the patient (the platform's display name) beside the pseudonymous code; off by default, so a Bundle carries the code alone.",
    ),
    Setting(
        "programme_problem_descriptors",
        {},
        'NHS-style outcomes: each programme\'s problem descriptor (clinical-reference 3.3), a table of programme code = descriptor, e.g. `{ social_anxiety = "social anxiety disorder" }`; a programme not listed is "none recorded" (GAD-7).',
    ),
    Setting(
        "anxiety_measure_by_descriptor",
        REFERENCE_ANXIETY_MEASURES,
        'NHS-style outcomes: the anxiety measure (an instrument code) paired with PHQ-9 for each problem descriptor (clinical-reference 3.3); a table given here replaces the listed descriptors only, e.g. `{ OCD = "OCIR" }` for OCI-R. A measure other than GAD-7 is used only when its instrument has `adsm_caseness` and a reliable-change criterion (README, Instruments), else GAD-7; GAD-7 is also the back-up for a course without the measure\'s pair.',
    ),
    Setting(
        "deterioration_requires_no_improvement",
        False,
        "Count reliable deterioration only without reliable improvement on the other measure; `false` is the safer default (clinical-reference 3.5).",
    ),
)
DEFAULTS: dict[str, SettingValue] = {s.name: s.default for s in SETTINGS}
CHOICES: dict[str, tuple[str, ...]] = {s.name: s.choices for s in SETTINGS if s.choices}


class ConfigError(ValueError):
    """A configuration that cannot work; the message says what to change."""


@dataclass(frozen=True)
class Settings:
    """Thresholds; attribute access for code, ``values`` for display."""

    values: Mapping[str, SettingValue] = field(default_factory=lambda: dict(DEFAULTS))

    def __getattr__(self, name: str) -> SettingValue:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class Config:
    mode: str
    db_url: str
    state_db_url: str
    auth_file: Path
    timezone: ZoneInfo
    platform_url: str | None
    settings: Settings
    instruments: Mapping[str, Instrument]  # the shipped registry with the service's file (DASHBOARD_INSTRUMENTS)
    instruments_file: Path | None = None
    # DASHBOARD_FHIR_IDENTIFIER_SYSTEM: the URI under which the GP's record files the
    # platform's patient codes (README, FHIR export). None: the export is off.
    fhir_identifier_system: str | None = None
    # DASHBOARD_LANGUAGE: every clinician's language until they choose one (README, Languages).
    # None: the browser's language, else English.
    language: str | None = None

    @property
    def is_demo(self) -> bool:
        return self.mode == "demo"

    @property
    def uses_embedded_demo(self) -> bool:
        return self.db_url == demo_db_url()

    @property
    def refreshes_in_process(self) -> bool:
        """The app runs the refresher itself: the embedded demo in one file, which has
        no service beside it; ``refresh_every_seconds`` 0 turns it off."""
        every = float(self.settings.refresh_every_seconds)
        return self.uses_embedded_demo and self.state_db_url == self.db_url and every > 0


# The demo's identifier system. Production has none by default: one shared URI would file
# two services' "P-0001" as one person in a record that receives both (README, FHIR export).
DEMO_FHIR_IDENTIFIER_SYSTEM = "https://caseboard.example/fhir/sid/demo-patient-code"
FHIR_IDENTIFIER_SYSTEM_HELP = (
    "DASHBOARD_FHIR_IDENTIFIER_SYSTEM is the URI under which the receiving record files the platform's "
    "patient codes, e.g. https://icbt.example/fhir/sid/patient-code (an absolute URI: https:, http: or urn:)"
)


def fhir_identifier_system(value: str | None, mode: str) -> str | None:
    """The configured identifier system, the demo's in demo mode, else None; a value
    that is not an absolute URI is refused (a receiving system would reject it)."""
    if value is None:
        return DEMO_FHIR_IDENTIFIER_SYSTEM if mode == "demo" else None
    value = value.strip()
    if not re.fullmatch(r"(https?://[^\s/]+(/\S*)?|urn:[A-Za-z0-9][A-Za-z0-9-]*:\S+)", value):
        raise ConfigError(f"{FHIR_IDENTIFIER_SYSTEM_HELP}; got {value[:80]!r}")
    return value


def demo_db_url() -> str:
    return f"sqlite:///{DEMO_DB_PATH}"


def read_secrets(path: Path = SECRETS_FILE) -> dict[str, Any]:
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


def parse_settings(overrides: Mapping[str, Any]) -> Settings:
    """Defaults overridden by the ``[settings]`` table of secrets.toml; unknown
    names and values of the wrong kind are refused so a typo cannot silently keep
    a default."""
    values = dict(DEFAULTS)
    for name, value in overrides.items():
        if name not in DEFAULTS:
            raise ConfigError(f"Unknown setting {name!r} in [settings]; known: {', '.join(DEFAULTS)}")
        if isinstance(DEFAULTS[name], Mapping):
            values[name] = {**DEFAULTS[name], **_text_table(name, value)}
            continue
        if name in CHOICES:
            if value not in CHOICES[name]:
                raise ConfigError(f"Setting {name!r} must be one of {', '.join(CHOICES[name])}, got {value!r}")
            values[name] = value
            continue
        wants_flag = isinstance(DEFAULTS[name], bool)
        if wants_flag and not isinstance(value, bool):
            raise ConfigError(f"Setting {name!r} must be true or false, got {value!r}")
        if not wants_flag and (isinstance(value, bool) or not isinstance(value, int | float) or value < 0):
            raise ConfigError(f"Setting {name!r} must be a non-negative number, got {value!r}")
        values[name] = value
    return Settings(values)


def _text_table(name: str, value: Any) -> dict[str, str]:
    """A table setting: names to non-empty text (TOML ``{ key = "value" }``)."""
    if not isinstance(value, Mapping):
        raise ConfigError(f'Setting {name!r} must be a table, e.g. {name} = {{ key = "value" }}, got {value!r}')
    for key, text in value.items():
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"Setting {name!r}: {key!r} must be text, got {text!r}")
    return dict(value)


def check_anxiety_measures(settings: Settings, given: Mapping[str, Any], instruments: Mapping[str, Instrument]) -> None:
    """Every programme maps to a descriptor the measure table lists, and every measure a
    service names is an instrument of the registry (the reference's own defaults may name
    instruments a service has not added: those programmes stay on GAD-7)."""
    measures = settings.anxiety_measure_by_descriptor
    for programme, descriptor in settings.programme_problem_descriptors.items():
        if descriptor not in measures:
            raise ConfigError(
                f"Setting 'programme_problem_descriptors': programme {programme!r} has descriptor {descriptor!r}, "
                f"which 'anxiety_measure_by_descriptor' does not list; known: {', '.join(measures)}"
            )
    for descriptor, code in given.get("anxiety_measure_by_descriptor", {}).items():
        if code not in instruments:
            raise ConfigError(
                f"Setting 'anxiety_measure_by_descriptor': descriptor {descriptor!r} names instrument {code!r}, "
                f"which the instrument registry does not have; known: {', '.join(instruments)}"
            )
        if code == "PHQ9":
            raise ConfigError(
                f"Setting 'anxiety_measure_by_descriptor': descriptor {descriptor!r} names PHQ-9, the depression "
                "measure of the pair (clinical-reference 3.2)"
            )


def load_config(env: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None) -> Config:
    """The effective configuration. ``env``/``secrets`` default to the process's."""
    env = os.environ if env is None else env
    secrets = read_secrets() if secrets is None else secrets

    def get(name: str) -> str | None:
        value = env.get(name) or secrets.get(name)
        return str(value) if value else None

    db_url = get("DASHBOARD_DB_URL")
    mode = get("DASHBOARD_MODE") or ("production" if db_url else "demo")
    if mode not in MODES:
        raise ConfigError(f"DASHBOARD_MODE must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "production" and not db_url:
        raise ConfigError("Production mode needs DASHBOARD_DB_URL (the platform database).")
    db_url = db_url or demo_db_url()
    overrides = dict(secrets.get("settings", {}))
    if env.get("DASHBOARD_SETTINGS"):
        try:
            overrides.update(tomllib.loads(env["DASHBOARD_SETTINGS"]))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"DASHBOARD_SETTINGS is not valid TOML (e.g. 'inactive_days = 10'): {exc}") from None
    # Every seed service is in Europe or Canada: the demo shows a named service zone, never
    # UTC by accident; production says which zone it serves (README, Configuration).
    tz_name = get("DASHBOARD_TIMEZONE") or (DEMO_TIMEZONE if mode == "demo" else "UTC")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"DASHBOARD_TIMEZONE {tz_name!r} is not a known time zone (e.g. Europe/London)") from None
    language = i18n.match(get("DASHBOARD_LANGUAGE"))
    if get("DASHBOARD_LANGUAGE") and not i18n.known(language):  # en_XA, the pseudo-locale, too
        raise ConfigError(
            f"DASHBOARD_LANGUAGE {get('DASHBOARD_LANGUAGE')!r} is not one of Caseboard's languages "
            f"({', '.join(i18n.LANGUAGES)})"
        )
    auth_file = Path(get("DASHBOARD_AUTH_FILE") or DEMO_AUTH_FILE)
    settings = parse_settings(overrides)
    instruments_file = Path(get("DASHBOARD_INSTRUMENTS")) if get("DASHBOARD_INSTRUMENTS") else None
    instruments = load_instruments(instruments_file, settings)
    check_anxiety_measures(settings, overrides, instruments)
    return Config(
        mode=mode,
        db_url=db_url,
        state_db_url=get("DASHBOARD_STATE_DB_URL") or db_url,
        auth_file=auth_file,
        timezone=tz,
        platform_url=get("DASHBOARD_PLATFORM_URL"),
        settings=settings,
        instruments=instruments,
        instruments_file=instruments_file,
        fhir_identifier_system=fhir_identifier_system(get("DASHBOARD_FHIR_IDENTIFIER_SYSTEM"), mode),
        language=language,
    )


def load_instruments(service_file: Path | None, settings: Settings) -> dict[str, Instrument]:
    """The instrument registry (dashboard/instruments.toml, the service's file, the
    PDSS settings), refused at start-up like any configuration that cannot work."""
    try:
        return load_registry(service_file, DEFAULTS, settings.values)
    except InstrumentFileError as exc:
        raise ConfigError(f"DASHBOARD_INSTRUMENTS: {exc}" if service_file else str(exc)) from None
