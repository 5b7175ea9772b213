#!/usr/bin/env bash
# Builds dsla and runs every test: C++ (ctest: GoogleTest suites, the install/find_package
# consumer) and Python (pytest). Exits non-zero when anything fails; "no tests collected" fails.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
status=0

scripts/install-deps.sh || exit 1
scripts/build.sh || exit 1

echo
echo "== C++ tests (ctest)"
ctest --test-dir "$ROOT/build" --output-on-failure -j "$(nproc)" --timeout 900 || status=1

echo
echo "== Python tests (pytest)"
"$ROOT/.venv/bin/python" -m pytest "$ROOT/tests/python" -q -rs
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing"
  status=1
elif [ "$rc" -ne 0 ]; then
  status=1
fi

echo
if [ "$status" -eq 0 ]; then echo "ALL TESTS PASSED"; else echo "SOME TESTS FAILED"; fi
exit "$status"
