// Internal: maps ATen dtypes to the plain C++ types the kernels are instantiated for, and a few
// tensor helpers shared by src/core, src/autograd and src/solve. Not installed.
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <dsla/errors.h>

#include <complex>
#include <cstdint>

namespace dsla::detail {

// DSLA_DISPATCH_VALUE(dtype, "what", [&] { ... scalar_t ... }) for float, double,
// complex<float>, complex<double> (std::complex: layout-compatible with c10::complex).
#define DSLA_DISPATCH_VALUE(DTYPE, WHAT, ...)                                  \
  [&] {                                                                        \
    switch (DTYPE) {                                                           \
      case at::kFloat: {                                                       \
        using scalar_t = float;                                                \
        return __VA_ARGS__();                                                  \
      }                                                                        \
      case at::kDouble: {                                                      \
        using scalar_t = double;                                               \
        return __VA_ARGS__();                                                  \
      }                                                                        \
      case at::kComplexFloat: {                                                \
        using scalar_t = std::complex<float>;                                  \
        return __VA_ARGS__();                                                  \
      }                                                                        \
      case at::kComplexDouble: {                                               \
        using scalar_t = std::complex<double>;                                 \
        return __VA_ARGS__();                                                  \
      }                                                                        \
      default:                                                                 \
        TORCH_CHECK_TYPE(false, "dsla: ", WHAT, ": unsupported dtype ", DTYPE, \
                         "; use float32, float64, complex64 or complex128");   \
    }                                                                          \
  }()

#define DSLA_DISPATCH_INDEX(DTYPE, WHAT, ...)                                                 \
  [&] {                                                                                       \
    switch (DTYPE) {                                                                          \
      case at::kInt: {                                                                        \
        using index_t = int32_t;                                                              \
        return __VA_ARGS__();                                                                 \
      }                                                                                       \
      case at::kLong: {                                                                       \
        using index_t = int64_t;                                                              \
        return __VA_ARGS__();                                                                 \
      }                                                                                       \
      default:                                                                                \
        TORCH_CHECK_TYPE(false, "dsla: ", WHAT, ": index dtype must be int32 or int64, got ", \
                         DTYPE);                                                              \
    }                                                                                         \
  }()

template <class T>
T* ptr(const at::Tensor& t) {
  return reinterpret_cast<T*>(t.data_ptr());
}

inline int num_threads() {
  return at::get_num_threads();
}

// Contiguous, conjugation resolved: what a raw-pointer kernel may read.
inline at::Tensor dense_operand(const at::Tensor& t) {
  return t.resolve_conj().contiguous();
}

inline bool is_value_dtype(at::ScalarType t) {
  return t == at::kFloat || t == at::kDouble || t == at::kComplexFloat || t == at::kComplexDouble;
}

}  // namespace dsla::detail
