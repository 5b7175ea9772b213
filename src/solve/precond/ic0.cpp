// IC(0): A ≈ L Lᴴ with L on the lower triangle of A's pattern (no fill), for Hermitian positive
// definite A. The pairs (l_ij, l_kj) entering each l_ik are found once per pattern and cached on
// it; update() redoes only the numeric loop. A non-positive pivot (IC(0) can break down on SPD
// matrices that are not M-matrices) triggers the diagonal-shift retry of incomplete_factor.h,
// reported in name(). M⁻¹ = L⁻ᴴ L⁻¹ is Hermitian positive definite, so adjoint() is itself.
#include <dsla/errors.h>

#include "core/dispatch.h"
#include "solve/precond/common.h"
#include "solve/precond/cpu_sweeps.h"
#include "solve/precond/incomplete_factor.h"

namespace dsla::precond::detail {

namespace {

namespace kc = kernels::cpu;
using dsla::detail::ptr;

std::shared_ptr<kc::Ic0Symbolic> ic0_analysis(const Pattern& p, const at::Tensor& diag) {
  return p.cached<kc::Ic0Symbolic>("precond.ic0.symbolic", [&] {
    auto s = std::make_shared<kc::Ic0Symbolic>();
    DSLA_DISPATCH_INDEX(p.index_dtype(), "ic0", [&] {
      kc::ic0_symbolic<index_t>(p.rows(), ptr<index_t>(p.crow()), ptr<index_t>(p.col()),
                                ptr<int64_t>(diag), s.get());
    });
    return s;
  });
}

class Ic0 final : public PrecondBase {
 public:
  Ic0(const SparseMatrix& A, const Options& opt)
      : PrecondBase(A), opt_(opt), diag_(diag_positions_cpu(*A.pattern())) {
    symbolic_ = ic0_analysis(*pattern_, diag_);
    setup(A);
  }

  void apply(const at::Tensor& x, at::Tensor& y) const override {
    check_apply(x, y, "ic0.apply");
    in_place(x, y, [&](at::Tensor& z) {
      tri_solve(*pattern_, diag_, l_, z, {/*lower=*/true, false, false, 1.0});
      if (lh_.defined()) {  // Lᴴ stored row-wise: a gather sweep, faster than the scatter one
        tri_solve(*pattern_, diag_, lh_, z, {/*lower=*/false, false, false, 1.0});
      } else {
        tri_solve(*pattern_, diag_, l_, z, {/*lower=*/true, /*conj_trans=*/true, false, 1.0});
      }
    });
  }
  void apply_adjoint(const at::Tensor& x, at::Tensor& y) const override { apply(x, y); }
  void update(const SparseMatrix& A) override {
    check_update(A);
    batch_ = A.batch_size();
    setup(A);
  }
  bool is_symmetric() const override { return true; }
  std::string name() const override { return shifted_name("ic0", shift_); }
  std::shared_ptr<const Preconditioner> adjoint() const override { return shared_from_this(); }

 private:
  void setup(const SparseMatrix& A) {
    auto vals = values_2d(A);
    at::Tensor l = at::empty_like(vals);
    const auto& p = *pattern_;
    shift_ = factor_with_shifts(
        vals, l, diag_, opt_, "ic0",
        "IC(0) needs a Hermitian positive definite matrix (only its lower triangle is read); "
        "for other matrices use precond='ilu0', 'jacobi' or 'none'",
        [&](at::Tensor& m) {
          return DSLA_DISPATCH_INDEX(p.index_dtype(), "ic0", [&] {
            return DSLA_DISPATCH_VALUE(m.scalar_type(), "ic0", [&] {
              return kc::ic0_numeric<scalar_t, index_t>(p.rows(), ptr<index_t>(p.crow()),
                                                        ptr<index_t>(p.col()), ptr<int64_t>(diag_),
                                                        *symbolic_, ptr<scalar_t>(m));
            });
          });
        });
    l_ = l;
    // On a structurally symmetric pattern (the usual case) the transpose permutation maps L's
    // entries onto the upper triangle of the same layout, so Lᴴ can be kept row-wise.
    if (pattern_->is_structurally_symmetric()) {
      lh_ = l.index_select(1, pattern_->transpose_perm()).conj().resolve_conj().contiguous();
    }
  }

  Options opt_;
  at::Tensor diag_, l_, lh_;  // lh_: Lᴴ in A's layout (upper part), when the pattern allows
  std::shared_ptr<kc::Ic0Symbolic> symbolic_;
  double shift_ = 0.0;
};

}  // namespace

device::Stub<MakeIncompleteFn> make_ic0_stub;

PreconditionerPtr make_ic0(const SparseMatrix& A, const Options& opt) {
  if (auto* f = make_ic0_stub.on(A.device())) return f(A, opt);
  require_cpu(A.device(), "ic0");
  check_diagonal_stored(A, "ic0");
  return std::make_shared<Ic0>(A, opt);
}

}  // namespace dsla::precond::detail
