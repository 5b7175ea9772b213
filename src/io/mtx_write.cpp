// Matrix Market writer: coordinate format, any field but array storage, and symmetric storage
// only after checking that the matrix really has that symmetry (the lower triangle alone must
// describe it exactly, or the file would silently hold another matrix).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

#include "io/mtx_format.h"

namespace dsla::mtx {
namespace {

[[noreturn]] void fail(const std::string& msg) {
  throw std::invalid_argument("Matrix Market writer: " + msg);
}

std::string at(int64_t i, int64_t j) {
  return "(" + std::to_string(i + 1) + ", " + std::to_string(j + 1) + ")";
}

struct Entries {
  const std::vector<int64_t>& row;
  const std::vector<int64_t>& col;
  const std::vector<double>& re;
  const std::vector<double>& im;
  bool has_re, has_im;
  double r(size_t k) const { return has_re ? re[k] : 1.0; }
  double i(size_t k) const { return has_im ? im[k] : 0.0; }
};

void check_entries(int64_t rows, int64_t cols, const Entries& e, Field field) {
  const size_t nnz = e.row.size();
  if (rows < 0 || cols < 0) fail("negative shape");
  if (e.col.size() != nnz) fail("row and col index arrays differ in length");
  if (e.has_re && e.re.size() != nnz) fail("the value array does not match the index arrays");
  if (e.has_im && e.im.size() != nnz) fail("the imaginary parts do not match the index arrays");
  for (size_t k = 0; k < nnz; ++k) {
    if (e.row[k] < 0 || e.row[k] >= rows || e.col[k] < 0 || e.col[k] >= cols) {
      fail("entry " + at(e.row[k], e.col[k]) + " is outside the " + std::to_string(rows) + " x " +
           std::to_string(cols) + " matrix");
    }
    if (!std::isfinite(e.r(k)) || !std::isfinite(e.i(k))) {
      fail("entry " + at(e.row[k], e.col[k]) +
           " is not finite: NaN and infinite values cannot be written");
    }
    if (field == Field::kInteger && (e.r(k) != std::trunc(e.r(k)) || std::fabs(e.r(k)) >= 0x1p63)) {
      fail("entry " + at(e.row[k], e.col[k]) + " is not an integer: write the 'real' field");
    }
  }
}

// Every off-diagonal (i, j) has its mirror (j, i) with the value the symmetry implies, and the
// diagonal obeys it (zero for skew-symmetric, real for Hermitian).
void check_symmetry(const Entries& e, Symmetry sym) {
  const size_t nnz = e.row.size();
  std::vector<size_t> order(nnz);
  std::iota(order.begin(), order.end(), size_t{0});
  auto less = [&](size_t a, size_t b) {
    return e.row[a] != e.row[b] ? e.row[a] < e.row[b] : e.col[a] < e.col[b];
  };
  std::sort(order.begin(), order.end(), less);
  for (size_t k = 1; k < nnz; ++k) {
    if (!less(order[k - 1], order[k])) {
      fail("entry " + at(e.row[order[k]], e.col[order[k]]) +
           " appears twice: sum duplicates before writing");
    }
  }
  const char* name = to_string(sym);
  const std::string fix = std::string(" (write it with symmetry 'general')");
  for (size_t k = 0; k < nnz; ++k) {
    const int64_t i = e.row[k], j = e.col[k];
    const double re = e.r(k), im = e.i(k);
    if (i == j) {
      if (sym == Symmetry::kSkewSymmetric && (re != 0 || im != 0)) {
        fail("the matrix is not skew-symmetric: diagonal entry " + at(i, j) + " is not zero" + fix);
      }
      if (sym == Symmetry::kHermitian && im != 0) {
        fail("the matrix is not Hermitian: diagonal entry " + at(i, j) + " is not real" + fix);
      }
      continue;
    }
    const auto it = std::partition_point(order.begin(), order.end(), [&](size_t a) {
      return e.row[a] != j ? e.row[a] < j : e.col[a] < i;
    });
    if (it == order.end() || e.row[*it] != j || e.col[*it] != i) {
      fail(std::string("the matrix is not ") + name + ": entry " + at(i, j) + " is stored but " +
           at(j, i) + " is not" + fix);
    }
    const double mre = e.r(*it), mim = e.i(*it);
    bool ok = true;
    switch (sym) {
      case Symmetry::kSymmetric:
        ok = mre == re && mim == im;
        break;
      case Symmetry::kSkewSymmetric:
        ok = mre == -re && mim == -im;
        break;
      case Symmetry::kHermitian:
        ok = mre == re && mim == -im;
        break;
      case Symmetry::kGeneral:
        break;
    }
    if (!ok) {
      fail(std::string("the matrix is not ") + name + ": entries " + at(i, j) + " and " + at(j, i) +
           " do not match" + fix);
    }
  }
}

void append_int(std::string& out, int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Shortest text that reads back as exactly the same double (std::to_chars' guarantee).
void append_real(std::string& out, double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace

std::string format(int64_t rows, int64_t cols, const std::vector<int64_t>& row,
                   const std::vector<int64_t>& col, const std::vector<double>& re,
                   const std::vector<double>& im, const WriteOptions& opt) {
  const Field field = opt.field;
  const Symmetry sym = opt.symmetry;
  const Entries e{row, col, re, im, field != Field::kPattern, field == Field::kComplex};
  check_entries(rows, cols, e, field);
  if (sym != Symmetry::kGeneral) {
    if (rows != cols) {
      fail(std::string("a ") + to_string(sym) + " matrix must be square, this one is " +
           std::to_string(rows) + " x " + std::to_string(cols));
    }
    if (field == Field::kPattern && sym != Symmetry::kSymmetric) {
      fail(std::string("a pattern cannot be written as ") + to_string(sym));
    }
    if (sym == Symmetry::kHermitian && field != Field::kComplex) {
      fail("hermitian needs the complex field (a real Hermitian matrix is 'symmetric')");
    }
    check_symmetry(e, sym);
  }
  const size_t nnz = row.size();
  size_t written = 0;
  for (size_t k = 0; k < nnz; ++k) written += (sym == Symmetry::kGeneral || row[k] >= col[k]);

  std::string out;
  out.reserve(128 + opt.comment.size() + written * (field == Field::kComplex ? 64 : 40));
  out += "%%MatrixMarket matrix coordinate ";
  out += to_string(field);
  out += ' ';
  out += to_string(sym);
  out += '\n';
  size_t pos = 0;
  while (!opt.comment.empty() && pos <= opt.comment.size()) {
    const size_t nl = std::min(opt.comment.find('\n', pos), opt.comment.size());
    out += "% ";
    out.append(opt.comment, pos, nl - pos);
    out += '\n';
    pos = nl + 1;
  }
  append_int(out, rows);
  out += ' ';
  append_int(out, cols);
  out += ' ';
  append_int(out, static_cast<int64_t>(written));
  out += '\n';
  for (size_t k = 0; k < nnz; ++k) {
    if (sym != Symmetry::kGeneral && row[k] < col[k]) continue;  // lower triangle only
    append_int(out, row[k] + 1);
    out += ' ';
    append_int(out, col[k] + 1);
    if (field == Field::kInteger) {
      out += ' ';
      append_int(out, static_cast<int64_t>(re[k]));
    } else if (field != Field::kPattern) {
      out += ' ';
      append_real(out, re[k]);
    }
    if (field == Field::kComplex) {
      out += ' ';
      append_real(out, im[k]);
    }
    out += '\n';
  }
  return out;
}

}  // namespace dsla::mtx
