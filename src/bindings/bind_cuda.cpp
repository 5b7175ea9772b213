// dsla._C device extras for benchmarks and tests: CG with its device tuning exposed, and the
// SpMV plan controls. Present in every build; the plan controls raise NotImplementedError where
// no device registered them.
#include <dsla/linear_operator.h>
#include <dsla/solve.h>
#include <dsla/sparse_matrix.h>

#include "bindings/registry.h"
#include "core/products.h"
#include "solve/krylov/cg_steps.h"
#include "solve/krylov/krylov.h"

namespace dsla::bindings {
namespace {

// CG + Jacobi (dinv given) or plain CG, one column per system: the public solve's loop and
// driver (restarts on the true residual included) with the fused steps' tuning set.
py::dict cg_tuned(const SparseMatrix& A, const at::Tensor& b_in,
                  const c10::optional<at::Tensor>& dinv, double rtol, double atol, int64_t maxiter,
                  int check_every, bool graph, int group, const c10::optional<at::Tensor>& x0,
                  bool compact, bool pdl) {
  DSLA_CHECK_ARG(A.rows() == A.cols(), "A", "CG needs a square matrix, got ", A.rows(), " x ",
                 A.cols());
  DSLA_CHECK_ARG(b_in.dim() == 1 || b_in.dim() == 2, "b", "expected [n] or [B, n], got ",
                 b_in.sizes());
  const int64_t n = A.rows();
  auto b = (b_in.dim() == 1 ? b_in.unsqueeze(0) : b_in).unsqueeze(-1);
  DSLA_CHECK_ARG(b.size(1) == n, "b", "has ", b.size(1), " rows, A has ", n);
  const int64_t B = std::max<int64_t>(b.size(0), A.is_batched() ? A.values().size(0) : 1);
  SolveOptions opt;
  opt.rtol = rtol;
  opt.atol = atol;
  opt.maxiter = maxiter;
  opt.check_every = check_every;
  auto op = make_operator(A);
  krylov::Problem P;
  P.A = op.get();
  P.opt = &opt;
  if (dinv) P.dinv = (dinv->dim() == 1 ? dinv->unsqueeze(0) : *dinv).unsqueeze(-1).to(A.dtype());
  P.x_is_zero = !x0;
  at::Tensor x = x0 ? (x0->dim() == 1 ? x0->unsqueeze(0) : *x0)
                          .unsqueeze(-1)
                          .expand({B, n, 1})
                          .contiguous()
                          .clone()
                    : at::zeros({B, n, 1}, b.options());
  krylov::CgTuning tuning;
  tuning.check_every = check_every;
  tuning.graph = graph;
  tuning.group = group;
  tuning.compact = compact;
  tuning.pdl = pdl;
  SolveInfo info;
  {
    py::gil_scoped_release nogil;
    krylov::CgTuningScope scope(tuning);
    krylov::run(Method::CG, P, b, x, info);
  }
  py::dict d;
  d["x"] = x.squeeze(-1);
  d["iterations"] = info.iterations;
  d["residual"] = info.residuals;
  d["status"] = to_string(info.status);
  d["converged"] = info.converged;
  d["host_checks"] = tuning.host_checks;
  return d;
}

void bind(py::module_& m) {
  m.def("_cuda_cg", &cg_tuned, py::arg("A"), py::arg("b"), py::arg("dinv") = py::none(),
        py::arg("rtol") = 1e-6, py::arg("atol") = 0.0, py::arg("maxiter") = -1,
        py::arg("check_every") = 32, py::arg("graph") = true, py::arg("group") = 0,
        py::arg("x0") = py::none(), py::arg("compact") = true, py::arg("pdl") = true,
        "CG (+ Jacobi when dinv is given) with the fused device steps' tuning: dict(x, "
        "iterations, residual [B], status, converged, host_checks)");
  m.def(
      "_cuda_spmv_override",
      [](int kind, int group) {
        auto* f = detail::spmv_override_stub.cuda();
        TORCH_CHECK_NOT_IMPLEMENTED(f != nullptr, "dsla was built without CUDA");
        f(kind, group);
      },
      py::arg("kind"), py::arg("group") = 4,
      "Force the SpMV kernel (0 vector with `group` lanes per row, 1 merge path, -1 per-pattern "
      "plan)");
  m.def(
      "_cuda_spmv_plan",
      [](const SparseMatrix& A) -> py::dict {
        auto* f = detail::spmv_plan_stub.on(A.device());
        TORCH_CHECK_NOT_IMPLEMENTED(f != nullptr, "no device SpMV plan for a matrix on ",
                                    A.device());
        const auto p = f(*A.pattern());
        py::dict d;
        d["kind"] = p[0] == 0 ? "vector" : "merge";
        d["group"] = p[1];
        d["merge_threads"] = p[2];
        return d;
      },
      py::arg("A"));
}

DSLA_REGISTER_BINDINGS(cuda, bind);

}  // namespace
}  // namespace dsla::bindings
