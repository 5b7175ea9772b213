// Restricted additive Schwarz, overlap 1 (see ras.h). The ghost rows travel once at setup as
// (global row, global column) pairs and values, one all-to-all each: the owner of a row sends it
// to every neighbour that holds it as a ghost, which is exactly the send side of the halo plan.
#include "dist/ras.h"

#include <ATen/ATen.h>

#include <vector>

#include "dist/dist_internal.h"
#include "dist/halo_plan.h"

namespace dsla::dist::detail {

namespace {

// Positions of `ids` in `table` (int64 global ids, all distinct), -1 where absent; no array of
// global length (a sort of the table and a binary search).
at::Tensor positions_in(const at::Tensor& table, const at::Tensor& ids) {
  if (table.numel() == 0 || ids.numel() == 0) return at::full({ids.numel()}, -1, ids.options());
  auto sorted = at::sort(table);
  const auto& keys = std::get<0>(sorted);
  const auto& perm = std::get<1>(sorted);
  auto pos = at::searchsorted(keys, ids).clamp_max(keys.numel() - 1);
  auto found = keys.index_select(0, pos).eq(ids);
  return at::where(found, perm.index_select(0, pos), at::full_like(pos, -1));
}

}  // namespace

SparseMatrix overlap_block(const DistMatrix& A) {
  const auto& p = A.plan();
  const auto& C = A.comm();
  const auto owned = p.owned.to(at::kCPU), ghost = p.ghost.to(at::kCPU);
  const int64_t n = A.n_owned(), ng = A.n_ghost(), ni = A.n_interior();
  const auto cpu = at::TensorOptions().dtype(at::kLong);
  // This rank's entries: local row (owned order), global column, value, row by row.
  auto d_row = A.diag().row_indices().to(at::kCPU, at::kLong);
  auto d_col = A.diag().col_indices().to(at::kCPU, at::kLong);
  auto o_row = A.offd().row_indices().to(at::kCPU, at::kLong) + ni;
  auto o_col = A.offd().col_indices().to(at::kCPU, at::kLong);
  auto vals = A.values().detach();
  auto v2 = vals.dim() == 1 ? vals.unsqueeze(0) : vals;  // [B, nnz_local]
  auto row = at::cat({d_row, o_row});
  auto ext_col = at::cat({d_col, o_col + n});  // the column in [owned | ghost] order
  auto gcol = at::cat({owned.index_select(0, d_col), ghost.index_select(0, o_col)});
  auto order = at::argsort(row);  // stable enough: any order within a row serves
  row = row.index_select(0, order);
  gcol = gcol.index_select(0, order);
  auto v_sorted = v2.index_select(1, order.to(v2.device()));
  auto counts = at::bincount(row, {}, n);
  auto start = at::cumsum(counts, 0) - counts;

  // Send side: the rows neighbour i holds as ghosts are send_idx[send_off[i] : send_off[i+1]].
  auto send_rows = p.send_idx.to(at::kCPU);
  std::vector<int64_t> send_counts(C.size(), 0);
  at::Tensor take = at::empty({0}, cpu);
  if (send_rows.numel() > 0) {
    auto c = counts.index_select(0, send_rows);
    auto first = start.index_select(0, send_rows);
    const int64_t E = c.sum().item<int64_t>();
    // Entry positions of the selected rows, row after row: first[r] + 0, 1, ..., c[r] - 1.
    auto seg = at::repeat_interleave(c);
    auto within = at::arange(E, cpu) - (at::cumsum(c, 0) - c).index_select(0, seg);
    take = first.index_select(0, seg) + within;
    auto per_row = c.accessor<int64_t, 1>();
    for (size_t i = 0; i < p.send_ranks.size(); ++i) {
      int64_t s = 0;
      for (int64_t q = p.send_off[i]; q < p.send_off[i + 1]; ++q) s += per_row[q];
      send_counts[p.send_ranks[i]] += s;
    }
  }
  auto ids =
      at::stack({owned.index_select(0, row.index_select(0, take)), gcol.index_select(0, take)},
                1);  // [E, 2] global (row, column)
  auto sv = v_sorted.index_select(1, take.to(v2.device())).t().contiguous();  // [E, B]
  std::vector<int64_t> recv_counts;
  auto rids = C.alltoallv(ids, send_counts, &recv_counts);
  auto rvals = C.alltoallv(sv, send_counts);

  // Received rows are ghosts here; their columns are kept when they are owned or ghosts here.
  auto ext_ids = at::cat({owned, ghost});
  auto r_row = positions_in(ext_ids, rids.select(1, 0).contiguous());
  auto r_col = positions_in(ext_ids, rids.select(1, 1).contiguous());
  auto keep = at::nonzero(r_row.ge(n).logical_and(r_col.ge(0))).view(-1);
  auto rows = at::cat({at::cat({d_row, o_row}), r_row.index_select(0, keep)});
  auto cols = at::cat({ext_col, r_col.index_select(0, keep)});
  auto values = at::cat({v2, rvals.t().index_select(1, keep.to(v2.device()))}, 1);
  if (vals.dim() == 1) values = values.squeeze(0);
  const int64_t ne = n + ng;
  return SparseMatrix::from_coo(rows.to(vals.device()), cols.to(vals.device()), values, {ne, ne});
}

Ras make_ras(const DistMatrix& A, const precond::Options& local) {
  auto Aext = overlap_block(A);
  precond::PreconditionerPtr M;
  std::shared_ptr<const precond::Preconditioner> M_adj;
  local_step(A.comm(), [&] {
    if (Aext.rows() == 0) return;  // a rank that owns nothing has nothing to precondition
    M = precond::make_preconditioner(Aext, local);
    M_adj = M->adjoint();
  });
  const int64_t n = A.n_owned();
  auto wrap = [A, n](std::shared_ptr<const precond::Preconditioner> m) {
    return dsla::make_operator(n, n, A.dtype(), A.device(),
                               [A, m, n](const at::Tensor& x, at::Tensor& y) {
                                 // The ghost part of the residual (a collective: every rank
                                 // exchanges, even one that owns nothing), then the local solve on
                                 // [owned | ghost], agreed on, keeping the owned rows.
                                 auto xe = at::cat({x, A.halo(x.contiguous())}, 1);
                                 local_step(A.comm(), [&] {
                                   if (!m) {
                                     y.zero_();
                                     return;
                                   }
                                   auto ye = at::empty_like(xe);
                                   m->apply(xe, ye);
                                   y.copy_(ye.narrow(1, 0, n));
                                 });
                               });
  };
  return {wrap(M), wrap(M_adj)};
}

}  // namespace dsla::dist::detail
