"""Configuration precedence and validation (docs/design.md, Configuration)."""

import pytest

from dashboard.config import (
    DEFAULTS,
    SETTINGS,
    ConfigError,
    demo_db_url,
    load_config,
    parse_settings,
)


def test_no_database_url_means_embedded_demo():
    cfg = load_config(env={}, secrets={})
    assert cfg.mode == "demo" and cfg.is_demo and cfg.uses_embedded_demo
    assert cfg.db_url == cfg.state_db_url == demo_db_url()
    assert cfg.timezone.key == "Europe/Stockholm" and cfg.platform_url is None  # issue 16: a named service zone


def test_database_url_defaults_to_production_and_state_follows_platform():
    cfg = load_config(env={"DASHBOARD_DB_URL": "postgresql+psycopg://x/platform"}, secrets={})
    assert cfg.mode == "production"
    assert cfg.state_db_url == "postgresql+psycopg://x/platform"


def test_environment_wins_over_secrets():
    cfg = load_config(
        env={"DASHBOARD_DB_URL": "sqlite:///env.db", "DASHBOARD_MODE": "demo"},
        secrets={
            "DASHBOARD_DB_URL": "sqlite:///secrets.db",
            "DASHBOARD_STATE_DB_URL": "sqlite:///state.db",
            "DASHBOARD_TIMEZONE": "Europe/London",
        },
    )
    assert cfg.db_url == "sqlite:///env.db" and cfg.mode == "demo"
    assert cfg.state_db_url == "sqlite:///state.db" and cfg.timezone.key == "Europe/London"


@pytest.mark.parametrize(
    "env,message",
    [
        ({"DASHBOARD_MODE": "staging"}, "DASHBOARD_MODE must be one of"),
        ({"DASHBOARD_MODE": "production"}, "Production mode needs DASHBOARD_DB_URL"),
        ({"DASHBOARD_TIMEZONE": "Mars/Olympus"}, "not a known time zone"),
    ],
)
def test_bad_configuration_is_refused_with_a_reason(env, message):
    with pytest.raises(ConfigError, match=message):
        load_config(env=env, secrets={})


def test_settings_overrides_are_checked():
    assert parse_settings({"cache_ttl_seconds": 5}).cache_ttl_seconds == 5
    assert parse_settings({}).cache_ttl_seconds == DEFAULTS["cache_ttl_seconds"]
    with pytest.raises(ConfigError, match="Unknown setting 'cache_tll_seconds'"):
        parse_settings({"cache_tll_seconds": 5})
    with pytest.raises(ConfigError, match="non-negative number"):
        parse_settings({"cache_ttl_seconds": "soon"})
    with pytest.raises(ConfigError, match="true or false"):
        parse_settings({"deterioration_requires_no_improvement": 1})
    assert parse_settings({"deterioration_requires_no_improvement": True}).deterioration_requires_no_improvement is True


def test_readme_documents_every_setting_and_variable():
    from dashboard.config import ROOT

    readme = (ROOT / "README.md").read_text()
    for setting in SETTINGS:
        assert f"`{setting.name}`" in readme, f"README lacks setting {setting.name}"
    for var in (
        "DASHBOARD_MODE",
        "DASHBOARD_DB_URL",
        "DASHBOARD_STATE_DB_URL",
        "DASHBOARD_AUTH_FILE",
        "DASHBOARD_TIMEZONE",
        "DASHBOARD_PLATFORM_URL",
        "DASHBOARD_FHIR_IDENTIFIER_SYSTEM",
        "DASHBOARD_SETTINGS",
        "DASHBOARD_INSTRUMENTS",
    ):
        assert f"`{var}`" in readme, f"README lacks {var}"


def test_settings_from_the_environment_win_over_secrets():
    cfg = load_config(
        env={"DASHBOARD_SETTINGS": "inactive_days = 10\nqueue_refresh_seconds = 30"},
        secrets={"settings": {"inactive_days": 5, "no_contact_days": 9}},
    )
    assert (cfg.settings.inactive_days, cfg.settings.queue_refresh_seconds, cfg.settings.no_contact_days) == (10, 30, 9)
    with pytest.raises(ConfigError, match="DASHBOARD_SETTINGS is not valid TOML"):
        load_config(env={"DASHBOARD_SETTINGS": "inactive_days ="}, secrets={})


def test_the_demo_shows_a_named_service_zone_and_production_the_one_it_sets():
    """Issue 16, item 14: every seed service is in Europe or Canada, so the demo never
    shows UTC by accident; a production service sets its own zone."""
    from dashboard.config import DEMO_TIMEZONE, load_config

    assert load_config(env={}, secrets={}).timezone.key == DEMO_TIMEZONE == "Europe/Stockholm"
    production = {"DASHBOARD_DB_URL": "sqlite:///x.db", "DASHBOARD_TIMEZONE": "America/Toronto"}
    assert load_config(env=production, secrets={}).timezone.key == "America/Toronto"
