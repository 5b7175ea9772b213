#!/usr/bin/env bash
# One GPU-machine call for the AMG work (issue #5): build (gpu-check's configure, only the
# library, the Python module and the CUDA C++ tests), the AMG / SpGEMM / CUDA tests, and the AMG
# benchmark on the canonical sizes. Logs and JSON under ${OUT:-bench/results/gpu}.
#   OUT=/tmp/o scripts/amg-gpu-run.sh [--no-tests] [--sizes "poisson2d:1024 ..."]
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=${OUT:-bench/results/gpu}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
BUILD=${BUILD:-$ROOT/build-gpu}
TESTS=1
SIZES="poisson2d:1024 poisson2d:2048 poisson2d:4096 poisson3d:64 poisson3d:128 aniso2d:1024:1e-3"
while [ $# -gt 0 ]; do
  case "$1" in
    --no-tests) TESTS=0 ;;
    --sizes) SIZES="$2"; shift ;;
    *) echo "amg-gpu-run: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
PY=$(command -v python3)
TORCH_PREFIX=$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')
export CXX=/usr/bin/g++ CC=/usr/bin/gcc CUDAHOSTCXX=/usr/bin/g++
status=0
echo "== build"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" -DDSLA_WITH_CUDA=ON -DDSLA_CUDA_ARCH=90 \
  -DDSLA_BUILD_BENCH=OFF -DCMAKE_POLICY_VERSION_MINIMUM=3.5 \
  -DCMAKE_CXX_COMPILER=$CXX -DCMAKE_CUDA_HOST_COMPILER=$CXX -DCMAKE_C_COMPILER=$CC \
  ${DSLA_DATA_DIR:+-DDSLA_DATA_DIR=$DSLA_DATA_DIR} > "$OUT/build.log" 2>&1 &&
  cmake --build "$BUILD" -j"$(nproc)" --target dsla _C dsla_cuda_tests -- -k 0 >> "$OUT/build.log" 2>&1
rc=$?
tail -3 "$OUT/build.log"
if [ $rc -ne 0 ]; then
  grep -E "error|Error" "$OUT/build.log" | head -60
  echo "amg-gpu-run: build failed"; exit 1
fi
export PYTHONPATH="$ROOT/python" PYTHONUNBUFFERED=1
if [ $TESTS -eq 1 ]; then
  echo "== tests"
  "$BUILD"/tests/cpp/dsla_cuda_tests > "$OUT/cuda_tests.log" 2>&1 || status=1
  grep -E "PASSED|FAILED" "$OUT/cuda_tests.log" | head -20
  "$PY" -m pytest -q -p no:cacheprovider -x "$ROOT/tests/python/test_spgemm.py" \
    "$ROOT/tests/python/test_amg.py" "$ROOT/tests/python/test_cuda.py" > "$OUT/pytest.log" 2>&1 || status=1
  grep -E "passed|failed|Error|error|assert" "$OUT/pytest.log" | head -30
fi
echo "== AMG benchmark"
# shellcheck disable=SC2086
"$PY" "$ROOT/bench/amg_bench.py" --device cuda --out "$OUT" --repeats 5 --sizes $SIZES \
  > "$OUT/amg_bench.log" 2>&1 || status=1
cat "$OUT/amg_bench.log" | tail -20
exit $status
