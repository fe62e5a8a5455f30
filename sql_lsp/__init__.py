"""sql-lsp: a SQL language server and linter.

The distribution is `sql-review-lsp` (`pip install sql-review-lsp`); it installs the `sql-lsp`
command and the `sql_lsp` package. `sql-lsp --version` prints `version_line()`, which editors
check before they start a server, so that they never run another program of the same name.
"""

# the one place the version is written (pyproject.toml reads it): importlib.metadata would cost
# more than the rest of `sql-lsp --version`
__version__ = "0.1.0"
DISTRIBUTION = "sql-review-lsp"
HOMEPAGE = "https://github.com/sql-lsp/sql-lsp"


def version_line() -> str:
    """`sql-lsp 0.1.0 (sql-review-lsp; https://github.com/sql-lsp/sql-lsp)`: what
    `sql-lsp --version` prints, naming the command, the version and the distribution."""
    return f"sql-lsp {__version__} ({DISTRIBUTION}; {HOMEPAGE})"
