"""Settings: defaults, validation and loading.

One description of every setting (`SETTINGS`) drives validation, the docs (`docs/settings.md`) and the
VS Code extension's `package.json`. Settings come, lowest priority first, from the defaults, the
project's `sql-lsp.toml` or `[tool.sql-lsp]` in `pyproject.toml` (snake_case keys), then editor
settings (`initializationOptions` / `workspace/configuration` section `sqlLsp`, camelCase keys).
Both spellings are accepted everywhere.

A bad value never stops anything: it yields one message naming the key, and that key keeps its
previous value.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEVERITIES = ("off", "hint", "info", "warning", "error")
DIALECTS = ("postgres", "mysql", "sqlite")
PROJECT_MARKERS = ("sql-lsp.toml", "pyproject.toml", ".git")
ENV_DATABASE_URL = "SQL_LSP_DATABASE_URL"
ALL = "ALL"  # in `select`: every rule
# settings that name rules: their values are checked against the known rule ids
RULE_LISTS = frozenset({"select", "extend_select", "ignore"})


@dataclass(frozen=True)
class Setting:
    """One user-visible setting. `key` is the dotted camelCase name used by editors."""

    key: str
    type: str  # "string" | "integer" | "boolean" | "array" | "object"
    default: Any
    description: str
    enum: tuple[str, ...] | None = None
    minimum: int | None = None
    globs: bool = False  # an array of glob patterns: empty patterns are rejected

    @property
    def attr(self) -> tuple[str, str | None]:
        """(section, field) of the Config dataclass this setting lands in."""
        parts = [snake(p) for p in self.key.split(".")]
        return (parts[0], parts[1]) if len(parts) == 2 else (parts[0], None)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "dialect",
        "string",
        "postgres",
        "SQL dialect of the files. postgres gets every rule; mysql and sqlite get the syntactic ones.",
        enum=DIALECTS,
    ),
    Setting(
        "rules",
        "object",
        {},
        'Per-rule severity ("off", "hint", "info", "warning", "error") or a table with `severity` '
        "and the rule's options, keyed by rule id.",
    ),
    Setting(
        "select",
        "array",
        [],
        "Rule ids to run (ALL: every rule). Empty: every rule. A rule not selected is off, "
        "whatever its severity.",
    ),
    Setting(
        "extendSelect",
        "array",
        [],
        "Rule ids to run in addition to `select`.",
    ),
    Setting(
        "ignore",
        "array",
        [],
        "Rule ids to turn off (after `select` and `extendSelect`).",
    ),
    Setting(
        "exclude",
        "array",
        [],
        "Glob patterns of files and folders that `sql-lsp check` does not check (matched "
        "against the path relative to the project root and against each file and folder name). "
        "Their DDL still feeds the schema catalog.",
    ),
    Setting(
        "extendExclude",
        "array",
        [],
        "Glob patterns excluded in addition to `exclude`.",
    ),
    Setting(
        "catalog.paths",
        "array",
        [],
        "Extra glob patterns (relative to the project root) of SQL files whose DDL feeds the schema "
        "catalog, in addition to every *.sql file of the workspace.",
        globs=True,
    ),
    Setting(
        "catalog.exclude",
        "array",
        [],
        "Glob patterns of files never applied to the schema catalog (they are still checked). "
        "Relative to the project root; a pattern without / matches a file or folder name at any "
        "depth; a folder stands for every file below it. See docs/catalog.md.",
        globs=True,
    ),
    Setting(
        "catalog.order",
        "array",
        [],
        "Glob patterns or paths giving the order in which files are applied to the catalog: files "
        "matching the first pattern first, and so on; the other files after them, in the default "
        "(migration tool) order. A file named by its path is applied even if it looks like a "
        "rollback. See docs/catalog.md.",
        globs=True,
    ),
    Setting(
        "database.url",
        "string",
        "",
        "PostgreSQL connection string for the live catalog, statistics and plans. Empty: "
        f"{ENV_DATABASE_URL}, else libpq's PG* variables, service file and .pgpass when PGHOST, "
        "PGDATABASE or PGSERVICE is set; otherwise no database.",
    ),
    Setting(
        "database.schemas",
        "array",
        [],
        "Schemas to load from the database. Empty: the schemas on the connection's search_path.",
    ),
    Setting(
        "database.connectTimeoutMs",
        "integer",
        3000,
        "Give up connecting after this many milliseconds.",
        minimum=100,
    ),
    Setting(
        "database.statementTimeoutMs",
        "integer",
        2000,
        "statement_timeout for every statement the server sends (EXPLAIN, catalog queries).",
        minimum=10,
    ),
    Setting(
        "database.lockTimeoutMs",
        "integer",
        500,
        "lock_timeout for every statement the server sends, so a migration's lock never blocks it.",
        minimum=10,
    ),
    Setting(
        "database.catalogTimeoutMs",
        "integer",
        30000,
        "Time box for loading the whole live catalog.",
        minimum=100,
    ),
    Setting(
        "database.refreshIntervalSeconds",
        "integer",
        300,
        "Reload the live catalog and statistics this often (0: only on the refresh command).",
        minimum=0,
    ),
    Setting(
        "explain.analyze",
        "boolean",
        False,
        "Offer EXPLAIN ANALYZE (plain SELECT only; it runs the query, in a read-only transaction "
        "that is rolled back).",
    ),
    Setting(
        "explain.hoverBudgetMs",
        "integer",
        2000,
        "A hover waits this long for the database at most, then says in one line why it has no "
        "plan (lock wait, timeout, outage).",
        minimum=100,
    ),
    Setting(
        "explain.minImprovementPercent",
        "integer",
        30,
        "Offer a hypothetical index (HypoPG) only when it cuts the plan cost by at least this much.",
        minimum=0,
    ),
    Setting(
        "explain.hypopg",
        "boolean",
        True,
        "Use HypoPG, when installed in the database, to price suggested indexes.",
    ),
    Setting(
        "explain.codeLens",
        "boolean",
        True,
        'Show "Explain" code lenses above explainable statements when a database is configured.',
    ),
    Setting(
        "diagnostics.debounceMs",
        "integer",
        150,
        "Wait this long after the last keystroke before re-analysing a document (0: at once).",
        minimum=0,
    ),
)


@dataclass(frozen=True)
class RuleSettings:
    severity: str | None = None  # None: the rule's default
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CatalogSettings:
    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    order: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = ""
    schemas: tuple[str, ...] = ()
    connect_timeout_ms: int = 3000
    statement_timeout_ms: int = 2000
    lock_timeout_ms: int = 500
    catalog_timeout_ms: int = 30000
    refresh_interval_seconds: int = 300

    def effective_url(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The connection string to use, or None when no database is configured.

        An empty string means "libpq defaults" (PG* variables, service file, .pgpass).
        """
        env = os.environ if environ is None else environ
        if self.url:
            return self.url
        if env.get(ENV_DATABASE_URL):
            return env[ENV_DATABASE_URL]
        if any(env.get(k) for k in ("PGHOST", "PGDATABASE", "PGSERVICE")):
            return ""
        return None


