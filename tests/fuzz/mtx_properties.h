// What must hold for any byte string given to the Matrix Market parser, shared by the libFuzzer
// target and the corpus replay test: it either throws MtxError (a printable message naming the
// file) or returns entries that are in range and consistent, agree with the header-only parser,
// survive write -> read exactly, come out the same when the text arrives in arbitrary chunks
// (the streaming reader), and give a `dsla info` report (the CLI's own code, cli/info_report.h)
// that agrees with a dense reference on small matrices and prints as valid UTF-8 and JSON.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "cli/info_report.h"
#include "io/mtx_format.h"

namespace dsla::mtx::testing {

// The text in chunks of 1 to 16 bytes chosen by a fixed generator, with or without a size hint:
// every line boundary meets a chunk boundary somewhere.
class ChunkedText : public ByteSource {
 public:
  ChunkedText(std::string_view text, uint32_t seed, bool hint)
      : text_(text), state_(seed | 1), hint_(hint) {}
  size_t read(char* dst, size_t n) override {
    state_ = state_ * 1664525u + 1013904223u;
    const size_t k = std::min({n, text_.size() - pos_, size_t{1} + (state_ >> 28)});
    std::copy(text_.data() + pos_, text_.data() + pos_ + k, dst);
    pos_ += k;
    return k;
  }
  int64_t remaining_hint() const override {
    return hint_ ? static_cast<int64_t>(text_.size() - pos_) : -1;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  uint32_t state_;
  bool hint_;
};

// True when `s` is what a message may hold: printable ASCII, '\n', or well-formed UTF-8.
inline bool is_printable(const std::string& s) {
  return printable(s, true) == s;
}

inline std::string check_info(const Coo& a, bool single);

// "" when every property holds, else what failed. Exceptions other than MtxError propagate.
inline std::string check_properties(std::string_view text) {
  Coo a;
  std::string error;
  try {
    a = parse(text, "<fuzz>");
  } catch (const MtxError& e) {
    error = e.what();
    if (error.find("<fuzz>") == std::string::npos) return "error without file";
    if (!is_printable(error)) return "error message not printable: " + printable(error);
  }
  // The same text in chunks (the path read_file takes): the same entries or the same error.
  for (const bool hint : {false, true}) {
    ChunkedText src(text, static_cast<uint32_t>(text.size()) * 2654435761u, hint);
    try {
      const Coo b = parse(src, "<fuzz>");
      if (!error.empty()) return "chunked parse accepted what parse refused: " + error;
      if (b.row != a.row || b.col != a.col || b.re != a.re || b.im != a.im ||
          b.header.rows != a.header.rows || b.header.cols != a.header.cols ||
          b.header.entries != a.header.entries || b.header.size_line != a.header.size_line) {
        return "chunked parse differs";
      }
    } catch (const MtxError& e) {
      if (e.what() != error) return "chunked parse error differs: " + printable(e.what());
    }
  }
  if (!error.empty()) return "";

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

  for (const bool single : {false, true}) {
    const std::string failed = check_info(a, single);
    if (!failed.empty()) return failed;
  }

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

// The dense reference of cli::info_report for matrices of at most 16 x 16: duplicates summed in
// input order in the value type, then every figure by definition.
template <class T>
std::string check_info_dense(const Coo& a, const cli::InfoReport& r) {
  const int64_t rows = a.header.rows, cols = a.header.cols;
  std::vector<std::complex<T>> d(static_cast<size_t>(rows * cols));
  std::vector<char> stored(d.size(), 0);
  for (size_t k = 0; k < a.nnz(); ++k) {
    const size_t p = static_cast<size_t>(a.row[k] * cols + a.col[k]);
    const T re = a.re.empty() ? T(1) : static_cast<T>(a.re[k]);
    const T im = a.im.empty() ? T(0) : static_cast<T>(a.im[k]);
    d[p] = {d[p].real() + re, d[p].imag() + im};
    stored[p] = 1;
  }
  const auto mag = [&](size_t p) {
    return std::hypot(static_cast<double>(d[p].real()), static_cast<double>(d[p].imag()));
  };
  const kernels::cpu::CooSummary& s = r.summary;
  int64_t nnz = 0, rmin = rows ? cols : 0, rmax = 0, dom = 0, strict = 0, zero = 0;
  double ssq = 0, scale = 0, worst = 0;
  bool psym = rows == cols;
  for (int64_t i = 0; i < rows; ++i) {
    int64_t count = 0;
    double diag = 0, off = 0;
    for (int64_t j = 0; j < cols; ++j) {
      const size_t p = static_cast<size_t>(i * cols + j);
      if (!stored[p]) continue;
      ++count;
      ssq += mag(p) * mag(p);
      scale = std::max(scale, mag(p));
      (i == j ? diag : off) += mag(p);
      if (rows == cols) {
        const size_t q = static_cast<size_t>(j * cols + i);
        psym = psym && stored[q];
        const T dr = d[p].real() - d[q].real(), di = d[p].imag() + d[q].imag();
        worst = std::max(worst, std::hypot(static_cast<double>(dr), static_cast<double>(di)));
      }
    }
    nnz += count;
    rmin = std::min(rmin, count);
    rmax = std::max(rmax, count);
    dom += diag >= off;
    strict += diag > off;
    zero += diag == 0;
  }
  const bool square = rows == cols;
  if (s.nnz != nnz || s.row_nnz_min != rmin || s.row_nnz_max != rmax) return "info: counts differ";
  if (s.pattern_symmetric != psym) return "info: pattern symmetry differs";
  if (s.symmetric != (square && worst <= cli::kInfoSymmetryRtol * scale)) {
    return "info: symmetry differs";
  }
  if (square &&
      (s.dominant_rows != dom || s.strictly_dominant_rows != strict || s.zero_diagonals != zero)) {
    return "info: diagonal figures differ";
  }
  const double fro = std::sqrt(ssq);
  if (std::isfinite(fro) && std::fabs(s.norm_fro - fro) > 1e-12 * fro) return "info: norm differs";
  return "";
}

// `dsla info` on the parsed file, as the CLI computes it.
inline std::string check_info(const Coo& a, bool single) {
  cli::InfoReport r;
  try {
    r = cli::info_report(a, single, "<fuzz>");
  } catch (const std::invalid_argument& e) {
    // Only a value beyond float32 is refused, and only when float32 is asked for.
    const std::string msg = e.what();
    if (!single || msg.find("float32") == std::string::npos) return "info refused: " + msg;
    if (!is_printable(msg)) return "info error not printable";
    return "";
  }
  const kernels::cpu::CooSummary& s = r.summary;
  const int64_t rows = a.header.rows, cols = a.header.cols;
  if (s.nnz < 0 || static_cast<size_t>(s.nnz) > a.nnz() || (a.nnz() > 0 && s.nnz == 0)) {
    return "info: nnz out of range";
  }
  if (s.row_nnz_min < 0 || s.row_nnz_min > s.row_nnz_max || s.row_nnz_max > cols ||
      s.row_nnz_max > s.nnz) {
    return "info: row counts out of range";
  }
  if (s.strictly_dominant_rows < 0 || s.strictly_dominant_rows > s.dominant_rows ||
      s.dominant_rows > rows || s.zero_diagonals < 0 || s.zero_diagonals > rows) {
    return "info: diagonal figures out of range";
  }
  if (!(s.norm_fro >= 0)) return "info: norm is negative or NaN";
  if (rows <= 16 && cols <= 16) {
    const std::string failed =
        single ? check_info_dense<float>(a, r) : check_info_dense<double>(a, r);
    if (!failed.empty()) return failed;
  }
  // What the CLI prints: any name, any figures, always printable text and one line of JSON.
  static const char kName[] = "dir/\xff\xfe\"quoted\"\n\x01name.mtx";
  const std::string name(kName, sizeof kName - 1);
  for (const bool json : {false, true}) {
    const std::string out = cli::format_info(r, name, json);
    if (!is_printable(out)) return "info output not printable";
    if (json && (out.find('\n') != out.size() - 1 || out.find(": nan") != std::string::npos ||
                 out.find("inf,") != std::string::npos)) {
      return "info JSON is not one line of finite numbers";
    }
  }
  return "";
}

}  // namespace dsla::mtx::testing
