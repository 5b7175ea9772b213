// Binding for nonlinear solves: _C.nonlinear_solve. python/dsla/nonlinear.py binds the params
// and passes the residual, Jacobian, fixed-point map and JFNK preconditioner as Python callables
// of u; the GIL is released during the solve (and the gradient's backward, run by torch without
// it) and taken back to call them. Their holders take the GIL to drop the references: the autograd
// node that keeps them may be freed without it. Exceptions raised by the callables propagate as
// themselves: they cross the C++ code as torch's python_error, which torch's backward and this
// binding both hand back to Python unchanged.
#include <dsla/dist.h>
#include <dsla/errors.h>
#include <dsla/linear_operator.h>
#include <dsla/nonlinear.h>

#include <torch/csrc/Exceptions.h>
#include <torch/csrc/autograd/python_variable.h>

#include "bindings/registry.h"
#include "bindings/solve_options.h"

namespace dsla::bindings {
namespace {

// f(x) with the GIL held. pybind11's error_already_set would reach Python from a backward pass
// as a RuntimeError (torch's engine knows only its own python_error), so it becomes that.
py::object call(const py::object& f, const at::Tensor& x) {
  try {
    return f(x);
  } catch (py::error_already_set& e) {
    e.restore();
    ::python_error err;
    err.persist();
    throw err;
  }
}

std::string type_name(const py::handle& o) {
  return py::str(py::type::handle_of(o).attr("__name__")).cast<std::string>();
}

// u -> tensor of u's shape (F, G); the shape itself is checked by dsla::nonlinear_solve.
ResidualFn residual(py::object fn, const char* arg) {
  if (fn.is_none()) return {};
  auto f = hold(std::move(fn));
  return [f, arg](const at::Tensor& u) {
    py::gil_scoped_acquire gil;
    py::object r = call(*f, u);
    DSLA_CHECK_ARG(THPVariable_Check(r.ptr()), arg, "must return a tensor of u's shape ", u.sizes(),
                   "; got ", type_name(r));
    return r.cast<at::Tensor>();
  };
}

// u -> _C.SparseMatrix (the Python side checks for a SparseTensor and passes its _m).
JacobianFn jacobian(py::object fn) {
  if (fn.is_none()) return {};
  auto f = hold(std::move(fn));
  return [f](const at::Tensor& u) {
    py::gil_scoped_acquire gil;
    return call(*f, u).cast<SparseMatrix>();
  };
}

// u -> _C.DistMatrix (a distributed Jacobian; the Python side checks for a DistTensor).
dist::DistJacobianFn dist_jacobian(py::object fn) {
  if (fn.is_none()) return {};
  auto f = hold(std::move(fn));
  return [f](const at::Tensor& u) {
    py::gil_scoped_acquire gil;
    return call(*f, u).cast<dist::DistMatrix>();
  };
}

// A Python preconditioner on [n, k] blocks as an operator on [B, n, k].
LinearOperatorPtr preconditioner(py::object fn, const at::Tensor& u0) {
  auto f = hold(std::move(fn));
  const int64_t n = u0.size(0);
  return make_operator(n, n, u0.scalar_type(), u0.device(),
                       [f](const at::Tensor& x, at::Tensor& y) {
                         py::gil_scoped_acquire gil;
                         for (int64_t b = 0; b < x.size(0); ++b) {
                           auto r = call(*f, x.select(0, b)).cast<at::Tensor>();
                           TORCH_CHECK_VALUE(r.sizes() == y.select(0, b).sizes(),
                                             "dsla: argument 'M': the preconditioner returned "
                                             "shape ",
                                             r.sizes(), " for input ", x.select(0, b).sizes(),
                                             "; it must keep the shape");
                           y.select(0, b).copy_(r);
                         }
                       });
}

NonlinearMethod parse_nonlinear_method(const std::string& s) {
  if (s == "newton") return NonlinearMethod::Newton;
  if (s == "picard") return NonlinearMethod::Picard;
  DSLA_CHECK_ARG(s == "anderson", "method", "unknown method '", s,
                 "'; use one of newton, picard, anderson");
  return NonlinearMethod::Anderson;
}

NonlinearOptions nonlinear_options(const py::dict& d) {
  NonlinearOptions o;
  o.method = parse_nonlinear_method(d["method"].cast<std::string>());
  o.rtol = d["rtol"].cast<double>();
  o.atol = d["atol"].cast<double>();
  o.step_tol = d["step_tol"].cast<double>();
  o.maxiter = d["maxiter"].cast<int64_t>();
  o.line_search = d["line_search"].cast<bool>();
  o.anderson_m = d["anderson_m"].cast<int64_t>();
  o.omega = d["omega"].cast<double>();
  o.divtol = d["divtol"].cast<double>();
  o.stall = d["stall"].cast<int64_t>();
  o.linear = solve_options_from(d["linear"].cast<py::dict>());
  o.warn = false;  // the Python side warns (NonlinearWarning) or raises from the info
  o.raise_on_failure = false;
  return o;
}

py::dict info_dict(const NonlinearInfo& i) {
  py::dict d;
  d["converged"] = i.converged;
  d["status"] = i.status;
  d["iterations"] = i.iterations;
  d["function_evals"] = i.function_evals;
  d["residual"] = i.residual;
  d["residual_history"] = i.residual_history;
  d["linear_iterations"] = i.linear_iterations;
  d["linear_solver"] = i.linear_solver;
  d["message"] = i.message;
  return d;
}

void bind(py::module_& m) {
  // F: the residual the solve evaluates (params detached); F_grad: the same residual on the live
  // params, for the implicit-function gradient w.r.t. `inputs`. M: the JFNK preconditioner on
  // [n, k] blocks or None; jvp: "autograd" (exact, double vjp) or "fd". Returns (u, info dict).
  m.def(
      "nonlinear_solve",
      [](py::object F, py::object F_grad, const at::Tensor& u0, py::object J, py::object G,
         py::object M, const std::string& jvp, const std::vector<at::Tensor>& inputs,
         const py::dict& d, py::object dist_like) {
        auto o = nonlinear_options(d);
        // A distributed solve: u is the owned slice of dist_like's distribution; J (if any)
        // returns DistMatrix Jacobians, solved through dsla::dist.
        if (!dist_like.is_none()) {
          o = dist::nonlinear_options(dist_like.cast<dist::DistMatrix>(), o, dist_jacobian(J));
          J = py::none();
        }
        DSLA_CHECK_ARG(jvp == "autograd" || jvp == "fd", "jvp", "must be 'autograd' or 'fd'; got '",
                       jvp, "'");
        ResidualFn Fc = residual(std::move(F), "F"), Gc = residual(std::move(G), "G");
        ResidualFn Fg = residual(std::move(F_grad), "F");
        JacobianFn Jc = jacobian(std::move(J));
        if (!M.is_none()) o.linear.M = preconditioner(std::move(M), u0);
        if (jvp == "autograd" && Fc) o.jvp = autograd_jvp(Fc);
        NonlinearInfo info;
        at::Tensor u;
        try {
          py::gil_scoped_release nogil;
          u = dsla::nonlinear_solve(Fc, u0, o, Jc, Gc, &info);
          if (Fg) u = with_implicit_gradient(Fg, u, inputs, o, Jc);
        } catch (::python_error& e) {
          e.restore();  // the callback's own exception, as raised
          throw py::error_already_set();
        }
        return py::make_tuple(u, info_dict(info));
      },
      py::arg("F"), py::arg("F_grad"), py::arg("u0"), py::arg("jacobian"), py::arg("G"),
      py::arg("M"), py::arg("jvp"), py::arg("inputs"), py::arg("options"),
      py::arg("dist") = py::none());
}

DSLA_REGISTER_BINDINGS(nonlinear, bind);

}  // namespace
}  // namespace dsla::bindings
