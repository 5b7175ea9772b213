// Symmetric Gauss-Seidel / SSOR: M = 1/(ω(2-ω)) (D + ωL) D⁻¹ (D + ωU), so
// M⁻¹ r = ω(2-ω) (D + ωU)⁻¹ D (D + ωL)⁻¹ r: a forward sweep, a diagonal scaling and a backward
// sweep over A's own values (no copy of the factors). The factor ω(2-ω) makes M⁻¹ the classical
// SSOR preconditioner (1 for SGS, ω = 1). M is Hermitian positive definite when A is and
// 0 < ω < 2; for a non-Hermitian A, M⁻ᴴ = ω(2-ω) (D + ωL)⁻ᴴ Dᴴ (D + ωU)⁻ᴴ is applied by the
// column-oriented sweeps.
#include <dsla/errors.h>

#include "solve/precond/common.h"
#include "solve/precond/cpu_sweeps.h"

#include <sstream>

namespace dsla::precond::detail {

namespace {

namespace kc = kernels::cpu;

class Ssor final : public PrecondBase {
 public:
  Ssor(const SparseMatrix& A, double omega, bool sgs)
      : PrecondBase(A), omega_(omega), sgs_(sgs), diag_(diag_positions_cpu(*A.pattern())) {
    setup(A);
  }

  void apply(const at::Tensor& x, at::Tensor& y) const override {
    check_apply(x, y, "ssor.apply");
    in_place(x, y, [&](at::Tensor& z) {
      tri_solve(*pattern_, diag_, vals_, z, {/*lower=*/true, false, false, omega_});
      tri_solve(*pattern_, diag_, vals_, z,
                {/*lower=*/false, false, false, omega_, /*rhs_times_diag=*/true});
      if (omega_ != 1.0) z.mul_(omega_ * (2.0 - omega_));
    });
  }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override {
    check_apply(x, y, "ssor.apply_adjoint");
    in_place(x, y, [&](at::Tensor& z) {
      tri_solve(*pattern_, diag_, vals_, z, {/*lower=*/false, /*conj_trans=*/true, false, omega_});
      scale_by_diagonal(*pattern_, diag_, vals_, z, /*conj=*/true);
      tri_solve(*pattern_, diag_, vals_, z, {/*lower=*/true, /*conj_trans=*/true, false, omega_});
      if (omega_ != 1.0) z.mul_(omega_ * (2.0 - omega_));
    });
  }
  void update(const SparseMatrix& A) override {
    check_update(A);
    batch_ = A.batch_size();
    setup(A);
  }
  bool is_symmetric() const override { return true; }
  std::string name() const override {
    if (sgs_) return "sgs";
    std::ostringstream s;
    s << "ssor(omega=" << omega_ << ")";
    return s.str();
  }
  std::shared_ptr<const Preconditioner> adjoint() const override {
    if (hermitian_) return shared_from_this();
    return adjoint_view(shared_from_this());
  }

 private:
  void setup(const SparseMatrix& A) {
    checked_diagonal(A, sgs_ ? "sgs" : "ssor");  // the sweeps divide by it
    vals_ = values_2d(A);
    hermitian_ = is_hermitian(A);
  }

  double omega_;
  bool sgs_;
  at::Tensor diag_, vals_;
  bool hermitian_ = false;
};

}  // namespace

PreconditionerPtr make_ssor(const SparseMatrix& A, const Options& opt, bool sgs) {
  const std::string kind = sgs ? "sgs" : "ssor";
  require_cpu(A.device(), kind);
  const double omega = sgs ? 1.0 : opt.omega;
  DSLA_CHECK_ARG(omega > 0.0 && omega < 2.0, "omega", "SSOR needs 0 < omega < 2, got ", omega);
  return std::make_shared<Ssor>(A, omega, sgs);
}

}  // namespace dsla::precond::detail
