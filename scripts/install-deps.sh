#!/usr/bin/env bash
# Installs every Debian package dsla needs to build, test and benchmark on a CPU machine.
# Idempotent: packages already present are skipped by apt; safe to run again.
# PyPI is used only for what Debian lacks (nothing at present).
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev python3-torch python3-dev python3-venv pybind11-dev
  libgloo-dev libsuitesparse-dev libmetis-dev libopenblas-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3-numpy python3-scipy python3-pytest python3-matplotlib
  zlib1g-dev clang-format
  clang-14 libclang-rt-14-dev   # libFuzzer for tests/fuzz (cmake -DDSLA_BUILD_FUZZ=ON)
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all Debian packages present"
fi
