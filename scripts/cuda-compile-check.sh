#!/usr/bin/env bash
# Compiles dsla's CUDA code on a machine without a GPU or a CUDA LibTorch: every *_cuda.cpp and
# CUDA test file with the host compiler (-fsyntax-only, against the CPU LibTorch's headers, which
# include ATen/cuda and c10/cuda, plus the CUDA toolkit's), and every kernel .cu with nvcc
# (-c, sm_90). Catches compile errors before a GPU machine's time is spent on them. Nothing runs.
#
#   scripts/cuda-compile-check.sh [build-dir]     (build-dir: a configured CPU build, default build/)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
CUDA_INC=$(dirname "$(dirname "$NVCC")")/include
[ -x "$NVCC" ] || { echo "cuda-compile-check: no nvcc" >&2; exit 2; }
[ -f "$BUILD/generated/dsla/config.h" ] || { echo "cuda-compile-check: configure $BUILD first" >&2; exit 2; }
GEN=$(mktemp -d)
trap 'rm -rf "$GEN"' EXIT
mkdir -p "$GEN/dsla" "$GEN/c10/cuda/impl"
sed 's/#define DSLA_HAVE_CUDA 0/#define DSLA_HAVE_CUDA 1/' "$BUILD/generated/dsla/config.h" > "$GEN/dsla/config.h"
# A CPU LibTorch ships c10/cuda headers but not the one its CUDA build generates.
[ -f /usr/include/c10/cuda/impl/cuda_cmake_macros.h ] ||
  printf '#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n' > "$GEN/c10/cuda/impl/cuda_cmake_macros.h"
PY=${DSLA_PYTHON:-/usr/bin/python3}
TORCH_INC=$("$PY" -c 'import torch.utils.cpp_extension as c, sysconfig; print(" ".join("-isystem " + p for p in c.include_paths() + [sysconfig.get_paths()["include"]]))' 2>/dev/null ||
            echo "-isystem /usr/include/torch/csrc/api/include")
CXXFLAGS="-std=gnu++17 -fsyntax-only -Wall -Wextra -Werror -Wno-unused-parameter -DDSLA_BUILDING=1 -DDSLA_DATA_DIR=\"data\"
  -DUSE_C10D_GLOO -DUSE_DISTRIBUTED -I$ROOT/include -I$ROOT/src -I$GEN $TORCH_INC
  -isystem $CUDA_INC -isystem /usr/include/suitesparse"
fail=0
mapfile -t HOST < <(cd "$ROOT" && find src tests/cpp/cuda -name '*_cuda.cpp' -o -path 'tests/cpp/cuda/*.cpp' -o -path 'src/bindings/*.cpp' | sort -u)
for f in "${HOST[@]}"; do
  if ! g++ $CXXFLAGS "$ROOT/$f" 2> "$GEN/err"; then
    echo "FAIL $f"; head -30 "$GEN/err"; fail=1
  fi
done
mapfile -t KERN < <(cd "$ROOT" && ls src/kernels/cuda/*.cu)
for f in "${KERN[@]}"; do
  if ! "$NVCC" -arch=sm_90 -O1 --expt-relaxed-constexpr -std=c++17 -I"$ROOT/src" -I"$ROOT/include" -I"$GEN" \
       -Xcompiler=-Wall,-Werror,-Wno-unused-parameter -Werror=all-warnings -c "$ROOT/$f" -o "$GEN/k.o" 2> "$GEN/err"; then
    echo "FAIL $f"; head -30 "$GEN/err"; fail=1
  fi
done
echo "cuda-compile-check: ${#HOST[@]} host files, ${#KERN[@]} kernel files: $([ $fail = 0 ] && echo ok || echo FAILED)"
exit $fail
