// `dsla info MATRIX`: what a matrix is (shape, nnz, symmetry, diagonal dominance, memory).
#include <dsla/generators.h>
#include <dsla/io.h>

#include <ATen/ATen.h>

#include <iomanip>
#include <iostream>

#include "cli/command.h"

namespace dsla::cli {
namespace {

int run_info(const Args& args) {
  DSLA_CHECK_ARG(args.positional().size() == 1, "MATRIX", "give one file or problem (see --help)");
  const auto what = args.positional()[0];
  const bool json = args.flag("json");
  auto A = load_matrix(what, args).to(c10::Device(c10::kCPU));
  const int64_t n = A.rows(), m = A.cols(), nnz = A.nnz();
  const bool square = n == m;
  const bool psym = square && A.pattern()->is_structurally_symmetric();
  const bool sym = square && A.is_symmetric(1e-12, 0.0, true);
  auto counts = A.crow_indices().to(at::kLong).diff();
  const int64_t rmin = n ? counts.min().item<int64_t>() : 0;
  const int64_t rmax = n ? counts.max().item<int64_t>() : 0;
  int64_t dominant = 0, strict = 0, zero_diag = 0;
  if (square && n) {
    auto d = A.diagonal().abs();
    auto off = A.values().abs().new_zeros({n}).index_add(0, A.row_indices().to(at::kLong),
                                                         A.values().abs()) -
               d;
    dominant = (d >= off).sum().item<int64_t>();
    strict = (d > off).sum().item<int64_t>();
    zero_diag = (d == 0).sum().item<int64_t>();
  }
  const int64_t isz = A.pattern()->index_dtype() == at::kInt ? 4 : 8;
  const int64_t vsz = A.values().element_size();
  const int64_t bytes = nnz * (isz + vsz) + (n + 1) * isz;
  const double fro = A.norm("fro").item<double>();
  if (json) {
    std::cout << "{\"matrix\": \"" << json_escape(what) << "\", \"rows\": " << n
              << ", \"cols\": " << m << ", \"nnz\": " << nnz << ", \"dtype\": \"" << A.dtype()
              << "\", \"index_dtype\": \"" << (isz == 4 ? "int32" : "int64")
              << "\", \"pattern_symmetric\": " << (psym ? "true" : "false")
              << ", \"symmetric\": " << (sym ? "true" : "false") << ", \"row_nnz_min\": " << rmin
              << ", \"row_nnz_max\": " << rmax << ", \"diag_dominant_rows\": " << dominant
              << ", \"strictly_dominant_rows\": " << strict << ", \"zero_diagonals\": " << zero_diag
              << ", \"norm_fro\": " << std::setprecision(17) << fro << ", \"bytes\": " << bytes
              << "}\n";
    return 0;
  }
  std::cout << "matrix      " << what << "\n"
            << "shape       " << n << " x " << m << "\n"
            << "nnz         " << nnz << "  (" << std::fixed << std::setprecision(2)
            << (n ? double(nnz) / n : 0.0) << " per row, min " << rmin << ", max " << rmax << ")\n"
            << "dtype       " << A.dtype() << ", indices " << (isz == 4 ? "int32" : "int64") << "\n"
            << "symmetry    pattern " << (psym ? "yes" : "no") << ", values "
            << (sym ? "yes" : "no") << "\n";
  if (square) {
    std::cout << "diagonal    " << zero_diag << " zero; dominant rows " << dominant << " / " << n
              << " (strict " << strict << ")\n";
  }
  std::cout << "norm        fro " << std::scientific << std::setprecision(4) << fro << "\n"
            << "memory      " << std::fixed << std::setprecision(1) << bytes / 1e6 << " MB (CSR)\n";
  return 0;
}

const CommandRegistrar reg({"info", "shape, nnz, symmetry, diagonal dominance, memory",
                            std::string("usage: dsla info MATRIX [--json] [--dtype D]\n\n") +
                                kMatrixHelp,
                            run_info, std::vector<std::string>{}});

}  // namespace
}  // namespace dsla::cli
