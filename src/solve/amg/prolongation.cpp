// AMG prolongators: tentative (per-aggregate QR of the near-nullspace), Jacobi-smoothed, and the
// sparse products of the Galerkin operator. Device-generic ATen except the CPU SpGEMM kernel.
#include <dsla/errors.h>

#include "core/dispatch.h"
#include "core/kernel_views.h"
#include "core/spgemm.h"
#include "kernels/cpu/amg_kernels.h"
#include "solve/amg/amg_internal.h"

namespace dsla::amg::detail {

namespace {

// S = I − scale D⁻¹ A on A's pattern (kernels/cpu/amg_kernels.h), real values on the CPU.
at::Tensor smoothing_values_cpu(const Pattern& a, const at::Tensor& values, const at::Tensor& dinv,
                                const at::Tensor& scale) {
  const int64_t B = values.size(0), n = a.rows();
  auto v = values.contiguous();
  auto d = dinv.expand({B, n, 1}).contiguous();
  auto sc = scale.to(v.scalar_type()).expand({B, 1, 1}).contiguous();
  auto out = at::empty_like(v);
  DSLA_DISPATCH_INDEX(a.index_dtype(), "amg prolongator", [&] {
    AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "amg prolongator", [&] {
      kernels::cpu::amg_smoothing_values<scalar_t, index_t>(
          dsla::detail::csr_pattern<index_t>(a), a.nnz(), B, v.data_ptr<scalar_t>(),
          d.data_ptr<scalar_t>(), sc.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(),
          dsla::detail::num_threads());
    });
  });
  return out;
}

// The device's smoothing-values step (CUDA's registered kernel, the CPU's here); null for
// complex values and devices without one (then the ATen formulation runs).
SmoothingValuesFn* smoothing_values_for(const at::Tensor& values) {
  if (!at::isFloatingType(values.scalar_type())) return nullptr;
  if (values.is_cpu()) return &smoothing_values_cpu;
  return smoothing_values_stub.on(values.device());
}

}  // namespace

at::Tensor product_values(const PatternPtr& a, const at::Tensor& av, const PatternPtr& b,
                          const at::Tensor& bv) {
  // CPU and CUDA kernels; the ATen entry map (24 B per multiply) on other devices.
  return dsla::detail::spgemm_values(a, av, b, bv);
}

void build_tentative(LevelStructure& st) {
  const int64_t n = st.a->rows(), m = st.nullspace.size(1), n_agg = st.n_agg;
  auto lo = at::TensorOptions().dtype(at::kLong).device(st.agg.device());
  auto in = st.agg >= 0;
  auto rows_in = in.nonzero().squeeze(1);
  auto a_in = st.agg.index_select(0, rows_in);
  auto b_in = st.nullspace.index_select(0, rows_in);  // [n_in, m]
  const int64_t n_in = rows_in.numel();
  auto counts = in.to(at::kLong) * m;
  auto crow = at::cat({at::zeros({1}, lo), counts.cumsum(0)});
  at::Tensor col, vals;
  if (m == 1) {
    auto norm2 = at::zeros({n_agg}, b_in.options()).index_add_(0, a_in, b_in.select(1, 0).square());
    auto norm = norm2.sqrt();
    // An aggregate where the vector vanishes keeps a zero column (norm 1 avoids 0/0).
    auto safe = at::where(norm > 0, norm, at::ones_like(norm));
    vals = b_in.select(1, 0) / safe.index_select(0, a_in);
    col = a_in;
    st.coarse_nullspace = norm.unsqueeze(1);
  } else {
    // Rows of each aggregate in order: local index of every row inside its aggregate.
    auto sorted = at::sort(a_in, /*stable=*/true, 0, false);
    auto order = std::get<1>(sorted);
    auto per_agg = at::zeros({n_agg}, lo).index_add_(0, a_in, at::ones_like(a_in));
    auto start = per_agg.cumsum(0) - per_agg;
    auto local = at::empty({n_in}, lo);
    local.index_put_({order}, at::arange(n_in, lo) - start.index_select(0, std::get<0>(sorted)));
    const int64_t smax = per_agg.max().item<int64_t>();
    auto blocks = at::zeros({n_agg, smax, m}, b_in.options());
    blocks.index_put_({a_in, local}, b_in);
    auto qr = at::linalg_qr(blocks, "reduced");
    auto q = std::get<0>(qr), r = std::get<1>(qr);  // [n_agg, smax, kq], [n_agg, kq, m]
    const int64_t kq = q.size(2);
    if (kq < m) {  // aggregates smaller than m: pad (the missing directions are dropped)
      q = at::constant_pad_nd(q, {0, m - kq});
      r = at::constant_pad_nd(r, {0, 0, 0, m - kq});
    }
    vals = q.index({a_in, local}).reshape({n_in * m});
    col = (a_in * m).unsqueeze(1) + at::arange(m, lo).unsqueeze(0);
    col = col.reshape({n_in * m});
    st.coarse_nullspace = r.reshape({n_agg * m, m}).contiguous();
  }
  const auto dt = Pattern::index_dtype_for(n, n_agg * m, col.numel());
  st.t = Pattern::from_csr(crow.to(dt), col.to(dt).contiguous(), n, n_agg * m, false);
  st.t_values = vals.reshape({1, -1}).contiguous();
}

