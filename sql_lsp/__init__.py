"""sql-lsp: a SQL language server and linter."""

# the one place the version is written (pyproject.toml reads it): importlib.metadata would cost
# more than the rest of `sql-lsp --version`
__version__ = "0.1.0"
