// Python bindings of det / logdet / slogdet: dsla._C.slogdet, logdet, det.
// The Python-facing wrappers (SparseTensor in, tensors out) are in python/dsla/det.py.
#include <torch/extension.h>

#include <dsla/det.h>

#include "bindings/registry.h"

namespace dsla::bindings {
namespace {

namespace py = pybind11;

DetOptions options(const std::string& method, const std::string& ordering) {
  DetOptions o;
  o.method = method;
  o.ordering = ordering;
  return o;
}

void bind(py::module_& m) {
  m.def(
      "slogdet",
      [](const SparseMatrix& A, const std::string& method, const std::string& ordering) {
        auto r = slogdet(A, options(method, ordering));
        return py::make_tuple(r.first, r.second);
      },
      py::arg("A"), py::arg("method") = "auto", py::arg("ordering") = "auto",
      "(sign, log|det A|) like torch.linalg.slogdet, differentiable in A's values.");
  m.def(
      "logdet",
      [](const SparseMatrix& A, const std::string& method, const std::string& ordering) {
        return logdet(A, options(method, ordering));
      },
      py::arg("A"), py::arg("method") = "auto", py::arg("ordering") = "auto",
      "log det A like torch.logdet (NaN for a negative real determinant), differentiable.");
  m.def(
      "det",
      [](const SparseMatrix& A, const std::string& method, const std::string& ordering) {
        return det(A, options(method, ordering));
      },
      py::arg("A"), py::arg("method") = "auto", py::arg("ordering") = "auto",
      "det A = sign * exp(log|det A|), differentiable.");
}

DSLA_REGISTER_BINDINGS(det, bind);

}  // namespace
}  // namespace dsla::bindings
