// AMG coarsest-level solve: a dense inverse on the device (the coarsest level is small).
#include "solve/amg/amg_internal.h"

namespace dsla::amg::detail {

at::Tensor coarse_inverse(const Level& lv, bool symmetric, std::string& kind) {
  const int64_t B = lv.values.size(0), n = lv.a->rows();
  auto idx = lv.a->row().to(at::kLong) * n + lv.a->col().to(at::kLong);
  auto dense = at::zeros({B, n * n}, lv.values.options()).index_copy_(1, idx, lv.values);
  dense = dense.view({B, n, n});
  if (symmetric) {
    auto f = at::linalg_cholesky_ex(dense);
    if (std::get<1>(f).eq(0).all().item<bool>()) {
      kind = "cholesky";
      return at::cholesky_inverse(std::get<0>(f));
    }
  } else {
    auto f = at::linalg_inv_ex(dense);
    if (std::get<1>(f).eq(0).all().item<bool>()) {
      kind = "lu";
      return std::get<0>(f);
    }
  }
  // Singular (e.g. Neumann problems, whose constant nullspace survives coarsening).
  kind = "pinv";
  return at::linalg_pinv(dense, 1e-12, symmetric);
}

}  // namespace dsla::amg::detail
