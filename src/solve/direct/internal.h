// Helpers shared by the SuiteSparse-backed factorizations (not part of the public API).
#pragma once

#include "solve/direct/factorization.h"

#include <dsla/errors.h>
#include <dsla/pattern.h>

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/device_stub.h"

namespace dsla::direct::detail {

// cuDSS (cudss_factorization_cuda.cpp registers it in builds with CUDA and cuDSS): the
// factorization of a CUDA pattern, and the library's version.
using MakeDeviceFactorizationFn = std::unique_ptr<Factorization>(const PatternPtr& pattern,
                                                                 Kind kind, at::ScalarType dtype,
                                                                 const std::string& ordering,
                                                                 int64_t batch);
using LibraryVersionFn = std::string();
extern device::Stub<MakeDeviceFactorizationFn> make_factorization_stub;
extern device::Stub<LibraryVersionFn> cudss_version_stub;

// slogdet()'s result from a factorization's host scalars: sign in `dtype` (complex when the
// matrix is), log|det| in its real type.
inline std::pair<at::Tensor, at::Tensor> slogdet_tensors(c10::complex<double> sign, double logabs,
                                                         at::ScalarType dtype) {
  const auto opts = at::TensorOptions().dtype(dtype);
  at::Tensor s = at::isComplexType(dtype) ? at::scalar_tensor(sign, opts)
                                          : at::scalar_tensor(sign.real(), opts);
  return {s, at::scalar_tensor(logabs, opts.dtype(at::toRealValueType(dtype)))};
}

// Counts a symbolic analysis (see analysis_count()).
void count_analysis();

// The CSR pattern as int64 on the CPU, without a copy when it is int64 there already (a copy of
// a large pattern costs ~1.6 ms/MB of page faults). The pointers live as long as the struct.
struct CsrInt64 {
  at::Tensor crow_t, col_t;
  const int64_t* crow;
  const int64_t* col;
};
CsrInt64 csr_int64(const Pattern& p);

// The CSR pattern as int64 vectors (crow [n+1], col [nnz]) on the CPU (owned copies).
void csr_as_int64(const Pattern& p, std::vector<int64_t>& crow, std::vector<int64_t>& col);

// The working dtype of a factorization: float64 for real, complex128 for complex.
inline at::ScalarType work_dtype(at::ScalarType t) {
  return at::isComplexType(t) ? at::kComplexDouble : at::kDouble;
}

// Checks `values` ([nnz], CPU, floating) for factorize() and returns it detached, contiguous,
// in the working dtype of `dtype`.
at::Tensor prepare_values(const at::Tensor& values, int64_t nnz, at::ScalarType dtype,
                          const char* who);

// Checks b ([n] or [n, k], CPU) for solve() and returns it as a column-major [k, n] contiguous
// tensor in `work` dtype (each row of the result is one right-hand side), plus k.
at::Tensor prepare_rhs(const at::Tensor& b, int64_t n, at::ScalarType work, const char* who);

// Undoes prepare_rhs: x_cm is [k, n] (row j = solution j); returns the shape of b in `out`.
at::Tensor finish_solution(const at::Tensor& x_cm, const at::Tensor& b, at::ScalarType out);

// The dtype solve() returns: the promotion of the factorization dtype and b's dtype.
at::ScalarType result_dtype(at::ScalarType fact, at::ScalarType b);

// Throws SingularMatrixError with a message naming the library, the step and the pivot.
[[noreturn]] void throw_singular(const std::string& what, int64_t pivot);

}  // namespace dsla::direct::detail

namespace dsla::direct::detail {

// Runs solve_cm ([k, n] contiguous right-hand sides in the factorization's working dtype ->
// [k, n] solutions) on b after the checks and layout changes; a complex b with a real
// factorization is solved as 2k real right-hand sides (real and imaginary parts).
template <class F>
at::Tensor solve_with(const at::Tensor& b, at::ScalarType fact_dtype, int64_t n, const char* who,
                      F&& solve_cm) {
  const at::ScalarType work = work_dtype(fact_dtype);
  const at::ScalarType out = result_dtype(fact_dtype, b.defined() ? b.scalar_type() : fact_dtype);
  if (b.defined() && at::isComplexType(b.scalar_type()) && !at::isComplexType(fact_dtype)) {
    const at::Tensor bc = prepare_rhs(b, n, at::kComplexDouble, who);  // [k, n]
    const int64_t k = bc.size(0);
    const at::Tensor br = at::view_as_real(bc).permute({0, 2, 1}).contiguous().view({2 * k, n});
    const at::Tensor xr = solve_cm(br);  // [2k, n]
    const at::Tensor xc = at::view_as_complex(xr.view({k, 2, n}).permute({0, 2, 1}).contiguous());
    return finish_solution(xc, b, out);
  }
  const at::Tensor bcm = prepare_rhs(b, n, work, who);
  return finish_solution(solve_cm(bcm), b, out);
}

}  // namespace dsla::direct::detail
