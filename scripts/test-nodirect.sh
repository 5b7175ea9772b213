#!/usr/bin/env bash
# Builds dsla WITHOUT SuiteSparse's GPL modules (-DDSLA_WITH_GPL=OFF: no CHOLMOD, no UMFPACK) into
# build-nodirect/ (its dsla._C in build-nodirect/python, so the normal build's module is untouched),
# checks that nothing it built links them, and runs tests against it: what the GPU machine sees on
# its CPU side, and the build a redistributor under a permissive license ships. Usage: scripts/test-nodirect.sh [pytest/ctest selection: -k EXPR for pytest]
#   DSLA_NODIRECT_TESTS="tests/python/test_eigen.py tests/python/test_nonlinear.py"
#   DSLA_NODIRECT_CTEST="Eigsh|Eigs|Svds|Nonlinear|SolveOperator"
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=$ROOT/build-nodirect
DSLA_BUILD_DIR=$BUILD bash scripts/build.sh -DDSLA_WITH_GPL=OFF \
  -DDSLA_PYTHON_MODULE_DIR="$BUILD/python" || exit 1
status=0
for f in "$BUILD"/libdsla.so "$BUILD"/python/_C*.so "$BUILD"/bin/dsla; do
  if readelf -d "$f" | grep -E 'cholmod|umfpack'; then
    echo "test-nodirect: $f links a GPL module of SuiteSparse"; status=1
  fi
done
ctest --test-dir "$BUILD" --output-on-failure -j "$(nproc)" --timeout 900 \
  ${DSLA_NODIRECT_CTEST:+-R "$DSLA_NODIRECT_CTEST"} || status=1
# shellcheck disable=SC2086
DSLA_C_DIR="$BUILD/python" "$ROOT/.venv/bin/python" -m pytest -q -rs \
  ${DSLA_NODIRECT_TESTS:-tests/python} "$@" || status=1
exit $status
