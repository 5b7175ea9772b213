// CPU SpMV / SpMM throughput against a STREAM-like copy measured in the same run.
// bytes_per_second counts the minimal traffic: values + column indices + row pointers, x and y
// once each. Thread counts are benchmark arguments (torch's default here is one per core).
#include <benchmark/benchmark.h>
#include <dsla/dsla.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <ATen/Parallel.h>

#include <map>
#include <string>

namespace {

const dsla::SparseMatrix& matrix(const std::string& what) {
  static std::map<std::string, dsla::SparseMatrix> cache;
  auto it = cache.find(what);
  if (it != cache.end()) return it->second;
  auto A = dsla::is_generator_spec(what) ? dsla::generate(what)
                                         : dsla::read_mtx(std::string(DSLA_DATA_DIR) + "/" + what);
  return cache.emplace(what, A).first->second;
}

double spmv_bytes(const dsla::SparseMatrix& A, int64_t k) {
  const double isz = A.pattern()->index_dtype() == at::kInt ? 4 : 8;
  const double vsz = A.values().element_size();
  return A.nnz() * (vsz + isz) + (A.rows() + 1) * isz + (A.rows() + A.cols()) * vsz * k;
}

void BM_Copy(benchmark::State& st) {
  at::set_num_threads(static_cast<int>(st.range(0)));
  const int64_t n = (256LL << 20) / 8;
  auto a = at::rand({n}, at::kDouble), b = at::empty_like(a);
  for (auto _ : st) {
    b.copy_(a);
    benchmark::DoNotOptimize(b.data_ptr());
  }
  st.SetBytesProcessed(st.iterations() * 2 * n * 8);
  st.counters["threads"] = static_cast<double>(st.range(0));
}
BENCHMARK(BM_Copy)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()
    ->Repetitions(5)->ReportAggregatesOnly(true);

void spmv(benchmark::State& st, const std::string& what, int64_t k) {
  at::set_num_threads(static_cast<int>(st.range(0)));
  c10::AutoGradMode ng(false);
  const auto& A = matrix(what);
  auto x = k == 1 ? at::rand({A.cols()}, at::kDouble) : at::rand({A.cols(), k}, at::kDouble);
  for (auto _ : st) {
    auto y = dsla::matmul(A, x);
    benchmark::DoNotOptimize(y.data_ptr());
  }
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * spmv_bytes(A, k)));
  st.counters["threads"] = static_cast<double>(st.range(0));
  st.counters["rows"] = static_cast<double>(A.rows());
  st.counters["nnz"] = static_cast<double>(A.nnz());
}

#define DSLA_SPMV_BENCH(NAME, WHAT, K)                                                     \
  BENCHMARK_CAPTURE(spmv, NAME, std::string(WHAT), K)                                      \
      ->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Repetitions(5)      \
      ->ReportAggregatesOnly(true)

DSLA_SPMV_BENCH(poisson2d_1024, "poisson2d:1024", 1);
DSLA_SPMV_BENCH(poisson2d_1024_k8, "poisson2d:1024", 8);
DSLA_SPMV_BENCH(poisson3d_100, "poisson3d:100", 1);
DSLA_SPMV_BENCH(bcsstk16, "bcsstk16.mtx", 1);
DSLA_SPMV_BENCH(bayer10, "bayer10.mtx", 1);

}  // namespace
