#!/usr/bin/env bash
# The GPU machine's check: builds dsla against that machine's torch (sm_90, CUDA on, cuDSS when
# CUDSS_ROOT points at an unpacked nvidia-cudss-cu13 wheel), runs the GPU C++ tests (label gpu),
# the CPU C++ tests (the references), the Python tests (GPU ones skip cleanly without a GPU) and
# the GPU benchmarks; logs and JSON go to ${OUT:-bench/results/gpu}. Works from a bare machine:
# nothing is downloaded (GoogleTest: installed, or sources in third_party/googletest,
# DSLA_GTEST_SOURCE_DIR or /usr/src/googletest).
#
#   OUT=/tmp/gpu DSLA_DATA_DIR=$PWD/data scripts/gpu-check.sh [--no-bench] [--no-tests] [--no-cpp-tests] [--bench-args "..."]
#
# cuDSS (the CUDA direct solvers): CMake looks in CUDSS_ROOT when it is set, else in a `.cudss/`
# folder at the repository root (either holding include/cudss.h + lib/libcudss.so.1 directly, or
# the unpacked wheel with nvidia/cu13/{include,lib}). A machine without network gets the wheel
# carried along: `unzip nvidia_cudss_cu13-*.whl -d .cudss` (or xz chunks reassembled there).
# libcudss needs libcublas.so.13 and libnvrtc.so.13 at run time: this script puts the cuDSS lib
# folder, torch's nvidia/*/lib folders and the CUDA toolkit's lib64 on LD_LIBRARY_PATH. Then the
# cuDSS tests (tests/python/test_cudss.py) run with the others, and bench/cudss_bench.py runs when
# dsla.features['cudss'] is true.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=${OUT:-bench/results/gpu}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
BUILD=${BUILD:-$ROOT/build-gpu}
BENCH=1
TESTS=1
CPP_TESTS=1
BENCH_ARGS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --no-bench) BENCH=0 ;;
    --no-tests) TESTS=0 ;;  # build (a no-op when build-gpu/ is current) and benchmarks only
    --no-cpp-tests) CPP_TESTS=0 ;;  # no GoogleTest targets (a shorter build; pytest still runs)
    --bench-args) BENCH_ARGS="$2"; shift ;;
    *) echo "gpu-check: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
PY=${DSLA_PYTHON:-$(command -v python3)}
export DSLA_PYTHON=$PY
TORCH_PREFIX=$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')
# The real matrices: ../shared/data (all of them) where it is beside the checkout, else the
# repository's data/ (the small ones; tests of the others skip).
if [ -d "$ROOT/../shared/data" ]; then DATA=${DSLA_DATA_DIR:-$ROOT/../shared/data}; else DATA=${DSLA_DATA_DIR:-$ROOT/data}; fi
export DSLA_DATA_DIR=$DATA
export DSLA_COMMIT=${DSLA_COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || cat "$ROOT/COMMIT" 2>/dev/null || echo unknown)}
EXTRA=()
# The image's default g++ (/opt/gcc) links libstdc++ statically into shared libraries; inside a
# Python process that already has the system libstdc++ the two copies clash (seen: a segfault in
# std::ostream from libdsla.so). Prefer the system compiler, whose libstdc++ Python loads.
if [ -z "${DSLA_KEEP_CXX:-}" ] && [ -x /usr/bin/g++ ]; then
  # The image exports CXX, CC and CUDAHOSTCXX pointing at /opt/gcc: override all three, so
  # nvcc's compiler probe (whose link directories CMake reuses) never sees /opt/gcc either.
  export CXX=/usr/bin/g++ CC=/usr/bin/gcc CUDAHOSTCXX=/usr/bin/g++
