// `dsla info`'s report from COO arrays, torch-free (see info_report.h).
#include "cli/info_report.h"

#include "cli/text.h"

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace dsla::cli {
namespace {

// Below 2^53 every integer is a double: the usual case prints exactly.
std::string whole(double v) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(0) << v;
  return os.str();
}

}  // namespace

bool info_index64(int64_t rows, int64_t cols, int64_t entries) {
  const int64_t lim = std::numeric_limits<int32_t>::max();
  return !(rows < lim && cols < lim && entries < lim);
}

InfoReport info_report(const mtx::Coo& coo, bool single, const std::string& name) {
  const mtx::Header& h = coo.header;
  const bool cplx = h.field == mtx::Field::kComplex;
  InfoReport r;
  r.rows = h.rows;
  r.cols = h.cols;
  r.dtype = cplx ? (single ? "torch.complex64" : "torch.complex128")
                 : (single ? "torch.float32" : "torch.float64");
  r.value_bytes = (single ? 4 : 8) * (cplx ? 2 : 1);
  r.index64 = info_index64(h.rows, h.cols, static_cast<int64_t>(coo.nnz()));
  const size_t n = coo.nnz();
  const double* re = coo.re.empty() ? nullptr : coo.re.data();
  const double* im = coo.im.empty() ? nullptr : coo.im.data();
  if (!single) {
    r.summary = kernels::cpu::summarize_coo<double>(h.rows, h.cols, n, coo.row.data(),
                                                    coo.col.data(), re, im, kInfoSymmetryRtol);
    return r;
  }
  std::vector<float> re32, im32;
  for (const auto* v : {&coo.re, &coo.im}) {
    for (size_t k = 0; k < v->size(); ++k) {
      if (std::fabs((*v)[k]) > FLT_MAX) {
        std::ostringstream os;
        os << std::setprecision(17) << "entry (" << coo.row[k] + 1 << ", " << coo.col[k] + 1
           << ") of '" << shown(name) << "' is " << (*v)[k]
           << ", beyond the float32 range: use --dtype float64";
        throw std::invalid_argument(os.str());
      }
    }
  }
  re32.assign(coo.re.begin(), coo.re.end());
  im32.assign(coo.im.begin(), coo.im.end());
  r.summary = kernels::cpu::summarize_coo<float>(h.rows, h.cols, n, coo.row.data(), coo.col.data(),
                                                 re ? re32.data() : nullptr,
                                                 im ? im32.data() : nullptr, kInfoSymmetryRtol);
  return r;
}

std::string format_info(const InfoReport& r, const std::string& what, bool json) {
  const kernels::cpu::CooSummary& s = r.summary;
  const int64_t n = r.rows, m = r.cols, nnz = s.nnz;
  const int isz = r.index64 ? 8 : 4;
  // CSR bytes: in double, as a declared shape near 2^63 would overflow any integer sum.
  const double bytes = double(nnz) * (isz + r.value_bytes) + (double(n) + 1) * isz;
  const char* index = r.index64 ? "int64" : "int32";
  const std::string name = shown(what);
  std::ostringstream os;
  if (json) {
    os << "{\"matrix\": \"" << json_escape(what) << "\", \"rows\": " << n << ", \"cols\": " << m
       << ", \"nnz\": " << nnz << ", \"dtype\": \"" << r.dtype << "\", \"index_dtype\": \"" << index
       << "\", \"pattern_symmetric\": " << (s.pattern_symmetric ? "true" : "false")
       << ", \"symmetric\": " << (s.symmetric ? "true" : "false")
       << ", \"row_nnz_min\": " << s.row_nnz_min << ", \"row_nnz_max\": " << s.row_nnz_max
       << ", \"diag_dominant_rows\": " << s.dominant_rows
       << ", \"strictly_dominant_rows\": " << s.strictly_dominant_rows
       << ", \"zero_diagonals\": " << s.zero_diagonals << ", \"norm_fro\": ";
    if (std::isfinite(s.norm_fro)) {
      os << std::setprecision(17) << s.norm_fro;
    } else {
      os << "null";  // JSON has no Infinity: a norm beyond the double range
    }
    os << ", \"bytes\": " << whole(bytes) << "}\n";
    return os.str();
  }
  os << "matrix      " << name << "\n"
     << "shape       " << n << " x " << m << "\n"
     << "nnz         " << nnz << "  (" << std::fixed << std::setprecision(2)
     << (n ? double(nnz) / double(n) : 0.0) << " per row, min " << s.row_nnz_min << ", max "
     << s.row_nnz_max << ")\n"
     << "dtype       " << r.dtype << ", indices " << index << "\n"
     << "symmetry    pattern " << (s.pattern_symmetric ? "yes" : "no") << ", values "
     << (s.symmetric ? "yes" : "no") << "\n";
  if (n == m) {
    os << "diagonal    " << s.zero_diagonals << " zero; dominant rows " << s.dominant_rows << " / "
       << n << " (strict " << s.strictly_dominant_rows << ")\n";
  }
  os << "norm        fro " << std::scientific << std::setprecision(4) << s.norm_fro << "\n"
     << "memory      " << std::fixed << std::setprecision(1) << bytes / 1e6 << " MB (CSR)\n";
  return os.str();
}

}  // namespace dsla::cli
