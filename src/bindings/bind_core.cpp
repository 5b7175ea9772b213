// Bindings for SparseMatrix, products and generators. The Python class dsla.SparseTensor wraps
// _C.SparseMatrix; dtypes and devices cross as strings (see registry.h).
#include <dsla/generators.h>
#include <dsla/ops.h>
#include <dsla/sparse_matrix.h>

#include "bindings/registry.h"

namespace dsla::bindings {
namespace {

GenOptions gen_options(const std::string& dtype, const std::string& device) {
  GenOptions o;
  o.dtype = parse_dtype(dtype);
  o.device = parse_device(device);
  return o;
}

void bind(py::module_& m) {
  py::class_<SparseMatrix>(m, "SparseMatrix")
      .def_static(
          "from_coo",
          [](const at::Tensor& row, const at::Tensor& col, const at::Tensor& values, int64_t rows,
             int64_t cols, bool check, bool sum_duplicates, const std::string& index_dtype) {
            CooOptions o;
            o.check = check;
            o.sum_duplicates = sum_duplicates;
            if (!index_dtype.empty()) o.index_dtype = parse_dtype(index_dtype);
            return SparseMatrix::from_coo(row, col, values, {rows, cols}, o);
          },
          py::arg("row"), py::arg("col"), py::arg("values"), py::arg("rows"), py::arg("cols"),
          py::arg("check") = true, py::arg("sum_duplicates") = true, py::arg("index_dtype") = "")
      .def_static(
          "from_csr",
          [](const at::Tensor& crow, const at::Tensor& col, const at::Tensor& values, int64_t rows,
             int64_t cols, bool check) {
            return SparseMatrix::from_csr(crow, col, values, {rows, cols}, check);
          },
          py::arg("crow"), py::arg("col"), py::arg("values"), py::arg("rows"), py::arg("cols"),
          py::arg("check") = true)
      .def_static("from_dense", &SparseMatrix::from_dense, py::arg("dense"))
      .def_static("from_torch", &SparseMatrix::from_torch, py::arg("tensor"))
      .def("to_dense", &SparseMatrix::to_dense)
      .def("to_torch_coo", &SparseMatrix::to_torch_coo)
      .def("to_torch_csr", &SparseMatrix::to_torch_csr)
      .def_property_readonly("values", &SparseMatrix::values)
      .def_property_readonly("rows", &SparseMatrix::rows)
      .def_property_readonly("cols", &SparseMatrix::cols)
      .def_property_readonly("nnz", &SparseMatrix::nnz)
      .def_property_readonly("is_batched", &SparseMatrix::is_batched)
      .def_property_readonly("batch_size", &SparseMatrix::batch_size)
      .def_property_readonly("index_dtype",
                             [](const SparseMatrix& A) {
                               return A.pattern()->index_dtype() == at::kInt ? "int32" : "int64";
                             })
      .def("row_indices", &SparseMatrix::row_indices)
      .def("col_indices", &SparseMatrix::col_indices)
      .def("crow_indices", &SparseMatrix::crow_indices)
      .def("with_values", &SparseMatrix::with_values, py::arg("values"))
      .def("same_pattern",
           [](const SparseMatrix& A, const SparseMatrix& B) { return A.pattern() == B.pattern(); })
      .def(
          "to",
          [](const SparseMatrix& A, const std::string& device, const std::string& dtype) {
            SparseMatrix r = A;
            if (!device.empty()) r = r.to(parse_device(device));
            if (!dtype.empty()) r = r.to(parse_dtype(dtype));
            return r;
          },
          py::arg("device") = "", py::arg("dtype") = "")
      .def("detach", &SparseMatrix::detach)
      .def("transpose", &SparseMatrix::transpose)
      .def("conj_transpose", &SparseMatrix::conj_transpose)
      .def("conj", &SparseMatrix::conj)
      .def("diagonal", &SparseMatrix::diagonal)
      .def("is_symmetric", &SparseMatrix::is_symmetric, py::arg("rtol") = 1e-12,
           py::arg("atol") = 0.0, py::arg("hermitian") = true)
      .def("is_structurally_symmetric",
           [](const SparseMatrix& A) { return A.pattern()->is_structurally_symmetric(); })
      .def("row_sums", &SparseMatrix::row_sums)
      .def("col_sums", &SparseMatrix::col_sums)
      .def("norm", &SparseMatrix::norm, py::arg("ord") = "fro")
      .def("scale", [](const SparseMatrix& A, double a) { return A.scale(a); })
      .def("submatrix", &SparseMatrix::submatrix, py::arg("rows"), py::arg("cols"))
      .def("__repr__", &SparseMatrix::repr);

  m.def("matmul", &matmul, py::arg("A"), py::arg("x"));
  m.def("matmul_transpose", &matmul_transpose, py::arg("A"), py::arg("x"));
  m.def(
      "add",
      [](const SparseMatrix& A, const SparseMatrix& B, double alpha, double beta) {
        return add(A, B, alpha, beta);
      },
      py::arg("A"), py::arg("B"), py::arg("alpha") = 1.0, py::arg("beta") = 1.0);

  m.def(
      "poisson2d",
      [](int64_t n, const std::string& dt, const std::string& dev) {
        return poisson2d(n, gen_options(dt, dev));
      },
      py::arg("n"), py::arg("dtype") = "float64", py::arg("device") = "cpu");
  m.def(
      "poisson3d",
      [](int64_t n, const std::string& dt, const std::string& dev) {
        return poisson3d(n, gen_options(dt, dev));
      },
      py::arg("n"), py::arg("dtype") = "float64", py::arg("device") = "cpu");
  m.def(
      "aniso2d",
      [](int64_t n, double eps, const std::string& dt, const std::string& dev) {
        return aniso2d(n, eps, gen_options(dt, dev));
      },
      py::arg("n"), py::arg("eps") = 1e-3, py::arg("dtype") = "float64", py::arg("device") = "cpu");
  m.def(
      "convdiff2d",
      [](int64_t n, double pe, const std::string& dt, const std::string& dev) {
        return convdiff2d(n, pe, gen_options(dt, dev));
      },
      py::arg("n"), py::arg("pe") = 10.0, py::arg("dtype") = "float64", py::arg("device") = "cpu");
  m.def(
      "random_spd",
      [](int64_t n, double density, uint64_t seed, const std::string& dt, const std::string& dev) {
        return random_spd(n, density, seed, gen_options(dt, dev));
      },
      py::arg("n"), py::arg("density"), py::arg("seed") = 0, py::arg("dtype") = "float64",
      py::arg("device") = "cpu");
  m.def(
      "random_sparse",
      [](int64_t rows, int64_t cols, double density, uint64_t seed, const std::string& dt,
         const std::string& dev) {
        return random_sparse(rows, cols, density, seed, gen_options(dt, dev));
      },
      py::arg("rows"), py::arg("cols"), py::arg("density"), py::arg("seed") = 0,
      py::arg("dtype") = "float64", py::arg("device") = "cpu");
  m.def(
      "generate",
      [](const std::string& spec, const std::string& dt, const std::string& dev) {
        return generate(spec, gen_options(dt, dev));
      },
      py::arg("spec"), py::arg("dtype") = "float64", py::arg("device") = "cpu");
}

DSLA_REGISTER_BINDINGS_ORDERED(core, bind, 0);

}  // namespace
}  // namespace dsla::bindings
