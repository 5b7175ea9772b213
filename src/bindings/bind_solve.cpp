// Bindings for solves: _C.SolveInfo, _C.Solver, _C.solve. Options cross as a dict built by
// python/dsla/solve.py; user preconditioners and callbacks are Python callables (the GIL is
// released during solves and taken back to call them).
#include <dsla/dist.h>
#include <dsla/errors.h>
#include <dsla/solve.h>

#include <torch/csrc/autograd/python_variable.h>

#include "bindings/registry.h"
#include "bindings/solve_options.h"
#include "solve/amg/amg_preconditioner.h"
#include "solve/solver_internal.h"

namespace dsla::bindings {

LinearOperatorPtr python_operator(int64_t n, at::ScalarType dtype, c10::Device device,
                                  py::object fn, py::object fn_adj) {
  auto call = [](py::object fn) {
    // The callable may be released without the GIL (torch frees autograd graphs, which hold the
    // Solver, with the GIL released): its holder takes the GIL to drop the reference.
    auto f = hold(std::move(fn));
    return [f](const at::Tensor& x, at::Tensor& y) {
      py::gil_scoped_acquire gil;
      at::Tensor r = (*f)(x).cast<at::Tensor>();
      TORCH_CHECK_VALUE(r.sizes() == y.sizes(),
                        "dsla: argument 'M': the preconditioner returned "
                        "shape ",
                        r.sizes(), " for input ", x.sizes(), "; it must keep the shape");
      y.copy_(r);
    };
  };
  std::function<void(const at::Tensor&, at::Tensor&)> adj;
  if (!fn_adj.is_none()) adj = call(fn_adj);
  return make_operator(n, n, dtype, device, call(fn), adj);
}

void add_python_preconditioner(SolveOptions& o, const py::dict& d, int64_t n, at::ScalarType dtype,
                               c10::Device device) {
  auto has = [&](const char* k) { return d.contains(k) && !d[k].is_none(); };
  if (!has("M")) return;
  // A distributed AMG (dsla.amg of a DistTensor): its own collective operator, no Python call.
  if (py::isinstance<dist::DistAmg>(d["M"])) {
    o.M = d["M"].cast<std::shared_ptr<dist::DistAmg>>()->as_operator();
    return;
  }
  // A one-process AMG (dsla.amg(A)): the C++ hierarchy as the preconditioner, its adjoint
  // itself or the AMG of Aᴴ (no Python call per apply).
  if (py::isinstance<amg::AmgHierarchy>(d["M"])) {
    auto h = d["M"].cast<std::shared_ptr<amg::AmgHierarchy>>();
    DSLA_CHECK_ARG(h->rows() == n && h->device() == device, "M", "is an AMG hierarchy of ",
                   h->rows(), " rows on ", h->device(), "; A has ", n, " rows on ", device);
    o.M = std::make_shared<amg::AmgPreconditioner>(h);
    return;
  }
  py::object adj = has("M_adjoint") ? py::object(d["M_adjoint"]) : py::none();
  o.M = python_operator(n, dtype, device, d["M"], adj);
}

SolveOptions solve_options_from(const py::dict& d) {
  SolveOptions o;
  auto has = [&](const char* k) { return d.contains(k) && !d[k].is_none(); };
  if (has("method")) o.method = parse_method(d["method"].cast<std::string>());
  if (has("precond")) o.precond = d["precond"].cast<std::string>();
  if (has("rtol")) o.rtol = d["rtol"].cast<double>();
  if (has("atol")) o.atol = d["atol"].cast<double>();
  if (has("maxiter")) o.maxiter = d["maxiter"].cast<int64_t>();
  if (has("restart")) o.restart = d["restart"].cast<int64_t>();
  if (has("damp")) o.damp = d["damp"].cast<double>();
  if (has("x0")) o.x0 = d["x0"].cast<at::Tensor>();
  if (has("raise_on_failure")) o.raise_on_failure = d["raise_on_failure"].cast<bool>();
  if (has("warn")) o.warn = d["warn"].cast<bool>();
  if (has("check_every")) o.check_every = d["check_every"].cast<int64_t>();
  if (has("history")) o.history = d["history"].cast<bool>();
  if (has("ordering")) o.ordering = d["ordering"].cast<std::string>();
  if (has("block_size")) o.precond_block_size = d["block_size"].cast<int64_t>();
  if (has("omega")) o.precond_omega = d["omega"].cast<double>();
  if (has("degree")) o.precond_degree = d["degree"].cast<int64_t>();
  if (has("callback")) {
    auto cb = hold(d["callback"]);
    o.callback = [cb](int64_t it, double res) {
      py::gil_scoped_acquire gil;
      (*cb)(it, res);
    };
  }
  if (has("callback_x")) {
    // The iterate as the Python side shapes it (a detached copy: the method keeps updating x).
    auto cb = hold(d["callback_x"]);
    o.callback_x = [cb](const at::Tensor& x) {
      py::gil_scoped_acquire gil;
      (*cb)(x.detach().clone());
    };
  }
  return o;
}

namespace {

SolveOptions options_from(const SparseMatrix& A, const py::dict& d) {
  SolveOptions o = solve_options_from(d);
  add_python_preconditioner(o, d, A.rows(), A.dtype(), A.device());
  return o;
}

void bind(py::module_& m) {
  py::class_<SolveInfo>(m, "SolveInfo")
      .def_readonly("iterations", &SolveInfo::iterations)
      .def_readonly("residual", &SolveInfo::residual)
      .def_readonly("residuals", &SolveInfo::residuals)
      .def_readonly("converged", &SolveInfo::converged)
      .def_property_readonly("status", [](const SolveInfo& i) { return to_string(i.status); })
      .def_property_readonly("method", [](const SolveInfo& i) { return to_string(i.method); })
      .def_readonly("preconditioner", &SolveInfo::preconditioner)
      .def_readonly("message", &SolveInfo::message)
      .def_readonly("setup_time", &SolveInfo::setup_time)
      .def_readonly("solve_time", &SolveInfo::solve_time)
      .def_readonly("history_iterations", &SolveInfo::history_iterations)
      .def_readonly("history_residuals", &SolveInfo::history_residuals)
      .def("summary", &SolveInfo::summary)
      .def("__repr__", [](const SolveInfo& i) { return "SolveInfo(" + i.summary() + ")"; });

  py::class_<Solver>(m, "Solver")
      .def(py::init([](const SparseMatrix& A, const py::dict& d) {
             auto o = options_from(A, d);
             py::gil_scoped_release nogil;
             return Solver(A, o);
           }),
           py::arg("A"), py::arg("options"))
      .def(
          "solve",
          [](const Solver& s, const at::Tensor& b) {
            SolveInfo info;
            at::Tensor x;
            {
              py::gil_scoped_release nogil;
              x = dsla::solve(s, b, &info);
            }
            return py::make_tuple(x, info);
          },
          py::arg("b"))
      .def(
          "solve_adjoint",
          [](const Solver& s, const at::Tensor& b) {
            SolveInfo info;
            at::Tensor x;
            {
              py::gil_scoped_release nogil;
              x = dsla::solve(s.adjoint(), b, &info);
            }
            return py::make_tuple(x, info);
          },
          py::arg("b"))
      .def(
          "refactor",
          [](Solver& s, const at::Tensor& v) {
            py::gil_scoped_release nogil;
            s.refactor(v);
          },
          py::arg("values"))
      .def_property_readonly("method", [](const Solver& s) { return to_string(s.method()); })
      .def_property_readonly("preconditioner", &Solver::preconditioner)
      .def_property_readonly("factorization", &Solver::factorization)
      .def_property_readonly("setup_time", &Solver::setup_time)
      .def_property_readonly("matrix", &Solver::matrix);

  m.def("direct_available",
        [](const std::string& device) { return detail::direct_available(c10::Device(device)); });

  m.def(
      "solve",
      [](const SparseMatrix& A, const at::Tensor& b, const py::dict& d) {
        auto o = options_from(A, d);
        SolveInfo info;
        at::Tensor x;
        {
          py::gil_scoped_release nogil;
          x = dsla::solve(A, b, o, &info);
        }
        return py::make_tuple(x, info);
      },
      py::arg("A"), py::arg("b"), py::arg("options"));
}

DSLA_REGISTER_BINDINGS(solve, bind);

}  // namespace
}  // namespace dsla::bindings
