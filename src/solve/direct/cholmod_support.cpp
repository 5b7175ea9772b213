// See cholmod_support.h.
#include "solve/direct/cholmod_support.h"

#if DSLA_HAVE_SUITESPARSE

#include <dsla/errors.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <dlfcn.h>
#include <omp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace dsla::direct::detail {

namespace {

using SetFn = void (*)(int);
using GetFn = int (*)();
// OpenBLAS' entry points when the BLAS behind CHOLMOD is OpenBLAS (none for reference BLAS).
SetFn blas_set() {
  static const SetFn f = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  return f;
}
GetFn blas_get() {
  static const GetFn f = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return f;
}

}  // namespace

CholmodCommon::CholmodCommon() {
  cholmod_l_start(&c);
  c.print = 0;  // we report failures ourselves, with the pivot
  c.error_handler = nullptr;
}

CholmodCommon::~CholmodCommon() {
  cholmod_l_finish(&c);
}

CholmodThreadScope::CholmodThreadScope(int blas_threads)
    : dyn_(omp_get_dynamic()), nt_(omp_get_max_threads()) {
  const int want = std::max(1, at::get_num_threads());
  // DSLA_DIRECT_THREADS=N: exactly N threads, no load rule (a dedicated machine whose load
  // average still remembers earlier work, or benchmarks).
  const int fixed = fixed_threads();
  omp_set_dynamic(fixed > 0 ? 0 : 1);
  omp_set_num_threads(fixed > 0 ? fixed : want);
  if (blas_set() && blas_get()) {
    blas_prev_ = blas_get()();
    blas_set()(blas_threads > 0 ? blas_threads : threads_for(want));
  }
}

CholmodThreadScope::~CholmodThreadScope() {
  omp_set_dynamic(dyn_);
  omp_set_num_threads(nt_);
  if (blas_set() && blas_prev_ > 0) blas_set()(blas_prev_);
}

int CholmodThreadScope::fixed_threads() {
  const char* e = std::getenv("DSLA_DIRECT_THREADS");
  if (e == nullptr || *e == 0) return 0;
  char* end = nullptr;
  const long v = std::strtol(e, &end, 10);
  DSLA_CHECK_ARG(*end == 0 && v > 0 && v <= 4096, "DSLA_DIRECT_THREADS",
                 "must be a positive integer (threads for the CPU direct solvers), got '", e,
                 "'; unset it to follow the load rule");
  return static_cast<int>(v);
}

int CholmodThreadScope::threads_for(int want) {
  if (const int fixed = fixed_threads(); fixed > 0) return fixed;
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int n = static_cast<int>(std::min<long>(want, cores > 0 ? cores : 1));
  double load[3];
  if (getloadavg(load, 3) == 3) n -= static_cast<int>(load[2] + 0.1);
  return std::max(1, n);
}

int CholmodThreadScope::allowed() {
  return threads_for(at::get_num_threads());
}

std::thread populate_async(void* data, size_t bytes) {
#ifdef MADV_POPULATE_WRITE
  constexpr size_t kMin = size_t(64) << 20, kChunk = size_t(8) << 20;
  if (bytes < kMin || CholmodThreadScope::allowed() < 2) return {};
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t b = (reinterpret_cast<uintptr_t>(data) + page - 1) & ~(page - 1);
  const uintptr_t e = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(page - 1);
  return std::thread([b, e, kChunk] {
    for (uintptr_t a = b; a < e; a += kChunk) {
      if (madvise(reinterpret_cast<void*>(a), std::min<uintptr_t>(kChunk, e - a),
                  MADV_POPULATE_WRITE) != 0)
        return;
    }
  });
#else
  (void)data;
  (void)bytes;
  return {};
#endif
}

void upper_rows_as_lower_csc(int64_t n, const int64_t* crow, const int64_t* col,
                             std::vector<int64_t>& p, std::vector<int64_t>& i,
                             std::vector<int64_t>* sel) {
  p.assign(n + 1, 0);
  for (int64_t j = 0; j < n; ++j) {
    int64_t cnt = 0;
    for (int64_t q = crow[j]; q < crow[j + 1]; ++q) cnt += col[q] >= j;
    p[j + 1] = p[j] + cnt;
  }
  i.resize(p[n]);
  if (sel) sel->resize(p[n]);
  for (int64_t j = 0, t = 0; j < n; ++j) {
    for (int64_t q = crow[j]; q < crow[j + 1]; ++q) {
      if (col[q] < j) continue;
      i[t] = col[q];
      if (sel) (*sel)[t] = q;
      ++t;
    }
  }
}

