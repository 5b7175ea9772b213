// Diagonal-shift retries for the incomplete factorizations. IC(0) of an SPD matrix that is not
// an M-matrix can meet a non-positive pivot; factoring A + α·diag(A) instead is the usual remedy
// (the result is still a good preconditioner for A when α is small). Shifts grow by 4x from 1e-3
// and stop after 1; each member of a batch gets the smallest shift that works for it.
#include "solve/precond/incomplete_factor.h"

#include <dsla/errors.h>

#include <algorithm>
#include <sstream>

namespace dsla::precond::detail {

double factor_with_shifts(const at::Tensor& vals, at::Tensor& out, const at::Tensor& diag,
                          const Options& opt, const std::string& kind, const std::string& hint,
                          const std::function<int64_t(at::Tensor& member)>& numeric) {
  DSLA_CHECK_ARG(opt.shift >= 0.0, "shift", "must be non-negative, got ", opt.shift);
  double max_shift = 0.0;
  for (int64_t b = 0; b < vals.size(0); ++b) {
    at::Tensor m = out[b];
    double alpha = opt.shift;
    while (true) {
      m.copy_(vals[b]);
      if (alpha > 0.0) m.index_put_({diag}, m.index_select(0, diag) * (1.0 + alpha));
      const int64_t bad = numeric(m);
      if (bad < 0) break;
      const bool retry = opt.auto_shift && alpha < 1.0;
      if (!retry) {
        std::ostringstream where;
        where << "row " << bad;
        if (vals.size(0) > 1) where << " of batch member " << b;
        DSLA_CHECK_ARG(
            false, "A", "precond '", kind, "' broke down: the pivot of ", where.str(), " is ",
            kind == "ic0" ? "not positive" : "zero", " (or not finite)",
            alpha > 0.0 ? " even with the diagonal shift " + std::to_string(alpha) : std::string(),
            ". ", hint);
      }
      alpha = alpha == 0.0 ? 1e-3 : std::min(4.0 * alpha, 1.0);
    }
    max_shift = std::max(max_shift, alpha);
  }
  return max_shift;
}

std::string shifted_name(const std::string& kind, double shift) {
  if (shift == 0.0) return kind;
  std::ostringstream s;
  s << kind << "(shift=" << shift << ")";
  return s.str();
}

}  // namespace dsla::precond::detail
