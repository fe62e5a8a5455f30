"""`python -m sql_lsp`: the same as the `sql-lsp` command (serves LSP on stdio by default)."""

import sys

from sql_lsp.cli import main

sys.exit(main())
