#!/usr/bin/env bash
# Builds dsla with AddressSanitizer + UndefinedBehaviorSanitizer (-DDSLA_SANITIZE=ON) into
# build-sanitize/ (its dsla._C in build-sanitize/python, so the normal build is untouched) and
# runs the C++ and Python suites under it. Not part of CI (a full instrumented build and the
# slowed-down suites exceed its budget on 2 cores); run it after changes to kernels, indexing or
# lifetimes. Usage: scripts/sanitize.sh [pytest arguments, e.g. tests/python/test_io.py -x]
#   DSLA_SANITIZE_CTEST=REGEX  restricts ctest (ctest -R)
#
# Python is not instrumented, so the ASan runtime is preloaded into it; leak detection is off
# there (CPython and torch keep allocations alive until exit by design) but on for the C++
# tests, which own every allocation they make.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${DSLA_BUILD_DIR:-$ROOT/build-sanitize}

DSLA_BUILD_DIR=$BUILD bash scripts/build.sh -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDSLA_SANITIZE=ON -DDSLA_BUILD_BENCH=OFF -DDSLA_PYTHON_MODULE_DIR="$BUILD/python" || exit 1

# halt_on_error: the first report fails the test that caused it (UBSan already aborts).
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0

echo "== C++ tests under ASan + UBSan"
ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=1" LSAN_OPTIONS="suppressions=$ROOT/scripts/lsan.supp" \
  ctest --test-dir "$BUILD" --output-on-failure -j "$(nproc)" --timeout 1800 -LE install \
  ${DSLA_SANITIZE_CTEST:+-R "$DSLA_SANITIZE_CTEST"} || status=1

echo "== Python tests under ASan + UBSan"
asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
LD_PRELOAD="$asan:$ubsan" ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" \
  DSLA_C_DIR="$BUILD/python" "$ROOT/.venv/bin/python" -m pytest -q -rs -p no:cacheprovider \
  "${@:-tests/python}" || status=1

echo
if [ "$status" -eq 0 ]; then echo "SANITIZED SUITES PASSED"; else echo "SANITIZED SUITES FAILED"; fi
exit "$status"
