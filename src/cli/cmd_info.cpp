// `dsla info MATRIX`: what a matrix is (shape, nnz, symmetry, diagonal dominance, memory).
//
// A file is parsed and summarized from its entries (cli/info_report.h): it is never built as a
// SparseMatrix, so a file declaring 10^8 rows with three entries costs what the entries cost,
// not several arrays of 10^8. A generated problem is summarized from its CSR the same way.
#include <dsla/generators.h>
#include <dsla/io.h>

#include <ATen/ATen.h>

#include <iostream>
#include <new>

#include "cli/command.h"
#include "cli/info_report.h"
#include "core/dtype_names.h"
#include "io/mtx_format.h"

namespace dsla::cli {
namespace {

InfoReport report_of_file(const std::string& path, at::ScalarType dtype) {
  // The same errors as read_mtx: malformed files and float32 overflow are ValueErrors that
  // name the file (and the line).
  try {
    return info_report(mtx::read_file(path), dtype == at::kFloat, path);
  } catch (const std::invalid_argument& e) {
    DSLA_CHECK_ARG(false, "path", e.what());  // read_mtx's words, as `dsla solve` says them
  } catch (const std::bad_alloc&) {
    TORCH_CHECK_WITH(OutOfMemoryError, false, "Matrix Market file '", shown(path),
                     "': out of memory holding its entries");
  }
  return {};
}

template <class T>
kernels::cpu::CooSummary summarize(const SparseMatrix& A, int64_t nnz) {
  const at::Tensor row = A.row_indices().to(at::kLong).contiguous();
  const at::Tensor col = A.col_indices().to(at::kLong).contiguous();
  const at::Tensor v = A.values().contiguous();
  at::Tensor re = v, im;
  if (A.is_complex()) {
    re = at::real(v).contiguous();
    im = at::imag(v).contiguous();
  }
  return kernels::cpu::summarize_coo<T>(A.rows(), A.cols(), static_cast<size_t>(nnz),
                                        row.data_ptr<int64_t>(), col.data_ptr<int64_t>(),
                                        re.data_ptr<T>(), im.defined() ? im.data_ptr<T>() : nullptr,
                                        kInfoSymmetryRtol);
}

InfoReport report_of_matrix(const SparseMatrix& M) {
  const SparseMatrix A = M.to(c10::Device(c10::kCPU));
  InfoReport r;
  r.rows = A.rows();
  r.cols = A.cols();
  r.dtype = torch_dtype_name(A.dtype());
  r.value_bytes = static_cast<int>(A.values().element_size());
  r.index64 = A.pattern()->index_dtype() == at::kLong;
  const bool single = A.dtype() == at::kFloat || A.dtype() == at::kComplexFloat;
  r.summary = single ? summarize<float>(A, A.nnz()) : summarize<double>(A, A.nnz());
  return r;
}

int run_info(const Args& args) {
  DSLA_CHECK_ARG(args.positional().size() == 1, "MATRIX", "give one file or problem (see --help)");
  const auto what = args.positional()[0];
  // The summary is computed on the CPU whatever --device says; the option is still checked.
  static_cast<void>(c10::Device(args.get("device", "cpu")));
  const InfoReport r = is_generator_spec(what) ? report_of_matrix(load_matrix(what, args))
                                               : report_of_file(what, matrix_dtype(args));
  std::cout << format_info(r, what, args.flag("json"));
  return 0;
}

const CommandRegistrar reg({"info", "shape, nnz, symmetry, diagonal dominance, memory",
                            std::string("usage: dsla info MATRIX [--json] [--dtype D]\n\n") +
                                kMatrixHelp,
                            run_info, std::vector<std::string>{}});

}  // namespace
}  // namespace dsla::cli
