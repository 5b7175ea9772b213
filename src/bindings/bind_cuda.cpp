// dsla._C CUDA extras: the fused CG driver and SpMV plan controls (benchmarks, tests). Present
// in every build; without CUDA they raise NotImplementedError.
#include <dsla/config.h>
#include <dsla/sparse_matrix.h>

#include <cstdlib>

#include "bindings/registry.h"
#if DSLA_HAVE_CUDA
#include "cuda/cg_driver.h"
#include "cuda/products.h"
#endif

namespace dsla::bindings {
namespace {

#if !DSLA_HAVE_CUDA
[[noreturn]] void no_cuda() {
  TORCH_CHECK_NOT_IMPLEMENTED(false, "dsla was built without CUDA");
  std::abort();
}
#endif

void bind(py::module_& m) {
  m.def(
      "_cuda_cg",
      [](const SparseMatrix& A, const at::Tensor& b, const c10::optional<at::Tensor>& dinv,
         double rtol, double atol, int64_t maxiter, int check_every, bool graph, int group,
         const c10::optional<at::Tensor>& x0, bool compact, bool pdl) -> py::dict {
#if DSLA_HAVE_CUDA
        cuda::CgFusedOptions o;
        o.rtol = rtol;
        o.atol = atol;
        o.maxiter = maxiter;
        o.check_every = check_every;
        o.graph = graph;
        o.group = group;
        o.compact_columns = compact;
        o.pdl = pdl;
        cuda::CgFusedResult r;
        {
          py::gil_scoped_release nogil;
          r = cuda::cg_fused_solve(A, b, dinv ? *dinv : at::Tensor(), o, x0 ? *x0 : at::Tensor());
        }
        py::dict d;
        d["x"] = r.x;
        d["iterations"] = r.iterations;
        d["residual"] = r.residual;
        d["status"] = r.status;
        d["host_checks"] = r.host_checks;
        return d;
#else
        no_cuda();
#endif
      },
      py::arg("A"), py::arg("b"), py::arg("dinv") = py::none(), py::arg("rtol") = 1e-6,
      py::arg("atol") = 0.0, py::arg("maxiter") = -1, py::arg("check_every") = 32,
      py::arg("graph") = true, py::arg("group") = 0, py::arg("x0") = py::none(),
      py::arg("compact") = true, py::arg("pdl") = true,
      "Fused Jacobi-PCG on CUDA (k = 1, real dtype): dict(x, iterations, residual, status)");
  m.def(
      "_cuda_spmv_override",
      [](int kind, int group) {
#if DSLA_HAVE_CUDA
        cuda::set_spmv_override(kind, group);
#else
        no_cuda();
#endif
      },
      py::arg("kind"), py::arg("group") = 4,
      "Force the SpMV kernel (0 vector with `group` lanes per row, 1 merge path, -1 per-pattern "
      "plan)");
  m.def(
      "_cuda_spmv_plan",
      [](const SparseMatrix& A) -> py::dict {
#if DSLA_HAVE_CUDA
        auto p = cuda::spmv_plan(*A.pattern());
        py::dict d;
        d["kind"] = p.kind == 0 ? "vector" : "merge";
        d["group"] = p.group;
        d["merge_threads"] = p.merge_threads;
        return d;
#else
        no_cuda();
#endif
      },
      py::arg("A"));
}

DSLA_REGISTER_BINDINGS(cuda, bind);

}  // namespace
}  // namespace dsla::bindings
