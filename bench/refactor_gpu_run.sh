#!/usr/bin/env bash
# The before/after GPU run of bench/refactor_bench.py used for #13 item 6 (session 6): builds the
# current tree and a before-tree side by side (make it here first: mkdir -p .before && git archive
# <REV> | gzip -1 > .before/src.tgz; git rev-parse --short HEAD > .before/commit; carry ".before",
# ".data", ".gtest"), then benchmarks after, before, after again. Output under $OUT/json.
# GPU call 2: both trees built side by side, then the two benchmarks back to back (after, before,
# after again: the order effect shows).
set -u
ROOT=$PWD
export DSLA_DATA_DIR=$ROOT/.data DSLA_GTEST_SOURCE_DIR=$ROOT/.gtest
t0=$(date +%s)
mkdir -p /tmp/before && tar xzf .before/src.tgz -C /tmp/before && cp bench/refactor_bench.py /tmp/before/bench/
( cd /tmp/before && BUILD=/tmp/build-before OUT=/tmp/before-out DSLA_COMMIT=${BEFORE_COMMIT:-before} timeout 280 scripts/gpu-check.sh --no-bench --no-tests > /tmp/build-before.log 2>&1; echo "before build rc=$?" >> /tmp/build-before.log ) &
BUILD=/tmp/build-gpu OUT=/tmp/after-out timeout 280 scripts/gpu-check.sh --no-bench --no-tests > /tmp/build-after.log 2>&1; echo "after build rc=$? $(( $(date +%s)-t0 ))s"
wait; tail -1 /tmp/build-before.log; echo "built $(( $(date +%s)-t0 ))s"
mkdir -p $OUT/json
for run in after before after2; do
  if [ $run = before ]; then
    ( cd /tmp/before && DSLA_COMMIT=${BEFORE_COMMIT:-before} timeout 100 python3 /tmp/before/bench/refactor_bench.py --device cuda --label before --out $OUT/json ) >> $OUT/bench.log 2>&1
  else
    PYTHONPATH=$ROOT/python DSLA_COMMIT=$(cat .before/commit) timeout 100 python3 bench/refactor_bench.py --device cuda --label $run --out $OUT/json >> $OUT/bench.log 2>&1
  fi
done
grep -v "^wrote" $OUT/bench.log | cut -c1-200
echo "all done $(( $(date +%s)-t0 ))s"