void permuted_lower(int64_t n, const int64_t* crow, const int64_t* col, const int64_t* perm,
                    std::vector<int64_t>& p, std::vector<int64_t>& i, std::vector<int64_t>& sel) {
  std::vector<int64_t> pinv(n);
  for (int64_t k = 0; k < n; ++k) pinv[perm[k]] = k;
  std::vector<int64_t> next(n + 1, 0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t q = crow[r]; q < crow[r + 1]; ++q)
      if (pinv[r] >= pinv[col[q]]) ++next[pinv[col[q]] + 1];
  for (int64_t k = 0; k < n; ++k) next[k + 1] += next[k];
  p = next;
  i.resize(next[n]);
  sel.resize(next[n]);
  // Rows are visited in elimination order, so each column's row indices come out sorted.
  for (int64_t a = 0; a < n; ++a) {
    const int64_t r = perm[a];
    for (int64_t q = crow[r]; q < crow[r + 1]; ++q) {
      const int64_t b = pinv[col[q]];
      if (a >= b) {
        i[next[b]] = a;
        sel[next[b]++] = q;
      }
    }
  }
}

// O(nnz), one pass over the values with no temporaries (tensor temporaries of nnz doubles cost
// more than the loop itself: each is a fresh mmap, page-faulted in).
void check_symmetric_values(const Pattern& pattern, const at::Tensor& v, at::ScalarType dtype,
                            const char* who) {
  using cplx = std::complex<double>;
  const bool complex = at::isComplexType(dtype);
  const at::Tensor tp = pattern.transpose_perm().to(at::kCPU, at::kLong).contiguous();
  const int64_t* t = tp.data_ptr<int64_t>();
  const int64_t nnz = v.numel();
  double d = 0.0, scale = 0.0;
  bool nan = false;
  auto scan = [&](auto* x, auto conj) {
    for (int64_t q = 0; q < nnz; ++q) {
      const double e = std::abs(x[q] - conj(x[t[q]]));
      nan |= std::isnan(e);
      d = std::max(d, e);
      scale = std::max(scale, std::abs(x[q]));
    }
  };
  if (complex) {
    scan(reinterpret_cast<const cplx*>(v.data_ptr<c10::complex<double>>()),
         [](cplx z) { return std::conj(z); });
  } else {
    scan(v.data_ptr<double>(), [](double z) { return z; });
  }
  if (nan) d = NAN;
  const bool single = dtype == at::kFloat || dtype == at::kComplexFloat;
  DSLA_CHECK_ARG(d <= (single ? 1e-5 : 1e-10) * scale, "A", who, " needs a ",
                 complex ? "Hermitian" : "symmetric", " matrix, but max |A - A",
                 complex ? "ᴴ" : "ᵀ", "| = ", d, " (max |A| = ", scale,
                 "); use method='lu' for a general matrix");
}

cholmod_sparse lower_view(int64_t n, const std::vector<int64_t>& p, const std::vector<int64_t>& i,
                          const double* x, bool complex) {
  cholmod_sparse A{};
  A.nrow = A.ncol = static_cast<size_t>(n);
  A.nzmax = i.size();
  A.p = const_cast<int64_t*>(p.data());
  A.i = const_cast<int64_t*>(i.data());
  A.x = const_cast<double*>(x);
  A.stype = -1;
  A.itype = CHOLMOD_LONG;
  A.xtype = x == nullptr ? CHOLMOD_PATTERN : (complex ? CHOLMOD_COMPLEX : CHOLMOD_REAL);
  A.dtype = CHOLMOD_DOUBLE;
  A.sorted = 1;
  A.packed = 1;
  return A;
}

}  // namespace dsla::direct::detail

#endif  // DSLA_HAVE_SUITESPARSE