void build_filter(LevelStructure& st, const PatternPtr& s) {
  const int64_t n = st.a->rows();
  // Worth it only when the strength graph drops a real share of A (anisotropy, structural
  // problems); a few dropped entries would cost a second analysis for nothing.
  const int64_t dropped = st.a->nnz() - n - s->nnz();
  if (dropped * 20 < st.a->nnz()) return;
  auto lo = at::TensorOptions().dtype(at::kLong).device(st.a->device());
  auto diag = at::arange(n, lo) * (n + 1);
  auto keys = at::cat({s->row().to(at::kLong) * n + s->col().to(at::kLong), diag});
  keys = std::get<0>(at::sort(keys));
  auto row = keys.div(n, "floor"), col = keys.remainder(n);
  auto counts = at::zeros({n}, lo).index_add_(0, row, at::ones_like(row));
  auto crow = at::cat({at::zeros({1}, lo), counts.cumsum(0)});
  const auto dt = st.a->index_dtype();
  st.f = Pattern::from_csr(crow.to(dt), col.to(dt).contiguous(), n, n, false);
  auto keys_a = st.a->row().to(at::kLong) * n + st.a->col().to(at::kLong);
  st.f_src = at::searchsorted(keys_a, keys);
  st.f_diag = at::searchsorted(keys, diag);
}

void smoothing_operator(const LevelStructure& st, const Level& lv, at::Tensor& values,
                        at::Tensor& dinv) {
  if (!st.f) {
    values = lv.values;
    dinv = lv.dinv;
    return;
  }
  const int64_t B = lv.values.size(0), n = st.a->rows();
  auto fv = gather_values(lv.values, st.f_src);
  // Row sums ([B, n]); per member along dim 0 (an index_add along dim 1 is several times slower).
  auto row_sums = [&](const Pattern& p, const at::Tensor& v) {
    auto out = at::zeros({B, n}, v.options());
    auto row = entry_rows(p);
    for (int64_t b = 0; b < B; ++b) out.select(0, b).index_add_(0, row, v.select(0, b));
    return out;
  };
  auto dropped = row_sums(*st.a, lv.values) - row_sums(*st.f, fv);
  auto d = gather_values(fv, st.f_diag);
  auto lumped = d + dropped;
  // Lumping keeps the diagonal's sign on M-matrices; where it would not (positive weak
  // entries removed from a small diagonal), keep the plain diagonal.
  auto use = lumped * d > 0;
  d = at::where(use, lumped, d);
  for (int64_t b = 0; b < B; ++b) fv.select(0, b).index_put_({st.f_diag}, d.select(0, b));
  values = fv;
  dinv = (1.0 / d).view({B, n, 1});
}

void build_prolongator_pattern(LevelStructure& st, bool smoothed) {
  if (!smoothed) {
    st.p = st.t;
    st.t_in_p = at::arange(st.t->nnz(), st.t_values.options().dtype(at::kLong));
    return;
  }
  st.p = dsla::detail::spgemm_pattern(st.f ? st.f : st.a, st.t);
  // Real values form P = S T directly (prolongator_values): no map from T into P needed.
  if (st.p->device().is_cuda() || at::isFloatingType(st.t_values.scalar_type())) return;
  const int64_t nc = st.p->cols();
  auto keys_p = st.p->row().to(at::kLong) * nc + st.p->col().to(at::kLong);
  auto keys_t = st.t->row().to(at::kLong) * nc + st.t->col().to(at::kLong);
  st.t_in_p = at::searchsorted(keys_p, keys_t);
}

at::Tensor entry_rows(const Pattern& p, at::ScalarType dt) {
  const auto& crow = p.crow();
  const int64_t n = p.rows();
  // Row lengths in crow's own dtype, then dt (an int64 crow past 2³¹ entries would wrap first).
  auto len = (crow.narrow(0, 1, n) - crow.narrow(0, 0, n)).to(dt);
  return at::repeat_interleave(len, c10::optional<int64_t>(p.nnz()));
}

at::Tensor gather_values(const at::Tensor& v, const at::Tensor& idx) {
  // [1, nnz] values: a 1-D gather is several times faster than one along dim 1.
  if (v.size(0) == 1) return v.select(0, 0).index_select(0, idx).unsqueeze(0);
  return v.index_select(1, idx);
}

at::Tensor prolongator_values(const LevelStructure& st, const at::Tensor& values,
                              const at::Tensor& dinv, const at::Tensor& scale, bool smoothed) {
  const int64_t B = values.size(0), n = st.a->rows();
  if (!smoothed) return st.t_values.expand({B, st.t->nnz()}).contiguous();
  if (auto* sm = smoothing_values_for(values)) {
    // P = S T with S = I - scale D⁻¹ A on A's pattern: one elementwise kernel and one SpGEMM
    // numeric pass on the cached pattern (the same pattern as that of A T).
    const auto& a = st.f ? st.f : st.a;
    auto sv = sm(*a, values, dinv, scale);
    return product_values(a, sv, st.t, st.t_values);
  }
  auto at_vals = product_values(st.f ? st.f : st.a, values, st.t, st.t_values);  // [B, nnz_p]
  auto f = gather_values(-scale.view({B, 1}) * dinv.view({B, n}), st.p->row().to(at::kLong));
  auto pv = f.mul_(at_vals);
  // T's entries sit at distinct positions of P: a gather and a scatter, not an index_add.
  auto pos = st.t_in_p;
  auto tv = st.t_values.expand({B, st.t->nnz()});
  for (int64_t b = 0; b < B; ++b) {
    auto row = pv.select(0, b);
    row.index_put_({pos}, row.index_select(0, pos) + tv.select(0, b));
  }
  return pv;
}

}  // namespace dsla::amg::detail
