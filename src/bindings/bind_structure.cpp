// Python bindings of the structure analyses (include/dsla/structure.h) and the solver presets:
// dsla._C.connected_components, split_components, is_positive_definite, detect_matrix_type,
// solve_presets. The Python-facing functions are in python/dsla/structure.py and _config.py.
#include <torch/extension.h>

#include <dsla/solve.h>
#include <dsla/structure.h>

#include "bindings/registry.h"

namespace dsla::bindings {
namespace {

namespace py = pybind11;

Connection parse_connection(const std::string& s) {
  if (s == "weak") return Connection::Weak;
  DSLA_CHECK_ARG(s == "strong", "connection", "must be 'weak' or 'strong', got '", s, "'");
  return Connection::Strong;
}

void bind(py::module_& m) {
  m.def(
      "connected_components",
      [](const SparseMatrix& A, const std::string& connection) {
        const Connection c = parse_connection(connection);
        Components r;
        {
          py::gil_scoped_release nogil;
          r = connected_components(A, c);
        }
        return py::make_tuple(r.count, r.labels);
      },
      py::arg("A"), py::arg("connection") = "weak");
  m.def(
      "color_rows",
      [](const SparseMatrix& A) {
        Coloring r;
        {
          py::gil_scoped_release nogil;
          r = color_rows(A);
        }
        return py::make_tuple(r.count, r.colors);
      },
      py::arg("A"));
  m.def(
      "split_components",
      [](const SparseMatrix& A) {
        std::vector<ComponentBlock> blocks;
        {
          py::gil_scoped_release nogil;
          blocks = split_components(A);
        }
        py::list out;
        for (auto& b : blocks) out.append(py::make_tuple(b.index, b.matrix));
        return out;
      },
      py::arg("A"));
  m.def(
      "is_positive_definite",
      [](const SparseMatrix& A, double rtol, double atol, double pivot_tolerance,
         int64_t dense_max_rows, const std::string& factorization) {
        DefinitenessOptions o;
        o.rtol = rtol;
        o.atol = atol;
        o.pivot_tolerance = pivot_tolerance;
        o.dense_max_rows = dense_max_rows;
        o.factorization = factorization;
        py::gil_scoped_release nogil;
        return is_positive_definite(A, o);
      },
      py::arg("A"), py::arg("rtol") = 1e-12, py::arg("atol") = 0.0,
      py::arg("pivot_tolerance") = 1e-14, py::arg("dense_max_rows") = 4096,
      py::arg("factorization") = "auto");
  m.def(
      "detect_matrix_type",
      [](const SparseMatrix& A, double rtol, double atol, bool definite, double pivot_tolerance,
         int64_t dense_max_rows, const std::string& factorization) {
        MatrixTypeOptions o;
        o.rtol = rtol;
        o.atol = atol;
        o.definite = definite;
        o.pivot_tolerance = pivot_tolerance;
        o.dense_max_rows = dense_max_rows;
        o.factorization = factorization;
        py::gil_scoped_release nogil;
        return to_string(detect_matrix_type(A, o));
      },
      py::arg("A"), py::arg("rtol") = 1e-12, py::arg("atol") = 0.0, py::arg("definite") = true,
      py::arg("pivot_tolerance") = 1e-14, py::arg("dense_max_rows") = 4096,
      py::arg("factorization") = "auto");
  m.def("solve_presets", [] {
    py::list out;
    for (const auto& p : solve_presets()) {
      py::dict d;
      d["name"] = p.name;
      d["description"] = p.description;
      d["method"] = to_string(p.method);
      d["precond"] = p.precond;
      d["restart"] = p.restart;
      d["ordering"] = p.ordering;
      out.append(d);
    }
    return out;
  });
}

DSLA_REGISTER_BINDINGS(structure, bind);

}  // namespace
}  // namespace dsla::bindings
