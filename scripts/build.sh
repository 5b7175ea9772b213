#!/usr/bin/env bash
# Configures and builds dsla into build/ (Release, Ninja, ccache), and makes .venv/ — a venv of
# Debian's python3 (the one with torch) that imports dsla from this checkout.
# Usage: scripts/build.sh [extra cmake -D options...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${DSLA_BUILD_DIR:-$ROOT/build}
JOBS=${DSLA_JOBS:-$(nproc)}
# ccache keys with paths relative to the checkout: pip builds (build-pip/, same depth as build/,
# tests/python/test_pip_install.py) and other checkouts then reuse these objects.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$ROOT}

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$BUILD" -j "$JOBS"

if [ ! -x "$ROOT/.venv/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$ROOT/.venv"
fi
site=$("$ROOT/.venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$ROOT/python" > "$site/dsla-source.pth"
"$ROOT/.venv/bin/python" -c 'import dsla; print("dsla", dsla.__version__, "features:", dsla.features)'
