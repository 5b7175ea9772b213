// Python bindings of Matrix Market IO: dsla._C.read_mtx, read_mtx_info, write_mtx. Dtypes
// cross as strings ("float32", ...; "" = float64), like every binding (see registry.h). Paths
// cross as bytes (os.fsencode): a file name need not be UTF-8, and a str holding the surrogate
// escapes of such a name cannot become a std::string. The Python-facing wrappers (str, bytes and
// os.PathLike paths, device, SparseTensor) are in python/dsla/io.py.
#include <torch/extension.h>

#include <dsla/io.h>

#include "bindings/registry.h"

namespace dsla::bindings {
namespace {

py::dict info_dict(const MtxInfo& info) {
  py::dict d;
  d["object"] = info.object;
  d["format"] = info.format;
  d["field"] = info.field;
  d["symmetry"] = info.symmetry;
  d["rows"] = info.rows;
  d["cols"] = info.cols;
  d["entries"] = info.entries;
  return d;
}

void bind(py::module_& m) {
  m.def(
      "read_mtx",
      [](const py::bytes& path, const std::string& dtype) {
        const at::ScalarType st = dtype.empty() ? at::kDouble : parse_dtype(dtype);
        const std::string p = path;
        py::gil_scoped_release nogil;  // parsing a large file should not block other threads
        return read_mtx(p, st);
      },
      py::arg("path"), py::arg("dtype") = "",
      "Reads a Matrix Market file (.mtx or gzip-compressed) into a SparseMatrix.");
  m.def(
      "read_mtx_info",
      [](const py::bytes& path) { return info_dict(read_mtx_info(std::string(path))); },
      py::arg("path"), "Banner and size line of a Matrix Market file, as a dict.");
  m.def(
      "write_mtx",
      [](const SparseMatrix& A, const py::bytes& path, const std::string& symmetry) {
        const std::string p = path;
        py::gil_scoped_release nogil;
        write_mtx(A, p, symmetry);
      },
      py::arg("A"), py::arg("path"), py::arg("symmetry") = "general",
      "Writes a SparseMatrix in coordinate Matrix Market format (gzip when path ends in .gz).");
}

DSLA_REGISTER_BINDINGS(io, bind);

}  // namespace
}  // namespace dsla::bindings
