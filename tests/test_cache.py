"""The persistent cache of `sql-lsp check` (`sql_lsp.cache`): the same findings with and
without it, a file linted again only when its text, the settings, the code or the catalog
changed, and a cache that is corrupt or cannot be written never failing a check."""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sql_lsp import cache as cache_module
from sql_lsp.cli import main
from sql_lsp.lint import Linter

SCHEMA = """\
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, name text);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id));
"""
QUERIES = """\
SELECT * FROM users WHERE lower(email) = 'ada@example.com';
SELECT id FROM orders WHERE user_id = 1;
SELECT id FROM orders WHERE;
"""
LOWER_EMAIL = "lower(email) cannot use that index"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "sql-lsp.toml").write_text("", encoding="utf-8")
    (tmp_path / "schema.sql").write_text(SCHEMA, encoding="utf-8")
    (tmp_path / "q.sql").write_text(QUERIES, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(cache_module.ENV_CACHE_DIR, raising=False)
    for name in [k for k in os.environ if k.startswith(("PG", "SQL_LSP_DATABASE"))]:
        monkeypatch.delenv(name)
    yield tmp_path
    gc.enable()  # `check` turns the collector off for its (short-lived) process


@pytest.fixture
def linted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the linter is run on (empty: every finding came from the cache)."""
    names: list[str] = []
    lint = Linter.lint

    def spy(self: Linter, document, *args, **kwargs):  # type: ignore[no-untyped-def]
        names.append(document.uri.rsplit("/", 1)[-1])
        return lint(self, document, *args, **kwargs)

    monkeypatch.setattr(Linter, "lint", spy)
    return names


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*/*.json") if p.name != cache_module.RULES_FILE)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_findings_identical_with_and_without_the_cache(
    project: Path, capsys: pytest.CaptureFixture[str], linted: list[str], fmt: str
) -> None:
    expected = check(capsys, "--format", fmt, "--no-cache", ".")
    assert expected[0] == 1 and LOWER_EMAIL in expected[1]
    assert not (project / ".sql-lsp-cache").exists()
    linted.clear()
    assert check(capsys, "--format", fmt, ".") == expected  # cold: linted, then stored
    assert sorted(linted) == ["q.sql", "schema.sql"]
    assert len(entries(project / ".sql-lsp-cache")) == 2
    linted.clear()
    assert check(capsys, "--format", fmt, ".") == expected  # warm: nothing linted
    assert linted == []
    assert check(capsys, "--format", fmt, "q.sql") == check(
        capsys, "--no-cache", "--format", fmt, "q.sql"
    )


def test_a_changed_query_file_is_linted_alone(
    project: Path, capsys: pytest.CaptureFixture[str], linted: list[str]
) -> None:
    check(capsys, ".")
    (project / "q.sql").write_text("SELECT * FROM orders;\n", encoding="utf-8")
    linted.clear()
    code, out, _ = check(capsys, ".")
    assert linted == ["q.sql"]
    assert (code, out) == check(capsys, "--no-cache", ".")[:2]
    assert "q.sql:1:8: warning select-star" in out


def test_a_changed_ddl_file_updates_the_catalog_findings_of_the_others(
    project: Path, capsys: pytest.CaptureFixture[str], linted: list[str]
) -> None:
    before = check(capsys, ".")[1]
    assert "q.sql:1:27: warning function-on-indexed-column" in before
    # email is no longer unique, so no longer indexed: lower(email) is no longer a finding
    (project / "schema.sql").write_text(SCHEMA.replace(" UNIQUE", ""), encoding="utf-8")
    linted.clear()
    code, out, _ = check(capsys, ".")
    assert sorted(linted) == ["q.sql", "schema.sql"]  # a new catalog generation
    assert LOWER_EMAIL not in out
    assert (code, out) == check(capsys, "--no-cache", ".")[:2]
    linted.clear()
    assert check(capsys, ".")[1] == out
    assert linted == []


def test_a_non_ddl_change_to_the_schema_file_keeps_the_catalog_generation(
    project: Path, capsys: pytest.CaptureFixture[str], linted: list[str]
) -> None:
    check(capsys, ".")
    (project / "schema.sql").write_text(SCHEMA + "SELECT 1;\n", encoding="utf-8")
    linted.clear()
    cached = check(capsys, ".")
    assert linted == ["schema.sql"]  # the same catalog statements: q.sql's entry holds
    assert cached == check(capsys, "--no-cache", ".")


def test_settings_key_the_entries(
    project: Path, capsys: pytest.CaptureFixture[str], linted: list[str]
) -> None:
    check(capsys, ".")
    selected = check(capsys, "--select", "select-star", ".")
    assert selected == check(capsys, "--no-cache", "--select", "select-star", ".")
    assert {line.split()[2] for line in selected[1].splitlines()} == {"select-star"}
    (project / "sql-lsp.toml").write_text('[rules]\nselect-star = "error"\n', encoding="utf-8")
    code, out, _ = check(capsys, ".")
    assert "q.sql:1:8: error select-star" in out
    assert (code, out) == check(capsys, "--no-cache", ".")[:2]


def test_a_corrupt_entry_is_one_warning_and_is_rewritten(
    project: Path, capsys: pytest.CaptureFixture[str], linted: list[str]
) -> None:
    expected = check(capsys, ".")
    for entry in entries(project / ".sql-lsp-cache"):
        entry.write_text('{"path": 3, "findings": [', encoding="utf-8")
    linted.clear()
    code, out, err = check(capsys, ".")
    assert (code, out) == expected[:2]
    assert sorted(linted) == ["q.sql", "schema.sql"]
    assert len(err.splitlines()) == 1
    assert err.startswith("sql-lsp: warning: cache entry ") and err.endswith("; ignored\n")
    linted.clear()
    assert check(capsys, ".") == expected  # rewritten: read back without a warning
    assert linted == []


def test_an_entry_of_the_wrong_shape_is_ignored(
    project: Path, capsys: pytest.CaptureFixture[str], linted: list[str]
) -> None:
    expected = check(capsys, ".")
    for entry in entries(project / ".sql-lsp-cache"):
        data = json.loads(entry.read_text(encoding="utf-8"))
        data["findings"] = [["select-star"]]
        entry.write_text(json.dumps(data), encoding="utf-8")
    code, out, err = check(capsys, ".")
    assert (code, out) == expected[:2]
    assert "malformed findings" in err


def test_an_unwritable_cache_is_one_warning(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = check(capsys, "--no-cache", ".")
    blocker = project / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    code, out, err = check(capsys, "--cache-dir", str(blocker / "cache"), ".")
    assert (code, out) == expected[:2]
    assert err.startswith(f"sql-lsp: warning: cannot write the cache in {blocker / 'cache'} (")
    assert err.endswith("); not cached\n") and len(err.splitlines()) == 1


def test_no_cache_reads_and_writes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str], linted: list[str]
) -> None:
    check(capsys, ".")
    before = {p: p.read_bytes() for p in entries(project / ".sql-lsp-cache")}
    linted.clear()
    check(capsys, "--no-cache", ".")
    assert sorted(linted) == ["q.sql", "schema.sql"]
    assert {p: p.read_bytes() for p in entries(project / ".sql-lsp-cache")} == before


def test_cache_dir_option_and_environment_variable(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = check(capsys, "--no-cache", ".")
    assert check(capsys, "--cache-dir", "elsewhere", ".") == expected
    assert len(entries(project / "elsewhere")) == 2
    monkeypatch.setenv(cache_module.ENV_CACHE_DIR, str(project / "from-env"))
    assert check(capsys, ".") == expected
    assert len(entries(project / "from-env")) == 2
    assert not (project / ".sql-lsp-cache").exists()


def test_the_cache_folder_ignores_itself(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    check(capsys, ".")
    folder = project / ".sql-lsp-cache"
    assert (folder / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    tag = (folder / "CACHEDIR.TAG").read_text(encoding="utf-8")
    assert tag.startswith("Signature: 8a477f597d28d172789f06886806bc55\n")


def test_the_cache_is_in_the_folder_of_the_settings_file(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = project / "sub"
    sub.mkdir()
    monkeypatch.chdir(sub)
    check(capsys, "..")
    assert (project / ".sql-lsp-cache").is_dir()
    assert not (sub / ".sql-lsp-cache").exists()


def test_folders_of_other_code_are_pruned(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = project / ".sql-lsp-cache" / "0123456789abcdef"
    stale.mkdir(parents=True)
    (stale / "x.json").write_text("{}", encoding="utf-8")
    check(capsys, ".")
    assert [p.name for p in (project / ".sql-lsp-cache").iterdir() if p.is_dir()] == [
        cache_module.code_fingerprint()
    ]


def test_entries_unused_for_long_are_pruned(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    check(capsys, ".")
    folder = project / ".sql-lsp-cache" / cache_module.code_fingerprint()
    old = folder / ("0" * 32 + ".json")
    old.write_text("{}", encoding="utf-8")
    long_ago = os.stat(old).st_mtime - (cache_module.MAX_AGE_DAYS + 1) * 86_400
    os.utime(old, (long_ago, long_ago))
    (folder / ".pruned").unlink()
    (project / "q.sql").write_text("SELECT 2;\n", encoding="utf-8")  # something to write
    check(capsys, ".")
    assert not old.exists()
    assert len(entries(project / ".sql-lsp-cache")) == 2


def test_stdin_and_fix_bypass_the_cache(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import sys

    check(capsys, ".")
    stdin = io.TextIOWrapper(io.BytesIO(b"SELECT * FROM users;\n"), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    code, out, _ = check(capsys, "-")
    assert (code, out.split(": ", 1)[0]) == (1, "-:1:8")
    (project / "q.sql").write_text("SELECT * FROM users;\n", encoding="utf-8")
    check(capsys, "q.sql")  # cached with its select-star finding
    fixed = check(capsys, "--fix", "q.sql")
    assert fixed[2] == "fixed 1 in q.sql: select-star\n"
    text = (project / "q.sql").read_text(encoding="utf-8")
    assert text == "SELECT id, email, name FROM users;\n"
    assert check(capsys, "q.sql") == check(capsys, "--no-cache", "q.sql") == (0, "", "")


def test_a_read_only_default_folder_is_silently_not_used(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = check(capsys, "--no-cache", ".")
    real_mkdir = Path.mkdir

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        if ".sql-lsp-cache" in self.parts:
            raise PermissionError(13, "Permission denied", str(self))
        real_mkdir(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "mkdir", refuse)
    assert check(capsys, ".") == expected  # same findings, nothing on stderr
    assert not (project / ".sql-lsp-cache").exists()
    monkeypatch.setenv("SQL_LSP_CACHE_DIR", str(project / ".sql-lsp-cache"))
    code, out, err = check(capsys, ".")
    assert (code, out) == expected[:2]
    assert err.startswith("sql-lsp: warning: cannot write the cache in ")


def test_files_linted_in_two_processes_find_what_one_finds(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sql_lsp import cli

    for n in range(5):
        (project / f"q{n}.sql").write_text(
            QUERIES + f"SELECT * FROM orders WHERE id = {n} OR user_id = {n};\n"
            "UPDATE users SET name = NULL;\n",
            encoding="utf-8",
        )
    chosen: list[bool] = []
    parallel = cli._parallel

    def spy(*args):  # type: ignore[no-untyped-def]
        chosen.append(parallel(*args))
        return chosen[-1]

    monkeypatch.setattr(cli, "_parallel", spy)
    for fmt in ("text", "json"):
        serial = check(capsys, "--format", fmt, "--no-cache", ".")
        assert chosen == [False]  # a few bytes: not worth a second process
        monkeypatch.setattr(cli, "PARALLEL_BYTES", 0)
        assert check(capsys, "--format", fmt, "--no-cache", ".") == serial
        assert check(capsys, "--format", fmt, "--statistics", "--no-cache", ".") == check(
            capsys,
            "--format",
            fmt,
            "--statistics",
            "--no-cache",
            "q0.sql",
            "q1.sql",
            "q2.sql",
            "q3.sql",
            "q4.sql",
            "q.sql",
            "schema.sql",
        )
        assert check(capsys, "--format", fmt, ".") == serial  # cold cache: linted in two
        assert check(capsys, "--format", fmt, ".") == serial  # warm: nothing linted
        (project / "q3.sql").write_text(QUERIES, encoding="utf-8")
        changed = check(capsys, "--format", fmt, ".")  # one file: one process
        monkeypatch.setattr(cli, "PARALLEL_BYTES", 10**9)
        assert changed == check(capsys, "--format", fmt, "--no-cache", ".")
        assert chosen[:4] == [False, True, True, True] and True in chosen[4:]
        assert chosen[-1] is False  # the serial reference
        chosen.clear()
        (project / ".sql-lsp-cache").rename(project / f".old-{fmt}")
