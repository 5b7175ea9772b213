// What must hold for any byte string given to the Matrix Market parser, shared by the libFuzzer
// target and the corpus replay test: it either throws MtxError or returns entries that are in
// range and consistent, agree with the header-only parser, and survive write -> read exactly.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "kernels/cpu/mtx_format.h"

namespace dsla::mtx::testing {

// "" when every property holds, else what failed. Exceptions other than MtxError propagate.
inline std::string check_properties(std::string_view text) {
  Coo a;
  try {
    a = parse(text, "<fuzz>");
  } catch (const MtxError& e) {
    if (std::string(e.what()).find("<fuzz>") == std::string::npos) return "error without file";
    return "";
  }
  const Header& h = a.header;
  const size_t n = a.nnz();
  if (a.col.size() != n) return "row/col length mismatch";
  if (a.re.size() != (h.field == Field::kPattern ? 0 : n)) return "values length mismatch";
  if (a.im.size() != (h.field == Field::kComplex ? n : 0)) return "imag length mismatch";
  for (size_t k = 0; k < n; ++k) {
    if (a.row[k] < 0 || a.row[k] >= h.rows || a.col[k] < 0 || a.col[k] >= h.cols) {
      return "index out of range";
    }
  }
  const Header hh = parse_header(text, "<fuzz>");
  if (hh.rows != h.rows || hh.cols != h.cols || hh.entries != h.entries) return "header differs";

  // Written back as general: the same entries, in the same order, bit for bit.
  WriteOptions opt;
  opt.field = h.field == Field::kInteger ? Field::kReal : h.field;
  const Coo b = parse(format(h.rows, h.cols, a.row, a.col, a.re, a.im, opt), "<rewritten>");
  if (b.row != a.row || b.col != a.col || b.re != a.re || b.im != a.im) return "round trip differs";

  // Written back with the file's own symmetry (when the entries are unique, as the writer
  // requires): the same matrix, as a set of entries.
  if (h.symmetry != Symmetry::kGeneral && n < 100000) {
    opt.symmetry = h.symmetry;
    std::string text2;
    try {
      text2 = format(h.rows, h.cols, a.row, a.col, a.re, a.im, opt);
    } catch (const std::invalid_argument& e) {
      if (std::string(e.what()).find("appears twice") == std::string::npos) {
        return std::string("symmetric rewrite refused: ") + e.what();
      }
      return "";
    }
    const Coo c = parse(text2, "<rewritten>");
    using E = std::tuple<int64_t, int64_t, double, double>;
    auto entries = [](const Coo& m) {
      std::vector<E> e;
      for (size_t k = 0; k < m.nnz(); ++k) {
        e.emplace_back(m.row[k], m.col[k], m.re.empty() ? 1.0 : m.re[k],
                       m.im.empty() ? 0.0 : m.im[k]);
      }
      std::sort(e.begin(), e.end());
      return e;
    };
    if (entries(c) != entries(a)) return "symmetric round trip differs";
  }
  return "";
}

}  // namespace dsla::mtx::testing
