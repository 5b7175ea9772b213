#!/usr/bin/env bash
# Installs every Debian package dsla needs to build, test and benchmark on a CPU machine.
# Idempotent: packages already present are skipped by apt; safe to run again.
# PyPI is used only for what Debian lacks, pinned: the pip route's build backend
# (scripts/requirements-build.txt), downloaded as wheels into .whl/build/ (see the end).
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev python3-torch python3-dev python3-venv pybind11-dev
  libgloo-dev libsuitesparse-dev libmetis-dev libopenblas-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3-numpy python3-scipy python3-pytest python3-matplotlib python3-sphinx
  zlib1g-dev clang-format python3-pip
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

# The pip route's build backend (pyproject.toml: scikit-build-core; bookworm has no package for it):
# pinned pure-Python wheels kept in .whl/build/, so `pip install --no-build-isolation .` and the
# test that runs it need no network, and the folder can be carried to a machine without one.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WHL=$ROOT/.whl/build
missing_whl=0
while read -r req; do
  name=${req%%==*}; ver=${req#*==}
  compgen -G "$WHL/${name//-/_}-$ver-*.whl" > /dev/null || missing_whl=1
done < <(grep -E '^[A-Za-z]' "$ROOT/scripts/requirements-build.txt")
if [ "$missing_whl" -eq 1 ]; then
  echo "install-deps: downloading the pinned build backend into .whl/build/"
  /usr/bin/python3 -m pip download -q --no-deps -d "$WHL" -r "$ROOT/scripts/requirements-build.txt"
else
  echo "install-deps: build backend wheels present (.whl/build/)"
fi
