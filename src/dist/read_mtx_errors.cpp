// The first error of a parallel Matrix Market read. Ranks hold consecutive runs of lines, so file
// order is rank order, then data-line order within a rank. One all-gather of a few counts per
// rank tells every rank the global line and data-line offsets of every range, and from them the
// first error: each candidate gets a key (global data-line index, rank of the kind at that
// index), the least key wins, and the rank that holds it writes the message (it alone knows the
// line's content and local numbering), which every rank then raises.
//
// Kinds at one data index, first to last: a line that ended a range's reading (too long,
// unreadable) before that data line, the surplus entry at index `entries` (the one-process reader
// stops there without parsing it), a malformed line or a side-of-the-diagonal conflict. A range
// after a stopped one has wrong offsets, but its keys are never below the stop's.
#include "dist/read_mtx_errors.h"

#include <dsla/errors.h>

#include <ATen/ATen.h>

#include <limits>
#include <tuple>
#include <vector>

namespace dsla::dist::detail {

namespace {

enum Field { kLines, kData, kErrLine, kErrData, kAboveLine, kAboveData, kBelowLine, kBelowData };
constexpr int kFields = 8;
enum Kind { kStop = -1, kSurplus = 0, kLine = 1 };

enum Source { kError, kSide, kExtra };

struct Candidate {
  int64_t data = std::numeric_limits<int64_t>::max();
  int kind = kLine;
  int rank = -1;  // -1: no error
  Source source = kError;
  bool operator<(const Candidate& o) const {
    return std::tie(data, kind) < std::tie(o.data, o.kind);
  }
};

}  // namespace

void raise_first_line_error(const Comm& comm, const std::string& path, const mtx::Header& h,
                            const mtx::LineRange& mine) {
  const int P = comm.size(), me = comm.rank();
  const auto all = comm.allgather(at::tensor(
      std::vector<int64_t>{mine.lines, mine.data, mine.error_line, mine.error_data, mine.above.line,
                           mine.above.data, mine.below.line, mine.below.data},
      at::kLong));
  const auto a = all.accessor<int64_t, 2>();
  std::vector<int64_t> line_off(P), data_off(P);
  int64_t lines = h.size_line, data = 0;
  for (int r = 0; r < P; ++r) {
    line_off[r] = lines;
    data_off[r] = data;
    lines += a[r][kLines];
    data += a[r][kData];
  }
  const int64_t declared = h.entries;
  Candidate best;
  auto consider = [&](int64_t d, int kind, int rank, Source source) {
    const Candidate c{d, kind, rank, source};
    if (c < best) best = c;
  };
  // Malformed lines and stops: the first of each rank (only the first rank's can win, but the
  // keys decide). A stop was recorded before its line was counted as data.
  for (int r = 0; r < P; ++r) {
    if (a[r][kErrLine] < 0) continue;
    const bool stop = a[r][kErrData] == a[r][kData];
    consider(data_off[r] + a[r][kErrData], stop ? kStop : kLine, r, kError);
  }
  // Symmetric storage: the side of the first off-diagonal entry is the file's; the first entry
  // on the other side is the conflict.
  auto first_side = [&](int line_field, int data_field, int& rank) {
    for (int r = 0; r < P; ++r) {
      if (a[r][line_field] >= 0) {
        rank = r;
        return data_off[r] + a[r][data_field];
      }
    }
    return int64_t{-1};
  };
  int above_rank = -1, below_rank = -1;
  const int64_t above = first_side(kAboveLine, kAboveData, above_rank);
  const int64_t below = first_side(kBelowLine, kBelowData, below_rank);
  const bool conflict = above >= 0 && below >= 0;
  if (conflict) {
    consider(std::max(above, below), kLine, above > below ? above_rank : below_rank, kSide);
  }
  // More entries than declared: the data line at index `declared` is the first surplus one.
  int surplus_rank = -1;
  for (int r = 0; r < P; ++r) {
    if (declared >= data_off[r] && declared < data_off[r] + a[r][kData]) surplus_rank = r;
  }
  if (surplus_rank >= 0) consider(declared, kSurplus, surplus_rank, kExtra);
  // Fewer: reported at the last line, after everything else.
  const bool truncated = best.rank < 0 && data < declared;
  if (best.rank < 0 && !truncated) return;

  const int holder = truncated ? 0 : best.rank;
  std::string what;
  if (truncated) {
    what = mtx::MtxError(path, lines, mtx::truncated_message(data, h)).what();
  } else if (me == holder) {
    const int64_t off = line_off[me];
    if (best.source == kExtra) {
      const int64_t line = off + mine.line_of(declared - data_off[me]);
      what = mtx::MtxError(path, line, mtx::surplus_message(h)).what();
    } else if (best.source == kSide) {
      // The conflicting entry is this rank's first on its side; the side was set elsewhere.
      const bool on_above = above > below;
      const mtx::LineRange::Side& s = on_above ? mine.above : mine.below;
      const int first_rank = on_above ? below_rank : above_rank;
      const int64_t first_line =
          line_off[first_rank] + a[first_rank][on_above ? kBelowLine : kAboveLine];
      what = mtx::MtxError(path, off + s.line, mtx::side_message(s.i, s.j, first_line, h.symmetry))
                 .what();
    } else {
      what = mtx::MtxError(path, off + mine.error_line, mine.error).what();
    }
  }
  DSLA_CHECK_ARG(false, "path", comm.broadcast_message(what, holder));
}

}  // namespace dsla::dist::detail
