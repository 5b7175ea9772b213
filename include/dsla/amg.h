// Smoothed-aggregation algebraic multigrid: a preconditioner for CG / GMRES / BiCGStab and a
// standalone solver.
//
// Setup (per level, on the matrix's device): strength of connection -> aggregation (parallel
// MIS-2, or greedy) -> tentative prolongator T from the near-nullspace (per-aggregate QR) ->
// smoothed prolongator P = (I - ω/ρ D⁻¹A) T -> Galerkin coarse operator Pᵀ A P (two cached
// SpGEMMs) -> smoother (Chebyshev on D⁻¹A with a Lanczos bound, or l1-Jacobi) -> dense coarse
// solve (Cholesky inverse, pseudo-inverse when singular).
//
// Numeric re-setup (`update`) reuses the pattern-level work: strength graph, aggregates, T, the
// patterns of P and of every coarse operator and the SpGEMM plans; only values are recomputed.
//
// Batched values [B, nnz]: one hierarchy whose levels carry [B, nnz_l] values. Aggregates come
// from member 0 (the structure is shared by the batch); every member gets its own P values,
// coarse operators, smoother bounds and coarse inverse.
//
// Symmetric A with equal pre/post sweeps gives a symmetric positive definite preconditioner (the
// Chebyshev / Jacobi smoothers are symmetric in the A inner product); its adjoint is itself.
// Nonsymmetric A: still PᵀAP with the same P (use GMRES / BiCGStab); the adjoint preconditioner
// is the AMG of Aᴴ, built on first request.
#pragma once

#include <dsla/sparse_matrix.h>

#include <ATen/Tensor.h>

#include <memory>
#include <string>
#include <vector>

namespace dsla::amg {

struct AmgOptions {
  double strength_threshold = 0.08;  // θ: strong if |a_ij| >= θ sqrt(|a_ii a_jj|); 0 = all
  // θ on level l is θ · decay^l: Galerkin operators get wider stencils with smaller entries (a
  // 27-point coarse stencil of a 3D problem has |a_ij| ≈ a_ii / 26), so a fixed θ would cut every
  // connection of a coarse level and stall coarsening there.
  double strength_decay = 0.5;
  // "mis2" (parallel, deterministic, same result on every device), "greedy" (serial, on the host;
  // smaller aggregates: fewer iterations on the CPU), "auto": greedy on the CPU, mis2 elsewhere.
  std::string aggregation = "auto";
  double prolongation_omega = 4.0 / 3.0;  // ω in P = (I - ω/ρ(D⁻¹A) D⁻¹A) T; 0: unsmoothed
  int64_t max_levels = 20;
  int64_t coarse_size = 500;  // stop coarsening at or below this many rows
  // "chebyshev", "l1_jacobi", "mc_sgs" (multicolor symmetric Gauss–Seidel), "dilu" (multicolor
  // DILU; a level where DILU breaks down — a pivot <= 0 of a Hermitian operator — gets mc_sgs),
  // or "auto": Chebyshev for symmetric A, l1-Jacobi otherwise (the eigenvalues of D⁻¹A
  // of a nonsymmetric A are complex: a real-interval Chebyshev diverges).
  std::string smoother = "auto";
  int64_t chebyshev_degree = 3;   // SpMVs per smoothing sweep (chebyshev)
  double chebyshev_ratio = 10.0;  // smooth eigenvalues of D⁻¹A in [λmax / ratio, λmax]
  double jacobi_omega = 1.0;      // l1_jacobi damping
  int64_t pre_sweeps = 1;
  int64_t post_sweeps = 1;
  std::string cycle = "V";  // "V" or "W"
  int64_t eig_iters = 8;    // Lanczos / power steps for ρ(D⁻¹A)
  // Near-nullspace vectors [n, m] (e.g. rigid-body modes for elasticity); undefined: constant
  // (with block_size b > 1: one constant vector per component, m = b).
  at::Tensor near_nullspace;
  // Unknowns per node of a block system (a BSR matrix's block size; 3 displacements of a 3-D
  // elasticity node): strength and aggregation on the node graph (Frobenius norms of the b x b
  // blocks), so a node's unknowns share an aggregate; coarse levels are block systems of m
  // unknowns per aggregate (m near-nullspace vectors). 1: scalar aggregation. n % b == 0.
  int64_t block_size = 1;
  uint64_t seed = 0;  // MIS-2 priorities
  // "auto": check the values; "yes"/"no" to skip the O(nnz) check.
  std::string symmetric = "auto";
  // Distributed matrices (dist::DistAmg): a coarse level of at most this many global rows is
  // gathered to every rank, where the rest of the hierarchy is built replicated. Measured
  // (bench/dist_amg_bench.py): gathering higher up was faster through 400000 rows — CPU P = 2
  // poisson3d:48 setup 0.26 s at 200000 vs 0.44 s at 50000; H200 P = 1 0.35 / 0.73 s at 400000
  // vs 0.39 / 0.90 s at 50000 (poisson2d:1024 / poisson3d:96) — while each cycle all-gathers
  // the gathered level's vector and every rank holds its matrix.
  int64_t gather_size = 200000;
  // The levels' dtype (mixed precision): e.g. torch.float32 levels and smoothers inside a
  // float64 Krylov solve — half the hierarchy's bytes per cycle. apply() / cycle() take and
  // return the outer dtype (the matrix's); the cycle runs in this one. Unset: the matrix's.
  c10::optional<at::ScalarType> precond_dtype;
};

struct AmgLevelStats {
  int64_t rows = 0, nnz = 0;
  int64_t aggregates = 0;    // rows of the next level / m (0 on the coarsest)
  int64_t unaggregated = 0;  // rows without a strong neighbour (outside every aggregate)
  // Blocks of fine rows the Galerkin product to the next level ran in (a distributed level whose
  // A P would pass 2³¹ entries; 1 otherwise); 0 on levels of one process and the coarsest.
  int64_t galerkin_blocks = 0;
};

struct AmgStats {
  std::vector<AmgLevelStats> levels;
  double operator_complexity = 0;  // Σ nnz_l / nnz_0
  double grid_complexity = 0;      // Σ rows_l / rows_0
  int64_t near_nullspace_dim = 1;
  std::string coarse_solver;  // "cholesky", "lu", "pinv" or "smoother"
  // Setup seconds (wall, host); on CUDA the phases synchronize only where sizes are needed.
  double t_strength = 0, t_aggregation = 0, t_prolongation = 0, t_rap = 0, t_smoother = 0,
         t_coarse = 0, t_total = 0;
  bool numeric_only = false;  // the last setup was an update()
};

class AmgHierarchy {
 public:
  // Builds the hierarchy for square A (full nonzero diagonal), on A's device. level_offset: the
  // index of A's level in a larger hierarchy (the replicated part of a dist::DistAmg): the
  // strength threshold's decay and the finest level's filtered smoothing operator count from it,
  // so the levels are the ones a single hierarchy would have built.
  static std::shared_ptr<AmgHierarchy> build(const SparseMatrix& A, const AmgOptions& opt = {},
                                             int64_t level_offset = 0);
  // Same pattern as the A given to build(), new values: numeric re-setup only.
  void update(const SparseMatrix& A);