@dataclass(frozen=True)
class ExplainSettings:
    analyze: bool = False
    hover_budget_ms: int = 2000
    min_improvement_percent: int = 30
    hypopg: bool = True
    code_lens: bool = True


@dataclass(frozen=True)
class DiagnosticsSettings:
    debounce_ms: int = 150


@dataclass(frozen=True)
class Config:
    dialect: str = "postgres"
    rules: Mapping[str, RuleSettings] = field(default_factory=dict)
    select: tuple[str, ...] = ()  # empty: every rule
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    extend_exclude: tuple[str, ...] = ()
    catalog: CatalogSettings = field(default_factory=CatalogSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    explain: ExplainSettings = field(default_factory=ExplainSettings)
    diagnostics: DiagnosticsSettings = field(default_factory=DiagnosticsSettings)
    source: Path | None = None  # the TOML file these came from, if any

    def rule(self, rule_id: str) -> RuleSettings:
        """The rule's settings; severity "off" when `select` / `ignore` leave it out."""
        settings = self.rules.get(rule_id) or RuleSettings()
        if not self.selected(rule_id):
            return RuleSettings("off", settings.options)
        return settings

    def selected(self, rule_id: str) -> bool:
        """Whether `select`, `extend_select` and `ignore` let the rule run."""
        if rule_id in self.ignore:
            return False
        if not self.select or ALL in self.select:
            return True
        return rule_id in self.select or rule_id in self.extend_select

    @property
    def excluded(self) -> tuple[str, ...]:
        """`exclude` and `extend_exclude` together."""
        return (*self.exclude, *self.extend_exclude)

    @property
    def key(self) -> tuple:
        """Hashable identity of everything that changes lint results (for caches)."""
        return (
            self.dialect,
            self.select,
            self.extend_select,
            self.ignore,
            tuple(
                sorted(
                    (k, v.severity, tuple(sorted((o, repr(x)) for o, x in v.options.items())))
                    for k, v in self.rules.items()
                )
            ),
        )


class ConfigError(Exception):
    """A configuration file that cannot be read at all (the CLI exits 2)."""


def snake(name: str) -> str:
    """camelCase -> snake_case; snake_case and kebab-case are left as they are."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


_BY_ATTR = {s.attr: s for s in SETTINGS}
_SECTIONS = {s.attr[0] for s in SETTINGS if s.attr[1] is not None} | {"rules"}
# Settings of the editor client itself, sent along by some clients; not the server's business.
CLIENT_SECTIONS = frozenset({"server", "trace"})


def _check(setting: Setting, value: Any, where: str) -> tuple[Any, str | None]:
    """Validate one value; return (converted value, error message or None)."""
    name = f"{where}{setting.key}"
    if setting.type == "string":
        if not isinstance(value, str):
            return None, f"{name}: expected a string, got {value!r}; using the default"
        if setting.enum and value.lower() not in setting.enum:
            choices = ", ".join(setting.enum)
            return None, f"{name}: {value!r} is not one of {choices}; using the default"
        return (value.lower() if setting.enum else value), None
    if setting.type == "integer":
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            return None, f"{name}: expected a whole number, got {value!r}; using the default"
        if setting.minimum is not None and value < setting.minimum:
            return (
                None,
                f"{name}: must be at least {setting.minimum}, got {value!r}; using the default",
            )
        return int(value), None
    if setting.type == "boolean":
        if not isinstance(value, bool):
            return None, f"{name}: expected true or false, got {value!r}; using the default"
        return value, None
    if setting.type == "array":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            return None, f"{name}: expected a list of strings, got {value!r}; using the default"
        if setting.globs and not all(v.strip() for v in value):
            return None, f"{name}: empty glob pattern in {value!r}; using the default"
        return tuple(value), None
    return value, None


def _rules(
    value: Any, base: Mapping[str, RuleSettings], known: Iterable[str] | None, where: str
) -> tuple[dict[str, RuleSettings], list[str]]:
    errors: list[str] = []
    out = dict(base)
    if isinstance(value, list | tuple) and not value:
        value = {}  # Lua clients encode an empty table as []
    if not isinstance(value, Mapping):
        return out, [f"{where}rules: expected a table keyed by rule id, got {value!r}; ignored"]
    known_ids = set(known) if known is not None else None
    for rule_id, spec in value.items():
        rid = str(rule_id)
        if known_ids is not None and rid not in known_ids:
            errors.append(f"{where}rules.{rid}: unknown rule; ignored (see `sql-lsp rules`)")
            continue
        prev = out.get(rid, RuleSettings())
        if isinstance(spec, str):
            spec = {"severity": spec}
        if not isinstance(spec, Mapping):
            errors.append(
                f"{where}rules.{rid}: expected a severity or a table, got {spec!r}; ignored"
            )
            continue
        severity = prev.severity
        options = dict(prev.options)
        for key, val in spec.items():
            if key == "severity":
                if not isinstance(val, str) or val.lower() not in SEVERITIES:
                    errors.append(
                        f"{where}rules.{rid}.severity: {val!r} is not one of "
                        f"{', '.join(SEVERITIES)}; using the default"
                    )
                else:
                    severity = val.lower()
            else:
                options[snake(str(key))] = val
        out[rid] = RuleSettings(severity, options)
    return out, errors


def _rule_list(
    setting: Setting, ids: tuple[str, ...], known: Iterable[str], where: str
) -> tuple[tuple[str, ...], list[str]]:
    """The known rule ids of a `select` / `ignore` list, and one message per unknown one."""
    known_ids = {*known, ALL}
    unknown = [i for i in ids if i not in known_ids]
    errors = [
        f"{where}{setting.key}: unknown rule {i!r}; ignored (see `sql-lsp rules`)" for i in unknown
    ]
    return tuple(i for i in ids if i in known_ids), errors


def merge(
    base: Config,
    data: Mapping[str, Any],
    *,
    known_rules: Iterable[str] | None = None,
    where: str = "",
) -> tuple[Config, list[str]]:
    """Layer a settings mapping (TOML table or editor settings) over `base`.

    Keys may be camelCase or snake_case, nested (`{"database": {"url": ...}}`) or dotted
    (`{"database.url": ...}`). Returns the new config and one message per rejected key.
    """
    errors: list[str] = []
    if not isinstance(data, Mapping):
        return base, [f"{where or 'settings'}: expected a table, got {data!r}; ignored"]
    flat: dict[tuple[str, str | None], Any] = {}
    for key, value in data.items():
        parts = [snake(p).replace("-", "_") for p in str(key).split(".")]
        if parts[0] in CLIENT_SECTIONS:
            continue  # the editor extension's own settings (how to start the server, tracing)
        if isinstance(value, list | tuple) and not value and parts[0] in _SECTIONS:
            value = {}  # Lua clients encode an empty table as []
        if len(parts) == 1 and isinstance(value, Mapping) and parts[0] != "rules":
            for sub, val in value.items():
                flat[(parts[0], snake(str(sub)).replace("-", "_"))] = val
        else:
            flat[(parts[0], parts[1] if len(parts) > 1 else None)] = value
    sections: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for attr, value in flat.items():
        if attr == ("rules", None):
            rules, errs = _rules(value, base.rules, known_rules, where)
            top["rules"] = rules
            errors += errs
            continue
        setting = _BY_ATTR.get(attr)
        if setting is None:
            name = ".".join(camel(p) for p in attr if p)
            errors.append(f"{where}{name}: unknown setting; ignored")
            continue
        converted, err = _check(setting, value, where)
        if err:
            errors.append(err)
            continue
        if attr[0] in RULE_LISTS and known_rules is not None:
            converted, errs = _rule_list(setting, converted, known_rules, where)
            errors += errs
        section, fld = attr
        if fld is None:
            top[section] = converted
        else:
            sections.setdefault(section, {})[fld] = converted
    changes: dict[str, Any] = dict(top)
    for section, values in sections.items():
        changes[section] = dataclasses.replace(getattr(base, section), **values)
    return dataclasses.replace(base, **changes), errors


def find_project_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` holding sql-lsp.toml, pyproject.toml or .git."""
    start = start.resolve()
    here = start if start.is_dir() else start.parent
    for folder in (here, *here.parents):
        if any((folder / m).exists() for m in PROJECT_MARKERS):
            return folder
    return None


def find_config_file(start: Path) -> Path | None:
    """The nearest sql-lsp.toml, or pyproject.toml with a [tool.sql-lsp] table, walking up."""
    start = start.resolve()
    here = start if start.is_dir() else start.parent
    for folder in (here, *here.parents):
        own = folder / "sql-lsp.toml"
        if own.is_file():
            return own
        py = folder / "pyproject.toml"
        if py.is_file():
            try:
                if "sql-lsp" in tomllib.loads(py.read_text(encoding="utf-8")).get("tool", {}):
                    return py
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
    return None


def read_config_file(path: Path) -> dict[str, Any]:
    """The sql-lsp table of a TOML file. Raises ConfigError when it cannot be read or parsed."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: no such file") from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from e
    if path.name == "pyproject.toml":
        return data.get("tool", {}).get("sql-lsp", {})
    return data.get("tool", {}).get("sql-lsp", data) if "tool" in data else data


def load_config(
    start: Path | None = None,
    *,
    file: Path | None = None,
    known_rules: Iterable[str] | None = None,
) -> tuple[Config, list[str]]:
    """Defaults layered with the project file found from `start` (or the explicit `file`).

    Raises ConfigError when the file exists but cannot be parsed; returns per-key messages for
    values that are rejected.
    """
    path = file or (find_config_file(start) if start is not None else None)
    if path is None:
        return Config(), []
    data = read_config_file(path)
    config, errors = merge(Config(), data, known_rules=known_rules, where=f"{path.name}: ")
    return dataclasses.replace(config, source=path), errors


def settings_table() -> list[dict[str, Any]]:
    """Every setting as plain data (docs and the editor extension's manifest check)."""
    return [
        {
            "key": s.key,
            "type": s.type,
            "default": s.default,
            "description": s.description,
            **({"enum": list(s.enum)} if s.enum else {}),
            **({"minimum": s.minimum} if s.minimum is not None else {}),
        }
        for s in SETTINGS
    ]
