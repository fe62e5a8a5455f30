"""Settings layering: TOML tables and editor settings over the defaults."""

from __future__ import annotations

from sql_lsp.config import Config, RuleSettings, merge


def test_empty_lua_tables_are_empty_sections() -> None:
    config, errors = merge(
        Config(), {"rules": [], "database": [], "diagnostics": {"debounceMs": 0}}
    )
    assert errors == []
    assert config.rules == {}
    assert config.database == Config().database
    assert config.diagnostics.debounce_ms == 0


def test_client_sections_are_ignored_silently() -> None:
    config, errors = merge(
        Config(), {"server": {"command": ["sql-lsp"]}, "trace": {"server": "verbose"}}
    )
    assert errors == []
    assert config == Config()


def test_unknown_and_invalid_keys_name_the_key() -> None:
    config, errors = merge(
        Config(),
        {"bogus": 1, "diagnostics": {"debounceMs": -5}, "rules": {"select-star": "loud"}},
        known_rules=["select-star"],
    )
    assert errors == [
        "bogus: unknown setting; ignored",
        "diagnostics.debounceMs: must be at least 0, got -5; using the default",
        "rules.select-star.severity: 'loud' is not one of off, hint, info, warning, error; "
        "using the default",
    ]
    assert config.diagnostics.debounce_ms == 150


def test_dotted_snake_and_camel_keys() -> None:
    config, errors = merge(
        Config(),
        {"database.url": "postgresql:///x", "explain": {"min_improvement_percent": 10}},
    )
    assert errors == []
    assert config.database.url == "postgresql:///x"
    assert config.explain.min_improvement_percent == 10


def test_rule_table_with_options() -> None:
    config, errors = merge(
        Config(), {"rules": {"unused-index": {"severity": "error", "maxScans": 5}}}
    )
    assert errors == []
    assert config.rules["unused-index"] == RuleSettings("error", {"max_scans": 5})