  // x <- one cycle for A x = b from x (zero_guess: x is ignored and overwritten).
  // b, x: [B', n, k] contiguous, B' in {1, B}.
  void cycle(const at::Tensor& b, at::Tensor& x, bool zero_guess) const;
  // z = M⁻¹ r: one cycle from a zero guess; r [B', n, k].
  at::Tensor apply(const at::Tensor& r) const;

  const AmgStats& stats() const;
  const AmgOptions& options() const;
  int64_t num_levels() const;
  int64_t rows() const;
  int64_t batch_size() const;
  at::ScalarType dtype() const;        // the matrix's (what apply takes and returns)
  at::ScalarType level_dtype() const;  // the levels' (AmgOptions::precond_dtype, or dtype())
  c10::Device device() const;
  bool is_symmetric() const;  // symmetric A and a symmetric cycle
  const SparseMatrix& matrix() const;

  // Inspection (tests, plots): level l operator; prolongator / tentative prolongator /
  // aggregates ([rows_l] int64, -1 = unaggregated) / near-nullspace of level l < num_levels()-1.
  SparseMatrix level_matrix(int64_t l) const;
  SparseMatrix prolongator(int64_t l) const;
  SparseMatrix tentative_prolongator(int64_t l) const;
  at::Tensor aggregates(int64_t l) const;
  at::Tensor near_nullspace(int64_t l) const;
  // Estimate of ρ(D⁻¹A_l) behind the Chebyshev bounds ([B] on the hierarchy's device; undefined
  // when level l needed none: a coarsest level without Chebyshev or smoothed prolongation).
  at::Tensor spectral_radius(int64_t l) const;

  struct Impl;
  explicit AmgHierarchy(std::unique_ptr<Impl> impl);
  ~AmgHierarchy();

 private:
  std::unique_ptr<Impl> impl_;
};

using AmgHierarchyPtr = std::shared_ptr<AmgHierarchy>;

struct AmgSolveInfo {
  int64_t iterations = 0;
  double residual = 0;  // final max relative true residual ‖b - A x‖ / ‖b‖ over systems
  bool converged = false;
  double convergence_factor = 0;  // geometric mean residual reduction per iteration
  double setup_time = 0, solve_time = 0;
  std::vector<double> residuals;  // per iteration (max over systems)
  AmgStats stats;
};

// Solves A x = b with AMG: accel "none" runs stationary cycles x += M⁻¹(b - A x); "cg" runs
// AMG-preconditioned CG (symmetric A). b: [n], [n, k], [B, n] (batched A) or [B, n, k]; x has
// b's shape. Stops when every system has ‖b - A x‖ <= rtol ‖b‖ (true residual). Not
// differentiable (use dsla::solve with the AMG preconditioner for gradients).
at::Tensor solve(const SparseMatrix& A, const at::Tensor& b, const AmgOptions& opt = {},
                 double rtol = 1e-6, int64_t maxiter = 100, const std::string& accel = "none",
                 AmgSolveInfo* info = nullptr);
// The same with a prepared hierarchy for A (setup_time reported as 0).
at::Tensor solve(const AmgHierarchy& H, const SparseMatrix& A, const at::Tensor& b,
                 double rtol = 1e-6, int64_t maxiter = 100, const std::string& accel = "none",
                 AmgSolveInfo* info = nullptr);

}  // namespace dsla::amg
