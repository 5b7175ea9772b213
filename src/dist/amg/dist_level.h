// One distributed level of a DistAmg hierarchy (dist_amg.cpp): the level's operator and smoother,
// its aggregates and tentative prolongator (inside this rank's diagonal block), the smoothed
// prolongator with its halo plan over the next level's distribution, and the Galerkin product's
// structure (kept for a numeric re-setup). Tensors on the matrix's device unless they say host.
#pragma once

#include <dsla/dist.h>

#include <ATen/ATen.h>
#include <ATen/record_function.h>

#include <memory>
#include <vector>

#include "dist/amg/ghost_rows.h"
#include "dist/halo_plan.h"
#include "solve/amg/amg_internal.h"
#include "solve/amg/cycle.h"

namespace dsla::dist::amg_detail {

// The steps of a distributed level's setup, marked as they end. Each step is a profiler range
// ("dsla level L after S": the step that follows mark S; what torch.profiler attributes the
// step's operators and copies to, bench/dist_amg_setup_profile.py). With DSLA_AMG_TRACE=1 (read
// once per process) each mark also prints the step's seconds on stderr ("dsla trace: level L S
// <s> s"), the device synchronized first. Off, a mark costs an inactive RecordFunction.
class SetupTrace {
 public:
  SetupTrace();
  ~SetupTrace();
  SetupTrace(const SetupTrace&) = delete;
  SetupTrace& operator=(const SetupTrace&) = delete;
  // Marks from here on are level `level`'s, timed from now.
  void start(c10::Device device, int64_t level);
  void operator()(const char* step);
  void stop();  // closes the open range (the level's last step)

 private:
  void open(const char* after);
  bool on_ = false;
  c10::Device device_{c10::kCPU};
  int64_t level_ = 0;
  double t_ = 0;
  std::unique_ptr<at::RecordFunction> range_;
};

struct DistLevel final : public amg::detail::CycleLevel {
  SetupTrace trace;  // DSLA_AMG_TRACE
  DistMatrix A;
  LinearOperatorPtr op;  // A over the distributed space
  // A's rows with all their columns, [n, n + n_ghost] (the diagonal block's, then the ghosts'):
  // the left factor of the local products; where its entries sit in A.values() and where its
  // diagonal is. Setup-only on the GPU (released by transfer_numeric, rebuilt by update()).
  PatternPtr aloc;
  // aloc's entries [0, aloc_head) are A.diag()'s first ones (the interior rows); aloc_src: the
  // position in A.values() of each later one (the boundary rows); aloc_diag: each row's
  // diagonal in aloc. int32 when they fit.
  int64_t aloc_head = 0;
  at::Tensor aloc_src, aloc_diag;
  // [B, nnz(aloc)]: A's values in aloc's order, during the setup only (level_numeric to
  // transfer_numeric; on the GPU not across build_transfer); batch: B.
  at::Tensor values;
  int64_t batch = 1;
  at::Tensor dinv;  // [B, n, 1]
  precond::detail::SpectrumEstimate spectrum;
  at::Tensor rho;  // [B, 1, 1]
  precond::detail::SmootherPtr smoother;

