// Bindings for eigensolvers and the matrix-free Krylov entry point: _C.EigenInfo, _C.eigsh,
// _C.eigs, _C.svds, _C.norm2, _C.cond, _C.operator_solve. Options cross as a dict built by
// python/dsla/eigen.py; Python callables (preconditioners, operators) are called with the GIL
// held (these entry points keep it).
#include <dsla/dist.h>
#include <dsla/eigen.h>

#include <torch/csrc/autograd/python_variable.h>

#include "bindings/registry.h"

namespace dsla::bindings {
namespace {

// A Python callable on [n, k] tensors as a LinearOperator on [B, n, k] blocks. The callable is
// kept through bindings::hold: copies of the operator and its last release may happen with the
// GIL released (eigsh runs without it), and only hold's deleter touches the reference count.
LinearOperatorPtr py_operator(int64_t n, at::ScalarType dtype, c10::Device dev, py::object fn,
                              const char* arg) {
  auto held = hold(std::move(fn));
  auto f = [held, arg](const at::Tensor& x, at::Tensor& y) {
    py::gil_scoped_acquire gil;
    for (int64_t b = 0; b < x.size(0); ++b) {
      at::Tensor r = (*held)(x.select(0, b)).cast<at::Tensor>();
      TORCH_CHECK_VALUE(r.sizes() == y.select(0, b).sizes(), "dsla: argument '", arg,
                        "': the operator returned shape ", r.sizes(), " for input ",
                        x.select(0, b).sizes(), "; it must keep the shape");
      y.select(0, b).copy_(r);
    }
  };
  return make_operator(n, n, dtype, dev, f);
}

EigenOptions eigen_options(const SparseMatrix& A, const py::dict& d) {
  EigenOptions o;
  auto has = [&](const char* k) { return d.contains(k) && !d[k].is_none(); };
  if (has("which")) o.which = d["which"].cast<std::string>();
  if (has("tol")) o.tol = d["tol"].cast<double>();
  if (has("maxiter")) o.maxiter = d["maxiter"].cast<int64_t>();
  if (has("block")) o.block = d["block"].cast<int64_t>();
  if (has("precond")) o.precond = d["precond"].cast<std::string>();
  if (has("precond_op"))
    o.precond_op = py_operator(A.rows(), A.dtype(), A.device(), d["precond_op"], "precond");
  if (has("sigma")) o.sigma = d["sigma"].cast<double>();
  if (has("solver_method")) o.solver.method = parse_method(d["solver_method"].cast<std::string>());
  if (has("solver_precond")) o.solver.precond = d["solver_precond"].cast<std::string>();
  if (has("solver_rtol")) o.solver.rtol = d["solver_rtol"].cast<double>();
  if (has("solver_maxiter")) o.solver.maxiter = d["solver_maxiter"].cast<int64_t>();
  if (has("X0")) o.X0 = d["X0"].cast<at::Tensor>();
  if (has("seed")) o.seed = d["seed"].cast<uint64_t>();
  if (has("raise_on_failure")) o.raise_on_failure = d["raise_on_failure"].cast<bool>();
  if (has("warn")) o.warn = d["warn"].cast<bool>();
  if (has("degenerate_tol")) o.degenerate_tol = d["degenerate_tol"].cast<double>();
  return o;
}

void bind(py::module_& m) {
  py::class_<EigenInfo>(m, "EigenInfo")
      .def_readonly("iterations", &EigenInfo::iterations)
      .def_readonly("converged", &EigenInfo::converged)
      .def_readonly("ok", &EigenInfo::ok)
      .def_readonly("residuals", &EigenInfo::residuals)
      .def_readonly("inner_solver", &EigenInfo::inner_solver)
      .def_readonly("method", &EigenInfo::method)
      .def_readonly("message", &EigenInfo::message)
      .def("__repr__", [](const EigenInfo& i) { return "EigenInfo(" + i.message + ")"; });

  m.def(
      "eigsh",
      [](const SparseMatrix& A, int64_t k, py::object M, const py::dict& d) {
        auto o = eigen_options(A, d);
        EigenInfo info;
        c10::optional<SparseMatrix> Mm;
        if (!M.is_none()) Mm = M.cast<SparseMatrix>();
        auto [lam, U] = dsla::eigsh(A, k, o, Mm ? &*Mm : nullptr, &info);
        return py::make_tuple(lam, U, info);
      },
      py::arg("A"), py::arg("k"), py::arg("M"), py::arg("options"));
  m.def(
      "dist_eigsh",
      [](const dist::DistMatrix& A, int64_t k, const py::dict& d) {
        // The owned diagonal block stands for A's local shape (X0 and preconditioner checks).
        auto o = eigen_options(A.diag(), d);
        EigenInfo info;
        at::Tensor lam, U;
        {
          py::gil_scoped_release nogil;
          std::tie(lam, U) = dist::eigsh(A, k, o, &info);
        }
        return py::make_tuple(lam, U, info);
      },
      py::arg("A"), py::arg("k"), py::arg("options"));
  m.def(
      "eigs",
      [](const SparseMatrix& A, int64_t k, const py::dict& d) {
        auto o = eigen_options(A, d);
        EigenInfo info;
        auto [lam, U] = dsla::eigs(A, k, o, &info);
        return py::make_tuple(lam, U, info);
      },
      py::arg("A"), py::arg("k"), py::arg("options"));
  m.def(
      "svds",
      [](const SparseMatrix& A, int64_t k, const py::dict& d) {
        auto o = eigen_options(A, d);
        EigenInfo info;
        auto [U, S, V] = dsla::svds(A, k, o, &info);
        return py::make_tuple(U, S, V, info);
      },
      py::arg("A"), py::arg("k"), py::arg("options"));
  m.def(
      "norm2",
      [](const SparseMatrix& A, const py::dict& d) {
        EigenInfo info;
        auto s = dsla::norm2(A, eigen_options(A, d), &info);
        return py::make_tuple(s, info);
      },
      py::arg("A"), py::arg("options"));
  m.def(
      "cond",
      [](const SparseMatrix& A, const py::dict& d) {
        EigenInfo info;
        auto s = dsla::cond(A, eigen_options(A, d), &info);
        return py::make_tuple(s, info);
      },
      py::arg("A"), py::arg("options"));
  // eigsh of a matrix-free Hermitian operator (a Python callable on [n, k] blocks); `like`
  // gives n, the dtype and the device; precond: a callable on [n, k] blocks or None.
  m.def(
      "operator_eigsh",
      [](py::object apply, const at::Tensor& like, int64_t k, const py::dict& d,
         py::object precond) {
        const int64_t n = like.size(0);
        auto A = py_operator(n, like.scalar_type(), like.device(), apply, "A");
        EigenOptions o;
        auto has = [&](const char* key) { return d.contains(key) && !d[key].is_none(); };
        if (has("which")) o.which = d["which"].cast<std::string>();
        if (has("tol")) o.tol = d["tol"].cast<double>();
        if (has("maxiter")) o.maxiter = d["maxiter"].cast<int64_t>();
        if (has("block")) o.block = d["block"].cast<int64_t>();
        if (has("X0")) o.X0 = d["X0"].cast<at::Tensor>();
        if (has("seed")) o.seed = d["seed"].cast<uint64_t>();
        if (has("raise_on_failure")) o.raise_on_failure = d["raise_on_failure"].cast<bool>();
        o.warn = false;
        if (!precond.is_none()) {
          o.precond_op = py_operator(n, like.scalar_type(), like.device(), precond, "precond");
        }
        EigenInfo info;
        auto [lam, U] = dsla::eigsh(*A, k, o, &info);
        return py::make_tuple(lam, U, info);
      },
      py::arg("apply"), py::arg("like"), py::arg("k"), py::arg("options"), py::arg("precond"));
  // x = A⁻¹ b for a matrix-free operator given as a Python callable on [n, k] tensors.
  m.def(
      "operator_solve",
      [](py::object apply, const at::Tensor& b, const py::dict& d) {
        const int64_t n = b.size(0);
        auto A = py_operator(n, b.scalar_type(), b.device(), apply, "A");
        SolveOptions o;
        auto has = [&](const char* k) { return d.contains(k) && !d[k].is_none(); };
        o.method = has("method") ? parse_method(d["method"].cast<std::string>()) : Method::GMRES;
        if (has("rtol")) o.rtol = d["rtol"].cast<double>();
        if (has("atol")) o.atol = d["atol"].cast<double>();
        if (has("maxiter")) o.maxiter = d["maxiter"].cast<int64_t>();
        if (has("restart")) o.restart = d["restart"].cast<int64_t>();
        if (has("x0")) o.x0 = d["x0"].cast<at::Tensor>();
        if (has("M")) o.M = py_operator(n, b.scalar_type(), b.device(), d["M"], "M");
        o.warn = false;
        o.raise_on_failure = has("raise_on_failure") && d["raise_on_failure"].cast<bool>();
        SolveInfo info;
        auto x = dsla::solve_operator(A, b, o, &info);
        return py::make_tuple(x, info);
      },
      py::arg("apply"), py::arg("b"), py::arg("options"));
}

DSLA_REGISTER_BINDINGS(eigen, bind);

}  // namespace
}  // namespace dsla::bindings
