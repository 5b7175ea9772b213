// Picard (u ← u + (G(u) − u)) and Anderson acceleration (type II, depth m, least squares on the
// last m differences of f = G(u) − u), safeguarded against steps that raise ‖F‖.
#include <cmath>
#include <deque>

#include "solve/nonlinear/nonlinear_internal.h"

namespace dsla::nonlinear {

at::Tensor fixed_point(const ResidualFn& F, const ResidualFn& G, at::Tensor u,
                       const at::Tensor& r0u, const NonlinearOptions& opt, NonlinearInfo& info) {
  const bool anderson = opt.method == NonlinearMethod::Anderson;
  const VectorSpace* sp = opt.space.get();
  double rn = vnorm(r0u, sp);
  ++info.function_evals;
  const double r0 = rn;
  info.residual_history.push_back(rn);
  const double tol = std::max(opt.rtol * r0, opt.atol);
  std::deque<at::Tensor> dU, dF;
  at::Tensor u_prev, f_prev;
  for (int64_t it = 0;; ++it) {
    info.iterations = it;
    if (const char* stop = stop_status(rn, r0, tol, it, opt)) {
      info.status = stop;
      return u;
    }
    const auto& h = info.residual_history;
    const auto s = static_cast<size_t>(opt.stall);
    if (opt.stall > 0 && h.size() > s && h.back() > 0.99 * h[h.size() - 1 - s]) {
      // no progress over the window: growing residuals diverge, flat ones stagnate
      info.status = h.back() > 10 * h[h.size() - 1 - s] ? "diverged" : "stagnated";
      return u;
    }
    auto f = G(u) - u;
    auto picard = u + f;
    at::Tensor un = picard;
    bool accelerated = false;
    if (anderson) {
      if (f_prev.defined()) {
        dF.push_back(f - f_prev);
        dU.push_back(u - u_prev);
        if (static_cast<int64_t>(dF.size()) > opt.anderson_m) {
          dF.pop_front();
          dU.pop_front();
        }
      }
      if (!dF.empty()) {
        auto Fm = at::stack(std::vector<at::Tensor>(dF.begin(), dF.end()), 1);
        auto Um = at::stack(std::vector<at::Tensor>(dU.begin(), dU.end()), 1);
        at::Tensor gamma;
        if (sp && !sp->is_local()) {
          // Rows on every rank: the normal equations from Gram matrices reduced through the
          // space (identical on every rank), solved by least squares (a rank-deficient history
          // stays solvable).
          auto G = sp->gram(Fm, Fm), h = sp->gram(Fm, f.unsqueeze(1));
          gamma = std::get<0>(at::linalg_lstsq(G, h)).squeeze(1);
        } else {
          gamma = std::get<0>(at::linalg_lstsq(Fm, f.unsqueeze(1))).squeeze(1);
        }
        if (at::isfinite(gamma).all().item<bool>()) {
          un = u + f - (Um + Fm).matmul(gamma);
          accelerated = true;
        }
      }
      u_prev = u;
      f_prev = f;
    }
    double rnn = vnorm(F(un), sp);
    ++info.function_evals;
    if (accelerated && (!std::isfinite(rnn) || rnn > 2 * rn)) {
      un = picard;
      dU.clear();
      dF.clear();
      u_prev = f_prev = at::Tensor();
      rnn = vnorm(F(un), sp);
      ++info.function_evals;
    }
    const double step = vnorm(un - u, sp);
    u = un;
    rn = rnn;
    info.residual_history.push_back(rn);
    if (step_stop(step, u, rn, tol, it, opt, info)) return u;
  }
}

}  // namespace dsla::nonlinear
