// dist::read_mtx: a Matrix Market file read by every rank at once into contiguous row blocks.
//
// Plain coordinate files: the entry section's bytes are split evenly; each rank parses the lines
// that start in its share (io/mtx_split.h: the one-process parser's line rules), and every
// entry, mirror included, goes to the rank that owns its row in one all-to-all. Compressed and
// array files (a gzip stream cannot be entered in the middle; an array entry's position depends
// on every value before it): rank 0 parses with the one-process parser, a piece at a time, and
// each piece goes to its owners before the next is parsed, so rank 0 holds one piece, not the
// file. No rank holds anything of the file's global length but its own rows.
//
// Errors are the one-process reader's, with its line numbers, raised alike on every rank before
// any entry moves (read_mtx_errors.cpp finds the first one in file order from every rank's
// counts), so a bad line that only one rank reads stops every rank instead of hanging them.
#include "dist/read_mtx.h"

#include <dsla/errors.h>

#include <ATen/ATen.h>

#include <cstring>
#include <vector>

#include "core/mtx_values.h"
#include "dist/read_mtx_errors.h"
#include "io/mtx_split.h"

namespace dsla::dist {

namespace {

// Every rank throws ValueError(arg, message of the lowest rank whose `message` is not empty).
void raise_same(const Comm& comm, const std::string& message, const char* arg) {
  const int bad = comm.first_failure(message.empty());
  if (bad < 0) return;
  DSLA_CHECK_ARG(false, arg, comm.broadcast_message(message, bad));
}

// Rank 0 reads the header; every rank gets it (or rank 0's error).
mtx::FileInfo file_info(const Comm& comm, const std::string& path) {
  mtx::FileInfo fi;
  std::string err;
  if (comm.rank() == 0) {
    try {
      fi = mtx::read_file_info(path);
    } catch (const std::invalid_argument& e) {
      err = e.what();
    }
  }
  raise_same(comm, err, "path");
  const mtx::Header& h = fi.header;
  auto t =
      at::tensor(std::vector<int64_t>{static_cast<int64_t>(h.format), static_cast<int64_t>(h.field),
                                      static_cast<int64_t>(h.symmetry), h.rows, h.cols, h.entries,
                                      h.size_line, h.body_offset, fi.compressed, fi.size},
                 at::kLong);
  comm.broadcast_(t, 0);
  const auto a = t.accessor<int64_t, 1>();
  mtx::FileInfo out;
  out.header.format = static_cast<mtx::Format>(a[0]);
  out.header.field = static_cast<mtx::Field>(a[1]);
  out.header.symmetry = static_cast<mtx::Symmetry>(a[2]);
  out.header.rows = a[3];
  out.header.cols = a[4];
  out.header.entries = a[5];
  out.header.size_line = a[6];
  out.header.body_offset = a[7];
  out.compressed = a[8] != 0;
  out.size = a[9];
  return out;
}

// Values per entry on the wire: none (pattern), re, or re and im.
int64_t value_width(mtx::Field f) {
  return f == mtx::Field::kPattern ? 0 : f == mtx::Field::kComplex ? 2 : 1;
}

// Entries as one int64 tensor [nnz, 2 + width]: row, col, then the doubles' bits (one
// all-to-all moves an entry whole).
at::Tensor pack(const mtx::Coo& c, int64_t width) {
  const auto n = static_cast<int64_t>(c.nnz());
  auto t = at::empty({n, 2 + width}, at::kLong);
  int64_t* p = t.data_ptr<int64_t>();
  for (int64_t k = 0; k < n; ++k, p += 2 + width) {
    p[0] = c.row[k];
    p[1] = c.col[k];
    if (width >= 1) std::memcpy(p + 2, &c.re[k], sizeof(double));
    if (width == 2) std::memcpy(p + 3, &c.im[k], sizeof(double));
  }
  return t;
}

// Sends each packed entry to the owner of its row (`ends`: each rank's end row); returns what
// this rank received. Collective.
at::Tensor send_to_owners(const Comm& comm, const at::Tensor& packed, const at::Tensor& ends) {
  const int P = comm.size();
  std::vector<int64_t> counts(P, 0);
  if (packed.size(0) == 0) return comm.alltoallv(packed, counts);
  const auto rows = packed.select(1, 0).contiguous();
  const auto owner = at::searchsorted(ends, rows, /*out_int32=*/false, /*right=*/true);
  // Stable: each owner receives its entries in file order (duplicates sum as on one process).
  const auto order = std::get<1>(at::sort(owner, /*stable=*/true, 0, false));
  const auto per = at::bincount(owner, {}, P);
  const auto a = per.accessor<int64_t, 1>();
  for (int r = 0; r < P; ++r) counts[r] = a[r];
  return comm.alltoallv(packed.index_select(0, order), counts);
}

at::Tensor row_ends(int64_t n, int P) {
  auto ends = at::empty({P}, at::kLong);
  for (int r = 0; r < P; ++r) ends[r] = contiguous_range(n, r, P).second;
  return ends;
}

// The rank's rows from what it received (collective: from_local_coo).
DistMatrix build(const Comm& comm, const mtx::Header& h, const std::vector<at::Tensor>& got,
                 at::ScalarType dtype) {
  const int64_t width = value_width(h.field);
  const at::Tensor all = got.empty() ? at::empty({0, 2 + width}, at::kLong) : at::cat(got);
  const auto column = [&](int64_t c) { return all.select(1, c).contiguous(); };
  at::Tensor re, im;
  if (width >= 1) re = column(2).view(at::kDouble);
  if (width == 2) im = column(3).view(at::kDouble);
  const at::Tensor values = mtx_values::values(h.field, re, im, all.size(0), dtype);
  const auto [lo, hi] = contiguous_range(h.rows, comm.rank(), comm.size());
  return DistMatrix::from_local_coo(comm, column(0), column(1), values, {h.rows, h.cols},
                                    at::arange(lo, hi, at::kLong));
}

// Plain coordinate file: every rank parses its byte range.
DistMatrix read_ranges(const Comm& comm, const std::string& path, const mtx::FileInfo& fi,
                       at::ScalarType dtype) {
  const mtx::Header& h = fi.header;
  const auto [b, e] = contiguous_range(fi.size - h.body_offset, comm.rank(), comm.size());
  mtx::LineRange lines;
  std::string open_error;  // the file cannot be opened here (only rank 0 has opened it so far)
  try {
    lines = mtx::parse_file_range(path, h, h.body_offset + b, h.body_offset + e);
  } catch (const std::invalid_argument& err) {
    open_error = err.what();
  }
  raise_same(comm, open_error, "path");
  detail::raise_first_line_error(comm, path, h, lines);
  raise_same(comm, mtx_values::float32_overflow(lines.entries, path, dtype), "dtype");
  const at::Tensor packed = pack(lines.entries, value_width(h.field));
  lines.entries = mtx::Coo();  // the packed copy is what travels
  return build(comm, h, {send_to_owners(comm, packed, row_ends(h.rows, comm.size()))}, dtype);
}

// Compressed or array file: rank 0 parses and sends piece by piece; the others receive. Each
// round starts with rank 0's state: a piece follows, done, or failed (its message follows).
enum StreamState : int64_t { kPiece, kDone, kPathError, kDtypeError };

DistMatrix read_streamed(const Comm& comm, const std::string& path, const mtx::Header& h,
                         at::ScalarType dtype, size_t piece) {
  const at::Tensor ends = row_ends(h.rows, comm.size());
  const int64_t width = value_width(h.field);
  std::vector<at::Tensor> got;
  auto state = [&](int64_t s) {
    auto t = at::full({1}, s, at::kLong);
    comm.broadcast_(t, 0);
    return t.item<int64_t>();
  };
  int64_t s = kPiece;
  std::string error;
  if (comm.rank() == 0) {
    std::string overflow;  // reported after the parse: a malformed line later on comes first
    try {
      mtx::read_file_chunks(path, piece, [&](mtx::Coo& c) {
        if (overflow.empty()) overflow = mtx_values::float32_overflow(c, path, dtype);
        if (!overflow.empty()) return;  // parse on for errors, send nothing more
        state(kPiece);
        got.push_back(send_to_owners(comm, pack(c, width), ends));
      });
    } catch (const std::invalid_argument& e) {
      error = e.what();
    }
    s = !error.empty() ? kPathError : !overflow.empty() ? kDtypeError : kDone;
    if (s == kDtypeError) error = overflow;
    state(s);
  } else {
    while ((s = state(kPiece)) == kPiece) {
      got.push_back(send_to_owners(comm, at::empty({0, 2 + width}, at::kLong), ends));
    }
  }
  if (s != kDone) {
    DSLA_CHECK_ARG(false, s == kDtypeError ? "dtype" : "path", comm.broadcast_message(error, 0));
  }
  return build(comm, h, got, dtype);
}

}  // namespace

namespace detail {

DistMatrix read_mtx(const Comm& comm, const std::string& path, at::ScalarType dtype, MtxInfo* info,
                    const MtxReadOptions& opt) {
  DSLA_CHECK_ARG(comm.defined(), "comm", "is empty; build it from a process group");
  mtx_values::check_dtype(dtype);
  comm.check_same(static_cast<int64_t>(dtype), "dtype", "the dtype");
  const mtx::FileInfo fi = file_info(comm, path);
  const mtx::Header& h = fi.header;
  if (h.rows != h.cols) {
    DSLA_CHECK_ARG(false, "path",
                   mtx::MtxError(path, h.size_line,
                                 "a distributed matrix is square (its rows and columns share one "
                                 "distribution), but the size line says " +
                                     std::to_string(h.rows) + " x " + std::to_string(h.cols))
                       .what());
  }
  if (info) *info = mtx_values::to_info(h);
  const bool ranges =
      !opt.stream && !fi.compressed && fi.size >= 0 && h.format == mtx::Format::kCoordinate;
  return ranges ? read_ranges(comm, path, fi, dtype)
                : read_streamed(comm, path, h, dtype, opt.piece);
}

}  // namespace detail

DistMatrix read_mtx(const Comm& comm, const std::string& path, at::ScalarType dtype,
                    MtxInfo* info) {
  return detail::read_mtx(comm, path, dtype, info, {});
}

}  // namespace dsla::dist
