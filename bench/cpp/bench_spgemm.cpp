// SpGEMM on poisson2d:1024 (N = 1.05M, fp64): A·A and the AMG Galerkin product Pᵀ(AP) with a 3x3
// block aggregation P. Symbolic (a fresh pattern object each iteration, so the plan cache
// misses) and numeric (cached plan) separately, at 1 and 2 threads (the benchmark argument).
// Compare with bench/spgemm_scipy.py (SciPy A @ A, single-threaded).
#include <benchmark/benchmark.h>
#include <dsla/generators.h>
#include <dsla/ops.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "core/spgemm.h"

namespace {

using dsla::PatternPtr;
using dsla::SparseMatrix;

const int64_t kGrid = 1024;

const SparseMatrix& poisson() {
  static const SparseMatrix A = dsla::poisson2d(kGrid);
  return A;
}

// Aggregation of 3x3 grid blocks: P[i, agg(i)] = 1, about N / 9 aggregates.
const SparseMatrix& prolongator() {
  static const SparseMatrix P = [] {
    const int64_t n = kGrid, m = (n + 2) / 3;
    auto idx = at::arange(n * n, at::kLong);
    auto agg = at::div(at::floor_divide(idx, n), 3, "floor") * m + at::floor_divide(idx % n, 3);
    return SparseMatrix::from_coo(idx, agg, at::ones({n * n}, at::kDouble), {n * n, m * m});
  }();
  return P;
}

// A new Pattern object over the same arrays: the plan cache (keyed by pattern identity) misses.
PatternPtr fresh(const PatternPtr& p) {
  return dsla::Pattern::from_csr(p->crow(), p->col(), p->rows(), p->cols(), /*check=*/false);
}

at::Tensor v2(const SparseMatrix& M) {
  return M.values().unsqueeze(0);
}

void BM_AA_Symbolic(benchmark::State& st) {
  at::set_num_threads(static_cast<int>(st.range(0)));
  const auto& A = poisson();
  for (auto _ : st) {
    auto plan = dsla::detail::spgemm_plan(fresh(A.pattern()), A.pattern());
    benchmark::DoNotOptimize(plan->c->nnz());
  }
}

void BM_AA_Numeric(benchmark::State& st) {
  at::set_num_threads(static_cast<int>(st.range(0)));
  const auto& A = poisson();
  auto nnz = dsla::detail::spgemm_plan(A.pattern(), A.pattern())->c->nnz();
  for (auto _ : st) {
    auto c = dsla::detail::spgemm_values(A.pattern(), v2(A), A.pattern(), v2(A));
    benchmark::DoNotOptimize(c.data_ptr());
  }
  st.counters["nnzC"] = static_cast<double>(nnz);
}

// The public, differentiable entry point with a warm cache (numeric + autograd bookkeeping).
void BM_AA_Api(benchmark::State& st) {
  at::set_num_threads(static_cast<int>(st.range(0)));
  const auto& A = poisson();
  dsla::spgemm(A, A);
  for (auto _ : st) benchmark::DoNotOptimize(dsla::spgemm(A, A).values().data_ptr());
}

void BM_AA_Backward(benchmark::State& st) {
  at::set_num_threads(static_cast<int>(st.range(0)));
  const auto& A = poisson();
  auto gc = at::ones({1, dsla::spgemm(A, A).nnz()}, at::kDouble);
  for (auto _ : st) {
    auto ga = dsla::detail::spgemm_grad_a(A.pattern(), A.pattern(), v2(A), gc);
    auto gb = dsla::detail::spgemm_grad_b(A.pattern(), v2(A), A.pattern(), gc);
    benchmark::DoNotOptimize(ga.data_ptr());
    benchmark::DoNotOptimize(gb.data_ptr());
  }
}

void BM_PtAP_Symbolic(benchmark::State& st) {
  at::set_num_threads(static_cast<int>(st.range(0)));
  const auto& A = poisson();
  const auto& P = prolongator();
  auto Pt = P.transpose();
  for (auto _ : st) {
    auto ap = dsla::detail::spgemm_plan(fresh(A.pattern()), P.pattern());
    auto ptap = dsla::detail::spgemm_plan(fresh(Pt.pattern()), ap->c);
    benchmark::DoNotOptimize(ptap->c->nnz());
  }
}

void BM_PtAP_Numeric(benchmark::State& st) {
  at::set_num_threads(static_cast<int>(st.range(0)));
  const auto& A = poisson();
  const auto& P = prolongator();
  auto Pt = P.transpose();
  auto apc = dsla::detail::spgemm_pattern(A.pattern(), P.pattern());
  for (auto _ : st) {
    auto ap = dsla::detail::spgemm_values(A.pattern(), v2(A), P.pattern(), v2(P));
    auto c = dsla::detail::spgemm_values(Pt.pattern(), v2(Pt), apc, ap);
    benchmark::DoNotOptimize(c.data_ptr());
  }
}

}  // namespace

BENCHMARK(BM_AA_Symbolic)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AA_Numeric)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AA_Api)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AA_Backward)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PtAP_Symbolic)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PtAP_Numeric)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
