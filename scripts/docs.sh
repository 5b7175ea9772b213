#!/usr/bin/env bash
# Builds the API reference (docs/api, Sphinx autodoc over the built python/dsla) into
# build/docs/html. Warnings are errors (-W), so a docstring that Sphinx cannot read fails CI
# (tests/python/test_docs.py runs this script). Needs python3-sphinx (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${DSLA_DOCS_PYTHON:-.venv/bin/python}
OUT=${1:-build/docs/html}
"$PY" -m sphinx.cmd.build -W --keep-going -q -b html docs/api "$OUT"
echo "docs: $OUT/index.html"
