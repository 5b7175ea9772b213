// CPU direct solvers (SuiteSparse) on poisson2d:n (BENCHMARKS.md: Cholesky poisson2d:1024,
// analysis + factor + solve <= 2 s on 2 cores). Phases are timed separately; analysis is cached
// on the Pattern, so the analysis and end-to-end benchmarks build a fresh Pattern (untimed) per
// iteration. DSLA_BENCH_N overrides n (default 1024).
//
//   ./build/bench/cpp/dsla_bench --benchmark_filter=Direct --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true      (one command line)
#include "solve/direct/factorization.h"

#include <dsla/config.h>
#include <dsla/det.h>
#include <dsla/generators.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#if DSLA_HAVE_SUITESPARSE

namespace {

using dsla::direct::Kind;

int64_t grid_n() {
  const char* s = std::getenv("DSLA_BENCH_N");
  return s ? std::atoll(s) : 1024;
}

const dsla::SparseMatrix& poisson() {
  static const dsla::SparseMatrix A = dsla::poisson2d(grid_n());
  return A;
}

dsla::PatternPtr fresh_pattern(const dsla::SparseMatrix& A) {
  return dsla::Pattern::from_csr(A.pattern()->crow().clone(), A.pattern()->col().clone(), A.rows(),
                                 A.cols(), /*check=*/false);
}

const char* kOrderings[] = {"auto", "amd", "metis", "nesdis"};

void set_labels(benchmark::State& st, const dsla::direct::Factorization& f) {
  st.SetLabel(f.name() + " N=" + std::to_string(poisson().rows()) +
              " threads=" + std::to_string(at::get_num_threads()));
}

void BM_DirectCholeskyAnalyze(benchmark::State& st) {
  const auto& A = poisson();
  const std::string ord = kOrderings[st.range(0)];
  for (auto _ : st) {
    st.PauseTiming();
    auto p = fresh_pattern(A);
    st.ResumeTiming();
    auto f = dsla::direct::make_factorization(p, Kind::Cholesky, at::kDouble, ord);
    benchmark::DoNotOptimize(f);
    st.PauseTiming();
    f.reset();
    p.reset();
    st.ResumeTiming();
  }
  auto f = dsla::direct::make_factorization(A.pattern(), Kind::Cholesky, at::kDouble, ord);
  set_labels(st, *f);
}

void BM_DirectCholeskyFactorize(benchmark::State& st) {
  const auto& A = poisson();
  const std::string ord = kOrderings[st.range(0)];
  auto f = dsla::direct::make_factorization(A.pattern(), Kind::Cholesky, at::kDouble, ord);
  for (auto _ : st) f->factorize(A.values());
  set_labels(st, *f);
}

void BM_DirectCholeskySolve(benchmark::State& st) {
  const auto& A = poisson();
  const std::string ord = kOrderings[st.range(0)];
  auto f = dsla::direct::make_factorization(A.pattern(), Kind::Cholesky, at::kDouble, ord);
  f->factorize(A.values());
  const at::Tensor b = at::ones({A.rows()}, at::kDouble);
  for (auto _ : st) benchmark::DoNotOptimize(f->solve(b, false));
  set_labels(st, *f);
}

// The BENCHMARKS.md figure: analysis + numeric factorization + one solve, b = 1.
void BM_DirectCholeskyTotal(benchmark::State& st) {
  const auto& A = poisson();
  const std::string ord = kOrderings[st.range(0)];
  const at::Tensor b = at::ones({A.rows()}, at::kDouble);
  for (auto _ : st) {
    st.PauseTiming();
    auto p = fresh_pattern(A);
    st.ResumeTiming();
    auto f = dsla::direct::make_factorization(p, Kind::Cholesky, at::kDouble, ord);
    f->factorize(A.values());
    at::Tensor x = f->solve(b, false);
    benchmark::DoNotOptimize(x);
    st.PauseTiming();
    f.reset();
    p.reset();
    st.ResumeTiming();
  }
  auto f = dsla::direct::make_factorization(A.pattern(), Kind::Cholesky, at::kDouble, ord);
  set_labels(st, *f);
}

// Gradient of logdet (Gaussian-process use): forward slogdet + selected inversion.
void BM_DirectLogdetWithGrad(benchmark::State& st) {
  static const dsla::SparseMatrix A = dsla::poisson2d(st.range(0));
  for (auto _ : st) {
    at::Tensor v = A.values().detach().clone().requires_grad_(true);
    at::Tensor l = dsla::logdet(A.with_values(v));
    l.backward();
    benchmark::DoNotOptimize(v.grad());
  }
  st.SetLabel("poisson2d:" + std::to_string(st.range(0)));
}

void BM_DirectLogdetNoGrad(benchmark::State& st) {
  static const dsla::SparseMatrix A = dsla::poisson2d(st.range(0));
  for (auto _ : st) benchmark::DoNotOptimize(dsla::logdet(A));
  st.SetLabel("poisson2d:" + std::to_string(st.range(0)));
}

// UMFPACK LU on the nonsymmetric convection-diffusion problem, analysis cached.
void BM_DirectLuFactorizeSolve(benchmark::State& st) {
  static const dsla::SparseMatrix A = dsla::convdiff2d(st.range(0));
  auto f = dsla::direct::make_factorization(A.pattern(), Kind::LU, at::kDouble);
  const at::Tensor b = at::ones({A.rows()}, at::kDouble);
  for (auto _ : st) {
    f->factorize(A.values());
    benchmark::DoNotOptimize(f->solve(b, false));
  }
  st.SetLabel("convdiff2d:" + std::to_string(st.range(0)) + " " + f->name());
}

BENCHMARK(BM_DirectCholeskyAnalyze)->DenseRange(0, 3)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DirectCholeskyFactorize)
    ->DenseRange(0, 3)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_DirectCholeskySolve)->DenseRange(0, 3)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DirectCholeskyTotal)->DenseRange(0, 3)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DirectLogdetNoGrad)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DirectLogdetWithGrad)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DirectLuFactorizeSolve)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

#endif  // DSLA_HAVE_SUITESPARSE
