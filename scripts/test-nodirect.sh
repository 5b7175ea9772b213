#!/usr/bin/env bash
# Builds dsla WITHOUT SuiteSparse into build-nodirect/ (its dsla._C in build-nodirect/python, so
# the normal build's module is untouched) and runs tests against it: what the GPU machine sees on
# its CPU side. Usage: scripts/test-nodirect.sh [pytest/ctest selection: -k EXPR for pytest]
#   DSLA_NODIRECT_TESTS="tests/python/test_eigen.py tests/python/test_nonlinear.py"
#   DSLA_NODIRECT_CTEST="Eigsh|Eigs|Svds|Nonlinear|SolveOperator"
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=$ROOT/build-nodirect
DSLA_BUILD_DIR=$BUILD bash scripts/build.sh -DDSLA_WITH_SUITESPARSE=OFF \
  -DDSLA_PYTHON_MODULE_DIR="$BUILD/python" || exit 1
status=0
ctest --test-dir "$BUILD" --output-on-failure -j "$(nproc)" --timeout 900 \
  ${DSLA_NODIRECT_CTEST:+-R "$DSLA_NODIRECT_CTEST"} || status=1
# shellcheck disable=SC2086
DSLA_C_DIR="$BUILD/python" "$ROOT/.venv/bin/python" -m pytest -q -rs \
  ${DSLA_NODIRECT_TESTS:-tests/python} "$@" || status=1
exit $status
