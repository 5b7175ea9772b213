// ILU(0): A ≈ L U with L unit lower and U upper on A's own pattern (no fill). The pattern-level
// analysis (which updates a_ij -= l_ik u_kj fall inside the pattern) is cached on the Pattern, so
// update() with new values redoes only the numeric loop. Factors are stored in one values array
// of A's layout: strictly lower entries hold L, the rest U. M⁻¹ = U⁻¹ L⁻¹ and, for adjoint
// solves, M⁻ᴴ = L⁻ᴴ U⁻ᴴ (column-oriented sweeps over the same arrays).
#include <dsla/errors.h>

#include "core/dispatch.h"
#include "solve/precond/common.h"
#include "solve/precond/cpu_sweeps.h"
#include "solve/precond/incomplete_factor.h"

namespace dsla::precond::detail {

namespace {

namespace kc = kernels::cpu;
using dsla::detail::ptr;

std::shared_ptr<kc::Ilu0Symbolic> ilu0_analysis(const Pattern& p, const at::Tensor& diag) {
  return p.cached<kc::Ilu0Symbolic>("precond.ilu0.symbolic", [&] {
    auto s = std::make_shared<kc::Ilu0Symbolic>();
    DSLA_DISPATCH_INDEX(p.index_dtype(), "ilu0", [&] {
      kc::ilu0_symbolic<index_t>(p.rows(), ptr<index_t>(p.crow()), ptr<index_t>(p.col()),
                                 ptr<int64_t>(diag), s.get());
    });
    return s;
  });
}

class Ilu0 final : public PrecondBase {
 public:
  Ilu0(const SparseMatrix& A, const Options& opt)
      : PrecondBase(A), opt_(opt), diag_(diag_positions_cpu(*A.pattern())) {
    symbolic_ = ilu0_analysis(*pattern_, diag_);
    setup(A);
  }

  void apply(const at::Tensor& x, at::Tensor& y) const override {
    check_apply(x, y, "ilu0.apply");
    in_place(x, y, [&](at::Tensor& z) {
      tri_solve(*pattern_, diag_, lu_, z, {/*lower=*/true, false, /*unit_diag=*/true, 1.0});
      tri_solve(*pattern_, diag_, lu_, z, {/*lower=*/false, false, false, 1.0});
    });
  }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override {
    check_apply(x, y, "ilu0.apply_adjoint");
    in_place(x, y, [&](at::Tensor& z) {
      tri_solve(*pattern_, diag_, lu_, z, {/*lower=*/false, /*conj_trans=*/true, false, 1.0});
      tri_solve(*pattern_, diag_, lu_, z, {/*lower=*/true, /*conj_trans=*/true, true, 1.0});
    });
  }
  void update(const SparseMatrix& A) override {
    check_update(A);
    batch_ = A.batch_size();
    setup(A);
  }
  // L U is not symmetric even for symmetric A (U = D Lᵀ): not for CG; use ic0 there.
  bool is_symmetric() const override { return false; }
  std::string name() const override { return shifted_name("ilu0", shift_); }
  std::shared_ptr<const Preconditioner> adjoint() const override {
    return adjoint_view(shared_from_this());
  }

 private:
  void setup(const SparseMatrix& A) {
    auto vals = values_2d(A);
    at::Tensor lu = at::empty_like(vals);
    const auto& p = *pattern_;
    shift_ =
        factor_with_shifts(vals, lu, diag_, opt_, "ilu0",
                           "Try a larger 'shift', a different ordering, or precond='jacobi'/'none'",
                           [&](at::Tensor& m) {
                             return DSLA_DISPATCH_INDEX(p.index_dtype(), "ilu0", [&] {
                               return DSLA_DISPATCH_VALUE(m.scalar_type(), "ilu0", [&] {
                                 return kc::ilu0_numeric<scalar_t, index_t>(
                                     p.rows(), ptr<index_t>(p.crow()), ptr<index_t>(p.col()),
                                     ptr<int64_t>(diag_), *symbolic_, ptr<scalar_t>(m));
                               });
                             });
                           });
    lu_ = lu;
  }

  Options opt_;
  at::Tensor diag_, lu_;
  std::shared_ptr<kc::Ilu0Symbolic> symbolic_;
  double shift_ = 0.0;
};

}  // namespace

device::Stub<MakeIncompleteFn> make_ilu0_stub;

PreconditionerPtr make_ilu0(const SparseMatrix& A, const Options& opt) {
  if (auto* f = make_ilu0_stub.on(A.device())) return f(A, opt);
  require_cpu(A.device(), "ilu0");
  check_diagonal_stored(A, "ilu0");
  return std::make_shared<Ilu0>(A, opt);
}

}  // namespace dsla::precond::detail
