#!/usr/bin/env bash
# CPU benchmarks (Google Benchmark + Python scripts) -> JSON under bench/results/, then the
# markdown table in bench/README.md. Run on an otherwise idle machine: timings are medians of 5.
set -euo pipefail
cd "$(dirname "$0")/.."
OUTDIR=${OUT:-bench/results}
mkdir -p "$OUTDIR"
host=$(hostname -s 2>/dev/null || echo cpu)
stamp=$(date -u +%Y%m%d)
build/bench/cpp/dsla_bench --benchmark_filter="${DSLA_BENCH_FILTER:-.}" \
  --benchmark_out="$OUTDIR/cpu-gbench-$stamp.json" --benchmark_out_format=json \
  --benchmark_context=commit="$(git rev-parse --short HEAD)"
for script in bench/cpu_*.py; do
  [ -e "$script" ] || continue
  .venv/bin/python "$script" --out "$OUTDIR"
done
# eigen / nonlinear (the same script runs on the GPU from scripts/gpu-check.sh); LOBPCG without a
# preconditioner at 1024² takes hours on 2 cores: 256² here, 1024² on the GPU.
.venv/bin/python bench/eigen_nonlinear_bench.py --device cpu --out "$OUTDIR" --bratu 256,512 \
  --eig 256 --precond none,jacobi,amg,shift-invert
.venv/bin/python bench/make_table.py