fi
if [ -n "${CXX:-}" ]; then EXTRA+=("-DCMAKE_CXX_COMPILER=$CXX" "-DCMAKE_CUDA_HOST_COMPILER=$CXX"); fi
if [ -n "${CC:-}" ]; then EXTRA+=("-DCMAKE_C_COMPILER=$CC"); fi
# cuDSS: CUDSS_ROOT, else .cudss/ at the repository root (see the header).
if [ -z "${CUDSS_ROOT:-}" ] && [ -d "$ROOT/.cudss" ]; then
  for d in "$ROOT/.cudss" "$ROOT/.cudss/nvidia/cu13" "$ROOT/.cudss/nvidia/cu12"; do
    if [ -f "$d/include/cudss.h" ]; then export CUDSS_ROOT=$d; break; fi
  done
fi
if [ -n "${CUDSS_ROOT:-}" ]; then
  EXTRA+=("-DCUDSS_ROOT=$CUDSS_ROOT")
  # Some tools want the unversioned name; the wheel ships only libcudss.so.1.
  if [ -f "$CUDSS_ROOT/lib/libcudss.so.1" ] && [ ! -e "$CUDSS_ROOT/lib/libcudss.so" ]; then
    ln -s libcudss.so.1 "$CUDSS_ROOT/lib/libcudss.so" 2>/dev/null || true
  fi
  _cuda_lib=$(dirname "$(dirname "$(command -v nvcc 2>/dev/null || echo /usr/local/cuda/bin/nvcc)")")/lib64
  _torch_nv=$("$PY" -c 'import glob, os, torch; p = os.path.dirname(os.path.dirname(torch.__file__)); print(":".join(sorted(glob.glob(os.path.join(p, "nvidia", "*", "lib")))))' 2>/dev/null)
  # torch's own CUDA libraries first (the versions torch was built with), the toolkit's last.
  export LD_LIBRARY_PATH="${_torch_nv:+$_torch_nv:}$CUDSS_ROOT/lib:$_cuda_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  # cuDSS's threading layer (libcudss_mtlayer_gomp.so.1 next to libcudss) is found by dsla
  # itself; CUDSS_THREADING_LIB=PATH picks another, CUDSS_THREADING_LIB=none turns it off.
  echo "cuDSS: CUDSS_ROOT=$CUDSS_ROOT"
fi
if [ -n "${DSLA_GTEST_SOURCE_DIR:-}" ]; then EXTRA+=("-DDSLA_GTEST_SOURCE_DIR=$DSLA_GTEST_SOURCE_DIR"); fi
if [ $CPP_TESTS -eq 0 ]; then EXTRA+=("-DDSLA_BUILD_TESTS=OFF"); fi
status=0
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; "$PY" -c 'import torch;print(torch.__version__, torch.version.cuda)'; nvcc --version | tail -1; cmake --version | head -1; } > "$OUT/machine.txt" 2>&1

echo "== configure + build"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" -DDSLA_WITH_CUDA=ON -DDSLA_CUDA_ARCH=90 \
  -DDSLA_DATA_DIR="$DATA" -DDSLA_BUILD_BENCH=OFF -DCMAKE_POLICY_VERSION_MINIMUM=3.5 \
  "${EXTRA[@]}" > "$OUT/build.log" 2>&1 &&
  cmake --build "$BUILD" -j"$(nproc)" -- -k 0 >> "$OUT/build.log" 2>&1
rc=$?
tail -5 "$OUT/build.log"
if [ $rc -ne 0 ]; then
  grep -E "error|Error" "$OUT/build.log" | head -40
  echo "gpu-check: build failed"; exit 1
fi

{ echo "compiler: ${CXX:-default}"; ldd "$BUILD"/libdsla.so* 2>/dev/null | grep -E "stdc|gcc_s|torch_cpu" | sort -u; } >> "$OUT/machine.txt"
cat "$OUT/machine.txt"
# A private libstdc++ inside libdsla (static libstdc++.a picked up at link) crashes in Python.
(cd "$BUILD" && ninja -t commands libdsla.so.0.1.0 | tail -1 | grep -o -- "-L[^ ]*" | sort -u) >> "$OUT/machine.txt" 2>&1
if nm "$BUILD"/libdsla.so.0 2>/dev/null | grep -qE " [TtWw] _ZNSt6localeC[12]Ev$"; then
  echo "gpu-check: libdsla.so contains a static copy of libstdc++ (check the link line's -L dirs)"
  status=1
