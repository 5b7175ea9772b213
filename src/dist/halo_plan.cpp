// The ownership directory and the halo plan's summary (see halo_plan.h).
#include "dist/halo_plan.h"

#include <dsla/errors.h>

#include <algorithm>
#include <sstream>
#include <utility>
#include <vector>

namespace dsla::dist {

std::pair<int64_t, int64_t> contiguous_range(int64_t n, int rank, int size) {
  DSLA_CHECK_ARG(size >= 1 && rank >= 0 && rank < size, "rank", "must be in [0, ", size, "), got ",
                 rank);
  DSLA_CHECK_ARG(n >= 0, "n", "must be >= 0, got ", n);
  auto lo = [&](int r) { return static_cast<int64_t>((static_cast<__int128>(n) * r) / size); };
  return {lo(rank), lo(rank + 1)};
}

namespace {

// Sorts `ids` by home rank; returns the order (undefined: already grouped, the identity) and
// the count per home. Ids in ascending order (a coarse level's owned range, one rank's rows) are
// grouped already: the host sort of millions of ids is skipped.
std::vector<int64_t> by_home(const at::Tensor& home, int P, at::Tensor& order) {
  const int64_t m = home.numel();
  const bool grouped =
      m < 2 || (home.narrow(0, 1, m - 1) >= home.narrow(0, 0, m - 1)).all().item<bool>();
  order = grouped ? at::Tensor() : at::argsort(home);  // stable enough: ties keep no meaning
  auto counts = at::bincount(home, {}, P);
  auto c = counts.accessor<int64_t, 1>();
  return std::vector<int64_t>(c.data(), c.data() + P);
}

}  // namespace

Directory::Directory(const Comm& comm, int64_t n, const at::Tensor& owned) : comm_(comm), n_(n) {
  const int P = comm.size();
  std::vector<int64_t> off(P + 1);
  for (int r = 0; r <= P; ++r) off[r] = r < P ? contiguous_range(n, r, P).first : n;
  home_off_ = at::tensor(off, at::kLong);
  auto [lo, hi] = contiguous_range(n, comm.rank(), P);
  lo_ = lo;
  // Register (id, position) at the homes.
  auto home = at::searchsorted(home_off_, owned, /*out_int32=*/false, /*right=*/true) - 1;
  at::Tensor order;
  auto counts = by_home(home, P, order);
  auto pairs = at::stack({owned, at::arange(owned.numel(), at::kLong)}, 1);
  if (order.defined()) pairs = pairs.index_select(0, order);
  std::vector<int64_t> rc;
  auto got = comm.alltoallv(pairs, counts, &rc);
  owner_ = at::full({hi - lo}, -1, at::kLong);
  pos_ = at::full({hi - lo}, -1, at::kLong);
  auto seen = at::zeros({hi - lo}, at::kLong);
  std::vector<int64_t> src;
  for (int r = 0; r < P; ++r) src.insert(src.end(), rc[r], r);
  auto srct = at::tensor(src, at::kLong);
  if (got.size(0) > 0) {
    auto ids = got.select(1, 0) - lo;
    seen.index_add_(0, ids, at::ones_like(ids));
    owner_.index_put_({ids}, srct);
    pos_.index_put_({ids}, got.select(1, 1));
  }
  // Every id of [lo, hi) owned exactly once.
  std::string msg;
  if (hi > lo) {
    auto bad = at::nonzero(seen != 1);
    if (bad.numel() > 0) {
      const int64_t i = bad[0][0].item<int64_t>();
      std::ostringstream m;
      m << "argument 'owned': global row " << lo + i << " is owned by " << seen[i].item<int64_t>()
        << " ranks; the ranks' owned rows must partition [0, " << n
        << ") (each row owned by exactly one rank)";
      msg = m.str();
    }
  }
  comm.agree(msg.empty(), msg);
}

void Directory::lookup(const at::Tensor& ids, at::Tensor& owner, at::Tensor& position) const {
  const int P = comm_.size();
  auto home = at::searchsorted(home_off_, ids, false, true) - 1;
  at::Tensor order;
  auto counts = by_home(home, P, order);
  std::vector<int64_t> rc;
  auto q = comm_.alltoallv(order.defined() ? ids.index_select(0, order) : ids, counts, &rc);
  auto local = q - lo_;
  auto ans = at::stack({owner_.index_select(0, local), pos_.index_select(0, local)}, 1);
  // Answers go back to the askers: what came from rank r returns to r, in order.
  auto back = comm_.alltoallv(ans, rc);
  owner = at::empty_like(ids);
  position = at::empty_like(ids);
  if (ids.numel() > 0 && order.defined()) {
    owner.index_put_({order}, back.select(1, 0));
    position.index_put_({order}, back.select(1, 1));
  } else if (ids.numel() > 0) {
    owner.copy_(back.select(1, 0));
    position.copy_(back.select(1, 1));
  }
}

std::string HaloPlan::summary() const {
  std::ostringstream s;
  s << "rank " << comm.rank() << "/" << comm.size() << ": " << n_owned << " owned rows ("
    << n_interior << " interior), " << n_ghost << " ghosts from " << recv_ranks.size()
    << " neighbours, sends " << n_send() << " entries to " << send_ranks.size()
    << " neighbours per exchange; recv counts [";
  for (size_t i = 0; i < recv_ranks.size(); ++i)
    s << (i ? ", " : "") << recv_off[i + 1] - recv_off[i];
  s << "]" << (loopback ? " (twin: loopback exchange)" : "");
  return s.str();
}

void exchange(const HaloPlan& p, const at::Tensor& send_buf, const std::vector<int>& send_ranks,
              const std::vector<int64_t>& send_off, at::Tensor& recv_buf,
              const std::vector<int>& recv_ranks, const std::vector<int64_t>& recv_off, int tag,
              std::vector<Comm::Request>& reqs) {
  if (p.loopback) {  // the same bytes move, device to device, as they would between ranks
    for (size_t i = 0; i < recv_ranks.size(); ++i) {
      size_t j = 0;
      while (j < send_ranks.size() && send_ranks[j] != recv_ranks[i]) ++j;
      const int64_t m = recv_off[i + 1] - recv_off[i];
      TORCH_CHECK(j < send_ranks.size() && send_off[j + 1] - send_off[j] == m,
                  "dsla: twin halo plan: no send block of ", m, " rows for rank ", recv_ranks[i]);
      recv_buf.narrow(0, recv_off[i], m).copy_(send_buf.narrow(0, send_off[j], m));
    }
    return;
  }
  // An empty block (an exchange of variable-length rows, all empty) moves no message: both
  // sides know its size.
  for (size_t i = 0; i < recv_ranks.size(); ++i) {
    if (recv_off[i + 1] == recv_off[i]) continue;
    auto part = recv_buf.narrow(0, recv_off[i], recv_off[i + 1] - recv_off[i]);
    reqs.push_back(p.comm.irecv(part, recv_ranks[i], tag));
  }
  for (size_t i = 0; i < send_ranks.size(); ++i) {
    if (send_off[i + 1] == send_off[i]) continue;
    auto part = send_buf.narrow(0, send_off[i], send_off[i + 1] - send_off[i]);
    reqs.push_back(p.comm.isend(part, send_ranks[i], tag));
  }
}

at::Tensor exchange_ghosts(const HaloPlan& p, const at::Tensor& x3, int tag) {
  auto send = x3.index_select(1, p.send_idx).permute({1, 0, 2}).contiguous();
  auto recv = at::empty({p.n_ghost, x3.size(0), x3.size(2)}, x3.options());
  std::vector<Comm::Request> reqs;
  exchange(p, send, p.send_ranks, p.send_off, recv, p.recv_ranks, p.recv_off, tag, reqs);
  for (auto& r : reqs) p.comm.wait(r);
  return recv.permute({1, 0, 2}).contiguous();
}

namespace {

// When every rank owns one contiguous range of ids and the ranges tile [0, n) (each coarse level
// of a distributed AMG owns [c_off, c_off + nc)), an id's owner is found among the P range
// starts and the owner turns requested ids into its positions itself: no ownership directory
// (its n / P-sized host arrays, host searches and two all-to-alls per plan). `owned` must be
// unique (the callers check it). Collective. Fills starts / ranks (host, the non-empty ranges
// by start) and lo (this rank's first id).
bool range_owners(const Comm& comm, int64_t n, const at::Tensor& owned, at::Tensor& starts,
                  at::Tensor& ranks, int64_t& lo) {
  const int64_t m = owned.numel();
  lo = 0;
  int64_t hi = -1;
  if (m > 0) {
    auto e = at::stack({owned.min(), owned.max()}).cpu();
    lo = e[0].item<int64_t>();
    hi = e[1].item<int64_t>();
  }
  auto info = comm.allgather(at::tensor({int64_t(m == 0 || hi - lo + 1 == m), lo, m}, at::kLong))
                  .view({-1, 3});
  const int P = comm.size();
  auto a = info.accessor<int64_t, 2>();
  std::vector<std::pair<int64_t, int64_t>> by_start;  // (start, rank) of the non-empty ranges
  for (int r = 0; r < P; ++r) {
    if (a[r][0] == 0) return false;
    if (a[r][2] > 0) by_start.emplace_back(a[r][1], r);
  }
  std::sort(by_start.begin(), by_start.end());
  int64_t next = 0;
  for (const auto& [st, r] : by_start) {
    if (st != next) return false;
    next += a[r][2];
  }
  if (next != n) return false;
  std::vector<int64_t> s, rk;
  for (const auto& [st, r] : by_start) {
    s.push_back(st);
    rk.push_back(r);
  }
  starts = at::tensor(s, at::kLong);
  ranks = at::tensor(rk, at::kLong);
  return true;
}

}  // namespace

at::Tensor host_ids(const at::Tensor& ids) {
  if (!ids.is_cuda()) return ids.to(at::kLong).contiguous();
  auto h =
      at::empty(ids.sizes(), ids.options().dtype(at::kLong).device(at::kCPU).pinned_memory(true));
  h.copy_(ids);
  return h;
}

std::shared_ptr<HaloPlan> build_plan(const Comm& comm, int64_t n, const at::Tensor& owned,
                                     const at::Tensor& ghost_ids, c10::Device device) {
  const auto cpu_long = at::TensorOptions().dtype(at::kLong);
  auto plan = std::make_shared<HaloPlan>();
  plan->comm = comm;
  plan->n = n;
  plan->owned = host_ids(owned);
  plan->n_owned = owned.numel();
  plan->n_interior = plan->n_owned;
  auto ids = ghost_ids.to(at::kCPU).contiguous();
  at::Tensor starts, ranks;
  int64_t lo = 0;
  const bool by_range = range_owners(comm, n, owned, starts, ranks, lo);
  // Ghosts, grouped by owner (then by id). g_pos: each ghost's position at its owner (directory
  // path), or undefined (range path: the owner finds the positions of the ids it is sent).
  at::Tensor g_owner, g_pos;
  if (by_range) {
    auto k = at::searchsorted(starts, ids, /*out_int32=*/false, /*right=*/true) - 1;
    g_owner = ranks.index_select(0, k.clamp_min(0));
  } else {
    // Ownership directory: checks that the owned sets partition [0, n).
    Directory dir(comm, n, plan->owned);
    dir.lookup(ids, g_owner, g_pos);
  }
  auto g_order = at::argsort(g_owner * (n + 1) + ids);
  plan->ghost = ids.index_select(0, g_order);
  g_owner = g_owner.index_select(0, g_order);
  if (g_pos.defined()) g_pos = g_pos.index_select(0, g_order);
  plan->n_ghost = ids.numel();
  const int P = comm.size();
  auto per_owner = at::bincount(g_owner, {}, P);
  std::vector<int64_t> ask(P);
  {
    auto a = per_owner.accessor<int64_t, 1>();
    for (int p = 0; p < P; ++p) ask[p] = a[p];
  }
  plan->recv_off.push_back(0);
  for (int p = 0; p < P; ++p) {
    if (ask[p] > 0) {
      plan->recv_ranks.push_back(p);
      plan->recv_off.push_back(plan->recv_off.back() + ask[p]);
    }
  }
  // Owners learn which of their entries each neighbour needs (in the neighbour's ghost order):
  // their positions (directory), or their ids, turned into positions here (range: one scatter
  // of the owned ids on the device, then a gather of the few requested).
  std::vector<int64_t> give;
  auto send_idx = comm.alltoallv(by_range ? plan->ghost : g_pos, ask, &give);
  if (by_range && plan->n_owned > 0) {
    const auto dl = at::TensorOptions().dtype(at::kLong).device(device);
    auto inv = at::empty({plan->n_owned}, dl);
    inv.index_put_({owned.to(device, at::kLong) - lo}, at::arange(plan->n_owned, dl));
    send_idx = inv.index_select(0, send_idx.to(device) - lo);
  }
  plan->send_off.push_back(0);
  for (int p = 0; p < P; ++p) {
    if (give[p] > 0) {
      plan->send_ranks.push_back(p);
      plan->send_off.push_back(plan->send_off.back() + give[p]);
    }
  }
  plan->send_idx = send_idx.to(device);
  auto counts = comm.allgather(at::tensor({plan->n_owned}, cpu_long)).view(-1);
  plan->rank_offset = counts.narrow(0, 0, comm.rank()).sum().item<int64_t>();
  return plan;
}

}  // namespace dsla::dist
