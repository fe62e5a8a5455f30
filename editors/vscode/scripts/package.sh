#!/bin/sh
# Build the extension package: compile the TypeScript, then `vsce package`.
# Usage (in editors/vscode, after `npm ci`):  npm run package [-- -o path/to/sql-lsp.vsix]
# Default output: editors/vscode/sql-lsp-<version>.vsix
set -eu
cd "$(dirname "$0")/.."
npx --no-install tsc -p .
# README images stay relative: the .vsix is installed from a file, not from a marketplace page.
npx --no-install vsce package --allow-missing-repository --no-rewrite-relative-links "$@"
