// Internal interface of the Krylov methods: each is written once over LinearOperator /
// VectorSpace on [B, n, k] tensors with per-system device scalars [B, 1, k], and reports to a
// Monitor that checks convergence every `check_every` iterations with one host read.
#pragma once

#include <dsla/linear_operator.h>
#include <dsla/solve.h>

#include <ATen/ATen.h>

#include <string>

namespace dsla::krylov {

struct Problem {
  const LinearOperator* A = nullptr;
  const LinearOperator* M = nullptr;  // z = M r; nullptr: identity
  at::Tensor dinv;                    // [B', n, 1] when M is plain Jacobi (CG fuses it)
  const SolveOptions* opt = nullptr;
  bool least_squares = false;  // LSQR/LSMR: A may be rectangular
  double anorm = 0.0;          // ‖A‖_F (least squares stopping rule), 0 when unknown
  bool x_is_zero = false;      // the first iterate is zero (no x0): r0 = b without an SpMV
  // A distributed operator's blocks and halo exchange (halo_blocks.h), for fused steps that
  // exchange between their kernels; nullptr: multiply through A->apply() only.
  const struct HaloBlocks* halo = nullptr;
};

// Convergence bookkeeping shared by every method. `active` [B, 1, k] (real dtype, 0/1) freezes
// systems that converged or failed; failures are or-ed into device flags and read at checks.
class Monitor {
 public:
  // costly_precond: the default check_every (0) is 1 on every device (else 16 on a device).
  Monitor(const SolveOptions& opt, const at::Tensor& bnorm, int64_t maxiter, c10::Device dev,
          bool costly_precond = false);

  at::Tensor tol;     // [B, 1, k] max(rtol ‖b‖, atol)
  at::Tensor bnorm;   // [B, 1, k]
  at::Tensor active;  // [B, 1, k] real 0/1
  int64_t iterations = 0;
  int64_t maxiter = 0;
  const at::Tensor* x = nullptr;  // the iterate, for SolveOptions::callback_x
  Status status = Status::Converged;
  std::string message;
  std::vector<int64_t> hist_it;
  std::vector<double> hist_res;

  // Marks systems whose residual estimate is already below tol inactive (start of a run).
  void begin(const at::Tensor& rnorm);
  // Removes `mask` (bool [B, 1, k]) systems from the active set and remembers the failure.
  void fail(Status s, const at::Tensor& mask);
  // One iteration done with residual estimate `rnorm` [B, 1, k]. Returns true to stop.
  bool step(const at::Tensor& rnorm);
  // Same with a precomputed "done" mask (least squares); rnorm is for history/callback.
  bool step_done(const at::Tensor& done, const at::Tensor& rnorm);
  bool out_of_iterations() const { return iterations >= maxiter; }
  // The most serious failure flagged so far (Converged when none).
  Status failure() const;
  void clear_failures();
  void set_active(const at::Tensor& mask);
  bool any_active() const;  // one host read

 private:
  const SolveOptions& opt_;
  int64_t check_every_;
  at::Tensor flags_;  // [4] bool on device: breakdown, indefinite, notfinite, (unused)
  at::Tensor last_rnorm_;
  // Between host checks (check_every > 1, a device): the steps that began with a system still
  // active (on the device), and the iteration count at the last check. The steps run after the
  // last system stopped changed nothing, and are not counted (SolveInfo reports the iteration at
  // which the slowest system stopped, as with check_every = 1).
  at::Tensor live_;
  int64_t checked_at_ = 0;
  bool check();
};

// Helpers over the problem's space.
at::Tensor real_scalar(const at::Tensor& t);  // Re of a [B,1,k] scalar
at::Tensor safe_div(const at::Tensor& num, const at::Tensor& den);
at::Tensor apply(const LinearOperator& A, const at::Tensor& x);
at::Tensor apply_adjoint(const LinearOperator& A, const at::Tensor& x);
at::Tensor precondition(const Problem& P, const at::Tensor& r);
// x += coef * v on active systems only (frozen systems may carry garbage: 0 * NaN stays out).
void masked_add_(at::Tensor& x, const at::Tensor& coef, const at::Tensor& v,
                 const at::Tensor& active);

// Golub–Kahan bidiagonalization shared by LSQR and LSMR: β u = b − A x, α v = Aᴴ u to start;
// each step β u = A v − α u, α v = Aᴴ u − β v (u, v unit vectors; safe where α or β is 0).
struct Bidiagonalization {
  at::Tensor u, v, alpha, beta;
  Bidiagonalization(const Problem& P, const at::Tensor& b, const at::Tensor& x);
  void step(const Problem& P);
};

// The methods: x (initial guess, [B, cols, k]) is updated in place; they compute their own
// starting residual from x.
void cg(const Problem& P, const at::Tensor& b, at::Tensor& x, Monitor& mon);
void bicgstab(const Problem& P, const at::Tensor& b, at::Tensor& x, Monitor& mon);
void gmres(const Problem& P, const at::Tensor& b, at::Tensor& x, Monitor& mon, bool flexible);
void minres(const Problem& P, const at::Tensor& b, at::Tensor& x, Monitor& mon);
void lsqr(const Problem& P, const at::Tensor& b, at::Tensor& x, Monitor& mon);
void lsmr(const Problem& P, const at::Tensor& b, at::Tensor& x, Monitor& mon);

// Driver: runs `method` with restarts on the true residual until it converges, fails, stalls or
// runs out of iterations; fills info (iterations, true residuals, status, history).
void run(Method method, const Problem& P, const at::Tensor& b, at::Tensor& x, SolveInfo& info);

}  // namespace dsla::krylov
