#!/usr/bin/env bash
# The newcomer's first command: installs what is missing (Debian packages), builds dsla and the
# Python venv, then runs the main job on the built-in default problem.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
echo
echo "== dsla solve   (built-in default problem: poisson2d:256, method picked automatically)"
build/bin/dsla solve