fi
if [ $TESTS -eq 1 ]; then
  if [ $CPP_TESTS -eq 1 ]; then
    echo "== C++ tests (gpu, then cpu references)"
    (cd "$BUILD" && ctest -L gpu --output-on-failure --timeout 900 > "$OUT/ctest.log" 2>&1) || status=1
    (cd "$BUILD" && ctest -j4 -L cpu -LE install --output-on-failure --timeout 900 >> "$OUT/ctest.log" 2>&1) || status=1
    grep -E "tests passed|tests failed|Failed|\*\*\*" "$OUT/ctest.log" | head -30
  fi

  echo "== Python tests"
  PYTHONPATH="$ROOT/python${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m pytest -q -p no:cacheprovider \
    "$ROOT/tests/python" > "$OUT/pytest.log" 2>&1 || status=1
  grep -E "^FAILED|^ERROR" "$OUT/pytest.log" | head -40
  tail -3 "$OUT/pytest.log"
fi

if [ $BENCH -eq 1 ]; then
  echo "== benchmarks"
  # shellcheck disable=SC2086
  PYTHONPATH="$ROOT/python" PYTHONUNBUFFERED=1 "$PY" "$ROOT/bench/gpu_bench.py" --out "$OUT" \
    --data "$DATA" $BENCH_ARGS > "$OUT/bench.log" 2>&1 || status=1
  tail -30 "$OUT/bench.log"
  if PYTHONPATH="$ROOT/python" "$PY" -c 'import sys, dsla; sys.exit(0 if dsla.features.get("cudss") else 1)' 2>/dev/null; then
    echo "== cuDSS benchmark"
    PYTHONPATH="$ROOT/python" PYTHONUNBUFFERED=1 "$PY" "$ROOT/bench/cudss_bench.py" --device cuda \
      --out "$OUT/cudss_bench.json" ${CUDSS_BENCH_ARGS:-} > "$OUT/cudss_bench.log" 2>&1 || status=1
    tail -8 "$OUT/cudss_bench.log"
  else
    echo "== cuDSS benchmark skipped: $(PYTHONPATH="$ROOT/python" "$PY" -c 'import dsla; print(dsla._C.build_info["cudss"])' 2>&1 | tail -1)"
  fi
  if [ -f "$ROOT/bench/amg_bench.py" ]; then
    echo "== AMG benchmark (GPU)"
    PYTHONPATH="$ROOT/python" PYTHONUNBUFFERED=1 "$PY" "$ROOT/bench/amg_bench.py" --device cuda \
      --out "$OUT" ${AMG_BENCH_ARGS:-} > "$OUT/amg_bench.log" 2>&1 || status=1
    tail -12 "$OUT/amg_bench.log"
  fi
  echo "== eigen / nonlinear benchmark (GPU): Bratu Newton, eigsh k=10 of poisson2d:1024"
  # ~1-2 minutes: LOBPCG capped at --maxiter, repeats stop after --budget s per configuration;
  # the timeout is a last guard so the check never hangs.
  # shellcheck disable=SC2086
  PYTHONPATH="$ROOT/python" PYTHONUNBUFFERED=1 timeout 600 "$PY" \
    "$ROOT/bench/eigen_nonlinear_bench.py" --device cuda --out "$OUT" --bratu 256,1024 \
    --eig 1024 --precond none,amg --repeat 5 --budget 15 --maxiter 3000 \
    ${EIG_BENCH_ARGS:-} > "$OUT/eigen_nonlinear_bench.log" 2>&1 || status=1
  tail -8 "$OUT/eigen_nonlinear_bench.log"
fi
exit $status
