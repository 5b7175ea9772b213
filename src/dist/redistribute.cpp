// DistMatrix::redistribute (dist.h): the same global matrix under another row distribution —
// each rank sends its rows' entries (global ids) and the ids themselves to their new owners in
// one all-to-all each, then from_local_coo builds the new blocks and halo plan. Nothing of
// global length on any rank. Values are detached (a repartition is setup, not a function to
// differentiate); batched values travel as rows of [nnz, B].
#include <dsla/dist.h>
#include <dsla/errors.h>

#include <ATen/ATen.h>

#include "dist/dist_internal.h"

#include <sstream>
#include <vector>

namespace dsla::dist {

namespace {

// Rows of `t` (first dimension) grouped by destination: the order and the count per rank.
std::vector<int64_t> group_by(const at::Tensor& dest, int P, at::Tensor& order) {
  order = at::argsort(dest);
  auto c = at::bincount(dest, {}, P).cpu();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + P);
}

}  // namespace

DistMatrix DistMatrix::redistribute(const at::Tensor& new_rank) const {
  TORCH_CHECK_VALUE(defined(), "dsla: the DistMatrix is empty (default-constructed)");
  DSLA_CHECK_ARG(!is_twin(), "A", "is a weak-scaling twin: there is no other rank to send to");
  const auto& C = comm();
  const int P = C.size();
  std::string err;
  {
    std::ostringstream m;
    if (!new_rank.defined() || new_rank.dim() != 1 || new_rank.size(0) != n_owned() ||
        at::isFloatingType(new_rank.scalar_type())) {
      m << "argument 'parts': must be an integer tensor [" << n_owned()
        << "] (the new rank of each owned row, in owned order)";
    } else if (n_owned() > 0 &&
               (new_rank.min().item<int64_t>() < 0 || new_rank.max().item<int64_t>() >= P)) {
      m << "argument 'parts': ranks must be in [0, " << P << ")";
    }
    err = m.str();
  }
  C.agree(err.empty(), err);
  auto dest_row = new_rank.to(at::kCPU, at::kLong).contiguous();
  auto own = owned().to(at::kCPU);
  // This rank's entries in global ids, each going to its row's new rank.
  const auto g = detail::global_coo(*this);
  auto vals = g.values.dim() == 2 ? g.values.t() : g.values.unsqueeze(1);  // [nnz, B']
  auto dest = dest_row.index_select(0, g.local_row);
  at::Tensor order;
  auto counts = group_by(dest, P, order);
  auto idx = at::stack({g.row, g.col}, 1).index_select(0, order);
  std::vector<int64_t> got;
  auto recv_idx = C.alltoallv(idx, counts, &got);
  auto recv_vals = C.alltoallv(vals.index_select(0, order.to(vals.device())).contiguous(), counts);
  // The owned ids move with their rows.
  at::Tensor oorder;
  auto ocounts = group_by(dest_row, P, oorder);
  auto new_owned = C.alltoallv(own.index_select(0, oorder), ocounts);
  auto rv = is_batched() ? recv_vals.t().contiguous() : recv_vals.squeeze(1);
  return from_local_coo(C, recv_idx.select(1, 0).contiguous(), recv_idx.select(1, 1).contiguous(),
                        rv, {rows(), cols()}, std::get<0>(new_owned.sort()));
}

}  // namespace dsla::dist
