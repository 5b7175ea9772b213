#!/usr/bin/env bash
# The newcomer's first command: installs what is missing (Debian packages), builds dsla and the
# Python venv, then runs the main job on the built-in default problem.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
echo
echo "== dsla info poisson2d:256"
build/bin/dsla info poisson2d:256
echo
echo "== dsla spmv poisson2d:1024"
build/bin/dsla spmv poisson2d:1024
