#!/usr/bin/env bash
# Compiles (syntax only) src/dist, the distributed autograd node and bind_dist.cpp against the
# PyTorch of `python3` (e.g. PyTorch 2.x on the GPU machine), without building the rest: the
# c10d API moved between LibTorch 1.13 and 2.x (src/dist/c10d_shim.cpp keeps the #ifs), and
# this is the quick proof that both sides compile. Needs build/generated/dsla/config.h (any
# configured build). Usage: scripts/dist-compile-check.sh [python]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-python3}
read -r -a INC < <("$PY" -c 'import torch.utils.cpp_extension as c, sysconfig; print(" ".join("-isystem " + p for p in c.include_paths() + [sysconfig.get_paths()["include"]]))')
ABI=$("$PY" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
echo "torch $("$PY" -c 'import torch; print(torch.__version__)')"
for f in src/dist/*.cpp src/autograd/dist_solve_fn.cpp src/autograd/solve_fn.cpp src/bindings/bind_dist.cpp; do
  echo "  $f"
  ${CXX:-g++} -std=c++17 -fsyntax-only -Wall -Wextra -Werror -Wno-unused-parameter \
    -DUSE_C10D_GLOO -DUSE_DISTRIBUTED -D_GLIBCXX_USE_CXX11_ABI="$ABI" -DTORCH_EXTENSION_NAME=_C \
    -Iinclude -Isrc -Ibuild/generated "${INC[@]}" "$f"
done
echo "ok"