  // ---- with a next level
  // a = aloc, agg, n_agg, nullspace, t, ...; and f / f_src / f_diag: the finest level's filtered
  // smoothing operator (one process's build_filter, across ranks: aloc's diagonal and strong
  // entries, weak ones lumped into the diagonal by amg::detail::smoothing_operator), undefined
  // when it would drop under 5 % of the entries over all ranks (then A itself smooths P).
  amg::detail::LevelStructure st;
  int64_t c_off = 0;  // global id of this rank's first coarse row
  int64_t nc_global = 0;
  // [T; T of the ghost rows] over the coarse ids E1 (sorted global ids, host), fixed.
  at::Tensor e1;
  PatternPtr tstack;
  at::Tensor tstack_values;  // [1, nnz]
  // E2 = E1 ∪ the columns of the ghost rows of P.
  GhostRows pext;     // P's ghost rows (structure in E2 ids after remapping)
  PatternPtr pstack;  // [P; P_ext] over E2: [n + n_ghost, |E2|]
  PatternPtr ptop;    // P (this rank's rows) over E2: a view of pstack's first n rows
  // Position maps over entries are int32 when they fit (int64 otherwise).
  PatternPtr pt;       // (P over E2)ᵀ
  at::Tensor pt_perm;  // position in p_values of each entry of pt
  PatternPtr ap;       // A·[P; P_ext] (dropped after the product on CUDA; unset when blocked)
  // The Galerkin product by blocks of fine rows when A P would pass 2³¹ entries (one block
  // otherwise): g_rows, the blocks' row boundaries [nb + 1]; g_map[b], where each entry of block
  // b's Pᵀ_b (A P_b) sits among C's (int32 when it fits; empty with one block).
  std::vector<int64_t> g_rows;
  std::vector<at::Tensor> g_map;
  int64_t g_nnz = 0;  // C's entries (blocked)
  // Pᵀ A P's entries (over E2) by owner: this rank's rows are the entries [c_own_begin,
  // c_own_end), the others' are sent, c_counts[r] to rank r (0 to this rank).
  int64_t c_own_begin = 0, c_own_end = 0;
  std::vector<int64_t> c_counts;
  // Position in the next level's values() of each of this rank's entries, then of each received.
  at::Tensor c_recv_pos;
  at::Tensor p_values;  // [B, nnz(P)] in ptop's order
  // P and Pᵀ for the cycle over the next level's distribution: columns [owned (next level's
  // local order) | ghosts of pplan].
  std::shared_ptr<HaloPlan> pplan;
  // The cycle applies P (ptop, p_values) and Pᵀ (pt, pt_values) themselves: e2_slot (int64
  // [|E2|]) is the slot of each E2 column, slot_e2 (int64 [nc + n_ghost]) the E2 row of each slot.
  at::Tensor pt_values;  // [B, nnz(pt)]
  at::Tensor e2_slot, slot_e2;

  void smooth(const at::Tensor& b, at::Tensor& x, bool zero_guess, int64_t sweeps) const override;
  at::Tensor residual(const at::Tensor& b, const at::Tensor& x) const override;
  at::Tensor restrict_to_coarse(const at::Tensor& r) const override;
  at::Tensor prolong(const at::Tensor& xc) const override;
};

// Pattern-level pieces of a level's operator (aloc, aloc_src, aloc_diag, op) from L.A.
void level_operator(DistLevel& L);
// Values, inverse diagonal, spectral estimate and smoother of L from L.A's values.
void level_numeric(DistLevel& L, const amg::AmgOptions& opt, bool symmetric);
// Aggregation and tentative prolongator (local), the smoothed prolongator's and the Galerkin
// product's structures, and the next level's matrix. Returns false (nothing built) when the
// aggregation does not reduce the global size. Collective. Adds its time to stats by phase:
// t_strength + t_aggregation (the local aggregation), t_prolongation (T, its ghost rows, the
// filter and P's structure with its ghost rows), t_rap (the Galerkin structures, the routing
// of coarse rows and the next level's matrix, P's cycle layout).
bool build_transfer(DistLevel& L, const amg::AmgOptions& opt, double theta, bool symmetric,
                    bool first_level, DistMatrix& next, amg::AmgStats& stats);
// P's values and the next level's matrix values from L's current values (a numeric re-setup, or
// the first after build_transfer). Collective. Adds t_prolongation (P's values, with the
// filtered operator's spectral estimate) and t_rap (the Galerkin values and their routing).
DistMatrix transfer_numeric(DistLevel& L, const amg::AmgOptions& opt, bool symmetric,
                            const DistMatrix& next, amg::AmgStats& stats);

}  // namespace dsla::dist::amg_detail
