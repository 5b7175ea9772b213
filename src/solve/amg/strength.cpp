// AMG strength of connection: CPU and CUDA kernels (symmetric values), device-generic ATen
// otherwise.
#include "solve/amg/amg_internal.h"

#include <dsla/errors.h>

#include "core/dispatch.h"
#include "core/kernel_views.h"
#include "kernels/cpu/amg_kernels.h"

namespace dsla::amg::detail {

namespace {

PatternPtr pattern_from_rows_cols(const at::Tensor& row, const at::Tensor& col, int64_t n) {
  auto counts = at::zeros({n}, row.options().dtype(at::kLong));
  if (row.numel() > 0) counts.index_add_(0, row, at::ones_like(row));
  auto crow = at::cat({at::zeros({1}, counts.options()), counts.cumsum(0)});
  const auto dt = Pattern::index_dtype_for(n, n, row.numel());
  return Pattern::from_csr(crow.to(dt), col.to(dt).contiguous(), n, n, /*check=*/false);
}

// The CPU kernels (no symmetrization: values_symmetric only).
PatternPtr strength_cpu(const PatternPtr& a, const at::Tensor& values, double theta) {
  using dsla::detail::ptr;
  const int64_t n = a->rows();
  auto v = values.contiguous();
  auto absdiag = v.index_select(0, a->diag_pos()).abs().contiguous();
  auto keep = at::empty({a->nnz()}, v.options().dtype(at::kByte));
  auto count = at::empty({n}, v.options().dtype(at::kLong));
  const int nt = dsla::detail::num_threads();
  at::Tensor crow, col;
  DSLA_DISPATCH_INDEX(a->index_dtype(), "amg strength", [&] {
    AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "amg strength", [&] {
      kernels::cpu::amg_strength_mark<scalar_t, index_t>(
          dsla::detail::csr_view<scalar_t, index_t>(*a, v), ptr<scalar_t>(absdiag), theta,
          ptr<uint8_t>(keep), ptr<int64_t>(count), nt);
    });
    crow = at::cat({at::zeros({1}, count.options()), count.cumsum(0)});
    col = at::empty({crow[n].item<int64_t>()}, a->col().options());
    kernels::cpu::amg_strength_fill<index_t>(dsla::detail::csr_pattern<index_t>(*a),
                                             ptr<uint8_t>(keep), ptr<int64_t>(crow),
                                             ptr<index_t>(col), nt);
  });
  return Pattern::from_csr(crow.to(a->index_dtype()), col, n, n, /*check=*/false);
}

}  // namespace

PatternPtr strength_graph(const PatternPtr& a, const at::Tensor& values, double theta,
                          bool values_symmetric) {
  const int64_t n = a->rows();
  if (values_symmetric && values.is_cpu()) return strength_cpu(a, values, theta);
  if (auto* f = strength_stub.on(values.device());
      f && values_symmetric && at::isFloatingType(values.scalar_type())) {
    return f(*a, values, theta);
  }
  auto row = a->row().to(at::kLong), col = a->col().to(at::kLong);
  auto av = values.abs();
  auto d = av.index_select(0, a->diag_pos());
  auto keep = (row != col) & (av > 0);
  if (theta > 0) {
    auto bound = (d.index_select(0, row) * d.index_select(0, col)).sqrt() * theta;
    keep = keep & (av >= bound);
  }
  if (values_symmetric) {
    return pattern_from_rows_cols(row.masked_select(keep), col.masked_select(keep), n);
  }
  if (a->is_structurally_symmetric()) {
    keep = keep | keep.index_select(0, a->transpose_perm());
    return pattern_from_rows_cols(row.masked_select(keep), col.masked_select(keep), n);
  }
  // General pattern: the union of S and Sᵀ through sorted unique keys.
  auto r = row.masked_select(keep), c = col.masked_select(keep);
  auto keys = at::cat({r * n + c, c * n + r});
  auto uniq = std::get<0>(at::_unique(keys, /*sorted=*/true, /*return_inverse=*/false));
  return pattern_from_rows_cols(uniq.div(n, "floor"), uniq.remainder(n), n);
}

PatternPtr expand_node_graph(const PatternPtr& a, const PatternPtr& s, int64_t b) {
  const int64_t N = s->rows();
  auto row = a->row().to(at::kLong), col = a->col().to(at::kLong);
  auto I = row.div(b, "floor"), J = col.div(b, "floor");
  auto keys = I * N + J;
  auto strong = at::zeros_like(keys, keys.options().dtype(at::kBool));
  if (s->nnz() > 0) {
    auto skeys = s->row().to(at::kLong) * N + s->col().to(at::kLong);  // sorted: CSR order
    auto pos = at::searchsorted(skeys, keys).clamp_max(s->nnz() - 1);
    strong = skeys.index_select(0, pos) == keys;
  }
  auto keep = (row != col) & ((I == J) | strong);
  return pattern_from_rows_cols(row.masked_select(keep), col.masked_select(keep), a->rows());
}

SparseMatrix node_matrix(const PatternPtr& a, const at::Tensor& values, int64_t b) {
  const int64_t N = a->rows() / b;
  auto rn = a->row().to(at::kLong).div(b, "floor"), cn = a->col().to(at::kLong).div(b, "floor");
  // from_coo sums the squares of a block's entries into one node entry.
  auto M = SparseMatrix::from_coo(rn, cn, values.detach().abs().square(), {N, N});
  return M.with_values(M.values().sqrt());
}

}  // namespace dsla::amg::detail
