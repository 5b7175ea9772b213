// The halo plan of a distributed pattern: which owned entries each neighbour needs (send side)
// and where the ghosts each neighbour owns land (receive side), plus the local renumbering that
// produced it. Built once per distributed pattern by DistMatrix::from_local_coo and shared by
// every matrix with that pattern (with_values, the solver, autograd nodes).
#pragma once

#include <dsla/dist.h>

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

namespace dsla::dist {

struct HaloPlan {
  Comm comm;
  int64_t n = 0;           // global rows (= cols)
  int64_t nnz_global = 0;  // stored entries over all ranks
  int64_t n_owned = 0, n_interior = 0, n_ghost = 0;
  int64_t rank_offset = 0;  // Σ n_owned of the lower ranks
  at::Tensor owned;         // int64 [n_owned] global ids, local order (interior, then boundary)
  at::Tensor ghost;         // int64 [n_ghost] global ids, grouped by owner (ascending), then id
  // Send side: to send_ranks[i], the owned entries send_idx[send_off[i] : send_off[i+1]].
  std::vector<int> send_ranks;
  std::vector<int64_t> send_off;
  at::Tensor send_idx;  // int64 [S] local positions (on the matrix's device)
  // Receive side: from recv_ranks[i], ghosts [recv_off[i], recv_off[i+1]).
  std::vector<int> recv_ranks;
  std::vector<int64_t> recv_off;
  // A weak-scaling twin (DistMatrix::twin): the neighbours are virtual ranks of a larger run;
  // exchange() copies what is sent to a neighbour into the ghosts received from it.
  bool loopback = false;

  int64_t n_boundary() const { return n_owned - n_interior; }
  int64_t n_send() const { return send_off.empty() ? 0 : send_off.back(); }
  std::string summary() const;
};

// Posts the per-neighbour exchange of `send_buf` (rows first: [S or G, ...], one contiguous
// slice per neighbour) into `recv_buf`; wait on every request before touching either. Forward
// (owned entries to the ghosts): plan.send_* -> plan.recv_*; reverse (the adjoint's ghost
// contributions back to their owners): the other way round.
void exchange(const HaloPlan& p, const at::Tensor& send_buf, const std::vector<int>& send_ranks,
              const std::vector<int64_t>& send_off, at::Tensor& recv_buf,
              const std::vector<int>& recv_ranks, const std::vector<int64_t>& recv_off, int tag,
              std::vector<Comm::Request>& reqs);

// The ghost entries of owned slices x3 [B, n_owned, k] under plan p: [B, n_ghost, k] (one
// forward exchange, waited for). DistMatrix::halo, and a distributed AMG prolongation over its
// coarse plan.
at::Tensor exchange_ghosts(const HaloPlan& p, const at::Tensor& x3, int tag);

// A host copy of owned or ghost ids (int64), in page-locked memory when they come from the GPU:
// the plan keeps its ids on the host, and the setup copies the owned ones back to the device
// (start vectors by global id); from pageable memory that is a staged copy of 2 GB at 250M rows.
at::Tensor host_ids(const at::Tensor& ids);

// The plan of a rank that owns `owned` (int64 global ids of a vector of n rows, in local order)
// and needs the entries `ghost_ids` (int64, unique, none owned here, any order): ghosts grouped
// by owner (ascending), then by id; each owner told which of its entries every neighbour needs
// (send_idx on `device`); n_interior = n_owned (callers with boundary rows set it). Collective.
// DistMatrix::from_local_coo builds its plan here, and so does a distributed AMG prolongator
// over the coarse vector's distribution.
std::shared_ptr<HaloPlan> build_plan(const Comm& comm, int64_t n, const at::Tensor& owned,
                                     const at::Tensor& ghost_ids, c10::Device device);

// Ownership of global ids without any array of global length: an assumed-partition directory.
// Ids are homed in contiguous blocks (home(g) = the rank whose contiguous_range holds g); each
// rank registers its owned ids (with their local positions) at their homes, and queries go to
// the homes. Checks, on every rank, that the owned sets partition [0, n).
struct Directory {
  Directory(const Comm& comm, int64_t n, const at::Tensor& owned_in_local_order);
  // For each global id in `ids` (int64, any order, all in [0, n)): its owner and its position
  // in the owner's local order.
  void lookup(const at::Tensor& ids, at::Tensor& owner, at::Tensor& position) const;

 private:
  Comm comm_;
  int64_t n_ = 0, lo_ = 0;
  at::Tensor home_off_;     // int64 [P + 1]
  at::Tensor owner_, pos_;  // int64 [hi - lo]: for the ids homed here
};

}  // namespace dsla::dist
