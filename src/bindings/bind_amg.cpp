// Bindings for algebraic multigrid: _C.AmgHierarchy, _C.amg_setup, _C.amg_solve. Options cross
// as a dict built by python/dsla/amg.py.
#include <dsla/amg.h>
#include <dsla/dist.h>

#include "bindings/registry.h"

namespace dsla::bindings {
namespace {

using amg::AmgHierarchy;
using amg::AmgOptions;

AmgOptions amg_options(const py::dict& d) {
  AmgOptions o;
  for (auto item : d) {
    const auto k = item.first.cast<std::string>();
    py::handle v = item.second;
    if (v.is_none()) continue;
    if (k == "strength_threshold") {
      o.strength_threshold = v.cast<double>();
    } else if (k == "strength_decay") {
      o.strength_decay = v.cast<double>();
    } else if (k == "aggregation") {
      o.aggregation = v.cast<std::string>();
    } else if (k == "prolongation_omega") {
      o.prolongation_omega = v.cast<double>();
    } else if (k == "max_levels") {
      o.max_levels = v.cast<int64_t>();
    } else if (k == "coarse_size") {
      o.coarse_size = v.cast<int64_t>();
    } else if (k == "smoother") {
      o.smoother = v.cast<std::string>();
    } else if (k == "chebyshev_degree") {
      o.chebyshev_degree = v.cast<int64_t>();
    } else if (k == "chebyshev_ratio") {
      o.chebyshev_ratio = v.cast<double>();
    } else if (k == "jacobi_omega") {
      o.jacobi_omega = v.cast<double>();
    } else if (k == "pre_sweeps") {
      o.pre_sweeps = v.cast<int64_t>();
    } else if (k == "post_sweeps") {
      o.post_sweeps = v.cast<int64_t>();
    } else if (k == "cycle") {
      o.cycle = v.cast<std::string>();
    } else if (k == "eig_iters") {
      o.eig_iters = v.cast<int64_t>();
    } else if (k == "near_nullspace") {
      o.near_nullspace = v.cast<at::Tensor>();
    } else if (k == "seed") {
      o.seed = v.cast<uint64_t>();
    } else if (k == "symmetric") {
      o.symmetric = v.cast<std::string>();
    } else if (k == "block_size") {
      o.block_size = v.cast<int64_t>();
    } else if (k == "gather_size") {
      o.gather_size = v.cast<int64_t>();
    } else if (k == "precond_dtype") {
      o.precond_dtype = parse_dtype(v.cast<std::string>());
    } else {
      TORCH_CHECK_VALUE(false, "dsla: argument '", k, "': unknown AMG option");
    }
  }
  return o;
}

py::dict stats_dict(const amg::AmgStats& s) {
  py::dict d;
  py::list levels;
  for (const auto& l : s.levels) {
    py::dict e;
    e["rows"] = l.rows;
    e["nnz"] = l.nnz;
    e["aggregates"] = l.aggregates;
    e["unaggregated"] = l.unaggregated;
    e["galerkin_blocks"] = l.galerkin_blocks;
    levels.append(e);
  }
  d["levels"] = levels;
  d["num_levels"] = s.levels.size();
  d["operator_complexity"] = s.operator_complexity;
  d["grid_complexity"] = s.grid_complexity;
  d["near_nullspace_dim"] = s.near_nullspace_dim;
  d["coarse_solver"] = s.coarse_solver;
  py::dict t;
  t["strength"] = s.t_strength;
  t["aggregation"] = s.t_aggregation;
  t["prolongation"] = s.t_prolongation;
  t["rap"] = s.t_rap;
  t["smoother"] = s.t_smoother;
  t["coarse"] = s.t_coarse;
  t["total"] = s.t_total;
  d["setup_time"] = t;
  d["numeric_only"] = s.numeric_only;
  return d;
}

py::dict info_dict(const amg::AmgSolveInfo& i) {
  py::dict d;
  d["iterations"] = i.iterations;
  d["residual"] = i.residual;
  d["converged"] = i.converged;
  d["convergence_factor"] = i.convergence_factor;
  d["setup_time"] = i.setup_time;
  d["solve_time"] = i.solve_time;
  d["residuals"] = i.residuals;
  d["stats"] = stats_dict(i.stats);
  return d;
}

void bind(py::module_& m) {
  py::class_<AmgHierarchy, std::shared_ptr<AmgHierarchy>>(m, "AmgHierarchy")
      .def(
          "update",
          [](AmgHierarchy& h, const SparseMatrix& A) {
            py::gil_scoped_release nogil;
            h.update(A);
          },
          py::arg("A"))
      .def(
          "apply",
          [](const AmgHierarchy& h, const at::Tensor& r) {
            py::gil_scoped_release nogil;
            return h.apply(r);
          },
          py::arg("r"), "z = M⁻¹ r (one cycle from zero); r: [B, n, k]")
      .def(
          "cycle",
          [](const AmgHierarchy& h, const at::Tensor& b, at::Tensor x) {
            py::gil_scoped_release nogil;
            h.cycle(b, x, false);
            return x;
          },
          py::arg("b"), py::arg("x"))
      .def("stats", [](const AmgHierarchy& h) { return stats_dict(h.stats()); })
      .def_property_readonly("num_levels", &AmgHierarchy::num_levels)
      .def_property_readonly("rows", &AmgHierarchy::rows)
      .def_property_readonly("batch_size", &AmgHierarchy::batch_size)
      .def_property_readonly("is_symmetric", &AmgHierarchy::is_symmetric)
      .def("level_matrix", &AmgHierarchy::level_matrix, py::arg("level"))
      .def("prolongator", &AmgHierarchy::prolongator, py::arg("level"))
      .def("tentative_prolongator", &AmgHierarchy::tentative_prolongator, py::arg("level"))
      .def("aggregates", &AmgHierarchy::aggregates, py::arg("level"))
      .def("spectral_radius", &AmgHierarchy::spectral_radius, py::arg("level"))
      .def("near_nullspace", &AmgHierarchy::near_nullspace, py::arg("level"));

  using dist::DistAmg;
  py::class_<DistAmg, std::shared_ptr<DistAmg>>(m, "DistAmg")
      .def(
          "update",
          [](DistAmg& h, const dist::DistMatrix& A) {
            py::gil_scoped_release nogil;
            h.update(A);
          },
          py::arg("A"))
      .def(
          "apply",
          [](const DistAmg& h, const at::Tensor& r) {
            py::gil_scoped_release nogil;
            return h.apply(r);
          },
          py::arg("r"), "z = M⁻¹ r (one cycle from zero); r: [B, n_owned, k] (a collective)")
      .def(
          "prolong",
          [](const DistAmg& h, int64_t l, const at::Tensor& xc) {
            py::gil_scoped_release nogil;
            return h.prolong(l, xc);
          },
          py::arg("level"), py::arg("xc"))
      .def(
          "restrict",
          [](const DistAmg& h, int64_t l, const at::Tensor& r) {
            py::gil_scoped_release nogil;
            return h.restrict_to_coarse(l, r);
          },
          py::arg("level"), py::arg("r"))
      .def("stats", [](const DistAmg& h) { return stats_dict(h.stats()); })
      .def_property_readonly("num_levels", &DistAmg::num_levels)
      .def_property_readonly("num_distributed_levels", &DistAmg::num_distributed_levels)
      .def_property_readonly("is_symmetric", &DistAmg::is_symmetric)
      .def("level_matrix", &DistAmg::level_matrix, py::arg("level"))
      .def_property_readonly("coarse", [](const std::shared_ptr<DistAmg>& h) {
        // Shares the DistAmg's ownership: the replicated hierarchy lives as long as it does.
        return std::shared_ptr<AmgHierarchy>(h, const_cast<AmgHierarchy*>(&h->coarse()));
      });
  m.def(
      "dist_amg_setup",
      [](const dist::DistMatrix& A, const py::dict& options) {
        auto o = amg_options(options);
        py::gil_scoped_release nogil;
        return DistAmg::build(A, o);
      },
      py::arg("A"), py::arg("options"));

  m.def(
      "amg_setup",
      [](const SparseMatrix& A, const py::dict& options) {
        auto o = amg_options(options);
        py::gil_scoped_release nogil;
        return AmgHierarchy::build(A, o);
      },
      py::arg("A"), py::arg("options"));
  m.def(
      "amg_solve",
      [](const SparseMatrix& A, const at::Tensor& b, const py::dict& options, double rtol,
         int64_t maxiter, const std::string& accel) {
        auto o = amg_options(options);
        amg::AmgSolveInfo info;
        at::Tensor x;
        {
          py::gil_scoped_release nogil;
          x = amg::solve(A, b, o, rtol, maxiter, accel, &info);
        }
        return py::make_tuple(x, info_dict(info));
      },
      py::arg("A"), py::arg("b"), py::arg("options"), py::arg("rtol"), py::arg("maxiter"),
      py::arg("accel"));
  m.def(
      "amg_solve_with",
      [](const AmgHierarchy& h, const SparseMatrix& A, const at::Tensor& b, double rtol,
         int64_t maxiter, const std::string& accel) {
        amg::AmgSolveInfo info;
        at::Tensor x;
        {
          py::gil_scoped_release nogil;
          x = amg::solve(h, A, b, rtol, maxiter, accel, &info);
        }
        return py::make_tuple(x, info_dict(info));
      },
      py::arg("hierarchy"), py::arg("A"), py::arg("b"), py::arg("rtol"), py::arg("maxiter"),
      py::arg("accel"));
}

DSLA_REGISTER_BINDINGS(amg, bind);

}  // namespace
}  // namespace dsla::bindings
