#!/bin/sh
# Build the extension package: type-check the TypeScript, bundle it with esbuild into
# out/extension.js (vsce runs the bundle as vscode:prepublish), build the server wheel into
# server/ (the extension installs it into its own environment on first start), then
# `vsce package`.
# Usage (in editors/vscode, after `npm ci`):  npm run package [-- -o path/to/sql-lsp.vsix]
# PYTHON (default python3) builds the wheel; it needs pip. Default output:
# editors/vscode/sql-lsp-<version>.vsix
set -eu
cd "$(dirname "$0")/.."
npx --no-install tsc -p . --noEmit
rm -rf out server
"${PYTHON:-python3}" -m pip wheel --quiet --no-deps --disable-pip-version-check -w server ../..
ls server/sql_review_lsp-*.whl >/dev/null
# README images stay relative: the .vsix is installed from a file, not from a marketplace page.
npx --no-install vsce package --allow-missing-repository --no-rewrite-relative-links "$@"
