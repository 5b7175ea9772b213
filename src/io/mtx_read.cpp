// Matrix Market parser over an in-memory buffer or a stream of chunks.
//
// The text is walked line by line (memchr for the newline) and each line is tokenized in place
// with std::from_chars: no iostreams, no per-token allocation, and no token can run past its line,
// so a malformed or truncated file can only produce an MtxError with the line it is on. A stream
// is held one chunk at a time (plus the line that straddles two chunks), and the entry arrays
// grow with the entries read: what a file costs follows what it holds, not what it declares.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "io/mtx_format.h"
#include "io/mtx_split.h"

namespace dsla::mtx {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

// A token as it may appear in a message: quoted, at most 40 bytes, non-printable and non-UTF-8
// bytes escaped (fuzzed or binary input must still give a readable message).
std::string quote(std::string_view s) {
  const bool cut = s.size() > 40;
  return "'" + printable(s.substr(0, 40)) + (cut ? "..." : "") + "'";
}
std::string quote(const char* b, const char* e) {
  return quote(std::string_view(b, static_cast<size_t>(e - b)));
}

// Bytes asked of a ByteSource at first; the buffer doubles up to kChunk as reading goes on, so
// reading only the header of a compressed file inflates little.
constexpr size_t kFirstChunk = size_t{16} << 10;
constexpr size_t kChunk = size_t{1} << 20;
// Entries reserved at first when the source cannot bound what remains (a compressed stream).
constexpr size_t kFirstReserve = size_t{1} << 12;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string str(int64_t v) {
  return std::to_string(v);
}

class Parser {
 public:
  Parser(std::string_view text, const std::string& name)
      : begin_(text.data()), next_(text.data()), end_(text.data() + text.size()), name_(name) {}
  Parser(ByteSource& src, const std::string& name) : src_(&src), name_(name) {
    buf_.resize(kFirstChunk);
    next_ = end_ = buf_.data();
  }
  // The entry lines of a file whose header `h` was read elsewhere (a parallel read's range).
  Parser(ByteSource& src, const std::string& name, const Header& h) : Parser(src, name) {
    header_ = h;
    size_line_ = h.size_line;
  }

  Header head();
  void body(Coo& out);
  void lines(LineRange& r);
  // Hands the entries to `sink` every `chunk` of them (parse_chunks).
  void set_sink(size_t chunk, const std::function<void(Coo&)>* sink) {
    chunk_ = std::max<size_t>(chunk, 1);
    sink_ = sink;
  }

 private:
  [[noreturn]] void fail(const std::string& msg) const { throw MtxError(name_, line_, msg); }
  [[noreturn]] void fail_too_long(int64_t line) const {
    throw MtxError(name_, line,
                   "the line is longer than " + str(kMaxLineBytes >> 20) +
                       " MiB: this is not a Matrix Market file (its lines hold a few numbers)");
  }

  // Advances to the next line: [b_, e_) without its '\n'. False at the end of the text.
  bool next_line() {
    size_t scanned = 0;  // bytes after next_ known to hold no '\n'
    const void* nl = nullptr;
    for (;;) {
      const size_t pending = static_cast<size_t>(end_ - next_);
      nl = pending > scanned ? std::memchr(next_ + scanned, '\n', pending - scanned) : nullptr;
      if (nl || !src_ || eof_) break;
      scanned = pending;
      refill();
    }
    if (!nl && next_ >= end_) return false;
    b_ = next_;
    e_ = nl ? static_cast<const char*>(nl) : end_;
    next_ = nl ? e_ + 1 : end_;
    t_ = b_;
    ++line_;
    if (e_ - b_ > kMaxLineBytes) fail_too_long(line_);
    return true;
  }
  // Stream mode: keeps the unfinished line [next_, end_), moved to the front of the buffer, and
  // appends what the source gives next. The buffer doubles after each read up to kChunk (reading
  // only the header stays cheap), and beyond that only for a line that does not fit.
  void refill() {
    const size_t pending = static_cast<size_t>(end_ - next_);
    if (pending > static_cast<size_t>(kMaxLineBytes)) fail_too_long(line_ + 1);
    buf_pos_ += next_ - buf_.data();
    std::memmove(buf_.data(), next_, pending);
    if ((end_ != buf_.data() && buf_.size() < kChunk) || pending == buf_.size()) {
      buf_.resize(std::min(buf_.size() * 2, static_cast<size_t>(kMaxLineBytes) + 1));
    }
    size_t n = 0;
    try {
      n = src_->read(buf_.data() + pending, buf_.size() - pending);
    } catch (const MtxError& e) {
      // The source knows the file but not the line: say where reading stopped.
      if (e.line() != 0) throw;
      throw MtxError(name_, line_ + 1, e.message());
    }
    eof_ = n == 0;
    next_ = buf_.data();
    end_ = next_ + pending + n;
  }
  // Offset of `p` (a pointer into the text) from the start of the text.
  int64_t offset_of(const char* p) const {
    return src_ ? buf_pos_ + (p - buf_.data()) : p - begin_;
  }
  // An upper bound on the bytes not parsed yet, or -1 when the source cannot tell.
  int64_t remaining_hint() const {
    const int64_t here = end_ - next_;
    if (!src_) return here;
    const int64_t rest = src_->remaining_hint();
    return rest < 0 ? -1 : here + rest;
  }
  // Entry storage: at first what the declared count allows, bounded by what the rest of the file
  // could hold at `min_line` bytes a line when that is known; then doubling, never past `limit_`
  // (the declared count, or twice it with mirrors). A size line that lies costs what was read.
  void start_storage(Coo& out, int64_t min_line);
  void make_room(Coo& out, size_t more);
  // Next line that is neither blank nor a comment, with t_ on its first token.
  bool next_data_line() {
    while (next_line()) {
      skip_space();
      if (t_ != e_ && *t_ != '%') return true;
    }
    return false;
  }
  void skip_space() {
    while (t_ < e_ && is_space(*t_)) ++t_;
  }
  const char* token_end() const {
    const char* s = t_;
    while (s < e_ && !is_space(*s)) ++s;
    return s;
  }

  int64_t parse_int(const char* what);
  double parse_real(const char* what);
  double parse_value(const char* what) {
    return header_.field == Field::kInteger ? static_cast<double>(parse_int(what))
                                            : parse_real(what);
  }
  int64_t parse_index(const char* what, int64_t count);
  void expect_line_end(const char* layout);
  const char* entry_layout() const;
  void parse_banner();
  struct Entry {
    int64_t i, j;
    double re, im;
  };
  // One entry line of a coordinate file, t_ on its first token: in-range indices, the values
  // the field asks for, nothing after them, and the symmetry's rule for a diagonal entry.
  Entry coordinate_entry();
  void coordinate_body(Coo& out);
  void array_body(Coo& out);
  void push(Coo& out, int64_t i, int64_t j, double re, double im) const;
  // make_room + push, then the piece to the sink when it is full.
  void add(Coo& out, const Entry& e);
  void check_diagonal(double re, double im);

  ByteSource* src_ = nullptr;    // null: the whole text is [next_, end_) from the start
  std::string buf_;              // stream mode: the chunk being parsed
  int64_t buf_pos_ = 0;          // stream mode: offset of buf_[0] in the source's bytes
  const char* begin_ = nullptr;  // memory mode: the start of the text
  bool eof_ = false;
  size_t chunk_ = 0;  // with sink_: entries handed over at a time
  const std::function<void(Coo&)>* sink_ = nullptr;
  size_t limit_ = 0;         // most entries the declared count allows (mirrors included)
  const char* next_;         // start of the line after the current one
  const char* end_;          // end of the text (memory) or of the bytes read so far (stream)
  const char* b_ = nullptr;  // current line
  const char* e_ = nullptr;
  const char* t_ = nullptr;  // cursor in the current line
  int64_t line_ = 0;
  int64_t size_line_ = 0;
  const std::string& name_;
  Header header_;
};

int64_t Parser::parse_int(const char* what) {
  skip_space();
  if (t_ == e_) fail(std::string("expected ") + what + ", found the end of the line");
  const char* te = token_end();
  const char* s = t_;
  if (*s == '+' && s + 1 < te && s[1] != '-') ++s;  // from_chars rejects a leading '+'
  int64_t v = 0;
  const auto [q, ec] = std::from_chars(s, te, v);
  if (ec == std::errc::result_out_of_range) {
    fail(std::string(what) + " " + quote(t_, te) + " does not fit in a 64-bit integer");
  }
  if (ec != std::errc() || q != te) {
    fail(std::string("expected ") + what + " (an integer), got " + quote(t_, te));
  }
  t_ = te;
  return v;
}

double Parser::parse_real(const char* what) {
  skip_space();
  if (t_ == e_) fail(std::string("expected ") + what + ", found the end of the line");
  const char* te = token_end();
  const char* s = t_;
  if (*s == '+' && s + 1 < te && s[1] != '-') ++s;
  double v = 0;
  const auto [q, ec] = std::from_chars(s, te, v, std::chars_format::general);
  if (ec == std::errc::result_out_of_range && q == te) {
    // Overflow or underflow: strtod tells which. Underflow (a denormal or zero) is a fine value.
    const std::string tok(s, te);
    v = std::strtod(tok.c_str(), nullptr);
  } else if (ec != std::errc() || q != te) {
    fail(std::string("expected ") + what + " (a number), got " + quote(t_, te));
  }
  if (!std::isfinite(v)) {
    fail(std::string(what) + " " + quote(t_, te) +
         " is not finite: NaN and infinite values are not accepted (they would poison every "
         "solve); fix or remove the entry");
  }
  t_ = te;
  return v;
}

int64_t Parser::parse_index(const char* what, int64_t count) {
  const int64_t v = parse_int(what);
  if (v < 1 || v > count) {
    fail(std::string(what) + " " + str(v) + " is out of range: the size line (line " +
         str(size_line_) + ") allows 1 to " + str(count) +
         (v == 0 ? " (Matrix Market indices are 1-based)" : ""));
  }
  return v - 1;
}

const char* Parser::entry_layout() const {
  const bool coo = header_.format == Format::kCoordinate;
  switch (header_.field) {
    case Field::kPattern:
      return "'row col'";
    case Field::kComplex:
      return coo ? "'row col real imag'" : "'real imag'";
    default:
      return coo ? "'row col value'" : "'value'";
  }
}

void Parser::expect_line_end(const char* layout) {
  skip_space();
  if (t_ != e_) {
    fail("unexpected " + quote(t_, token_end()) + " at the end of the line: expected " + layout);
  }
}

void Parser::parse_banner() {
  const char* s = b_;
  if (e_ - s >= 3 && std::memcmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3;  // UTF-8 byte order mark
  std::vector<std::string_view> tok;
  while (s < e_ && tok.size() < 6) {
    while (s < e_ && is_space(*s)) ++s;
    const char* b = s;
    while (s < e_ && !is_space(*s)) ++s;
    if (s > b) tok.emplace_back(b, static_cast<size_t>(s - b));
  }
  const char* example = "'%%MatrixMarket matrix coordinate real general'";
  if (tok.empty() || lower(tok[0]) != "%%matrixmarket") {
    fail(std::string("expected the banner ") + example + " on the first line, got " +
         quote(b_, e_));
  }
  if (tok.size() != 5) {
    fail(std::string("the banner needs 4 words after %%MatrixMarket (object format field "
                     "symmetry), e.g. ") +
         example + "; got " + quote(b_, e_));
  }
  const std::string object = lower(tok[1]), format = lower(tok[2]), field = lower(tok[3]),
                    sym = lower(tok[4]);
  if (object != "matrix") {
    fail("unsupported object " + quote(object) + ": only 'matrix' files can be read");
  }
  Header& h = header_;
  if (format == "coordinate") {
    h.format = Format::kCoordinate;
  } else if (format == "array") {
    h.format = Format::kArray;
  } else {
    fail("unknown format " + quote(format) + " in the banner: expected 'coordinate' or 'array'");
  }
  if (field == "real") {
    h.field = Field::kReal;
  } else if (field == "integer") {
    h.field = Field::kInteger;
  } else if (field == "complex") {
    h.field = Field::kComplex;
  } else if (field == "pattern") {
    h.field = Field::kPattern;
  } else {
    fail("unknown field " + quote(field) +
         " in the banner: expected 'real', 'integer', 'complex' or 'pattern'");
  }
  if (sym == "general") {
    h.symmetry = Symmetry::kGeneral;
  } else if (sym == "symmetric") {
    h.symmetry = Symmetry::kSymmetric;
  } else if (sym == "skew-symmetric") {
    h.symmetry = Symmetry::kSkewSymmetric;
  } else if (sym == "hermitian") {
    h.symmetry = Symmetry::kHermitian;
  } else {
    fail("unknown symmetry " + quote(sym) +
         " in the banner: expected 'general', 'symmetric', 'skew-symmetric' or 'hermitian'");
  }
  if (h.field == Field::kPattern && h.format == Format::kArray) {
    fail("'array pattern' is not a valid combination: an array file stores every value");
  }
  if (h.field == Field::kPattern && h.symmetry != Symmetry::kGeneral &&
      h.symmetry != Symmetry::kSymmetric) {
    fail("'pattern " + sym + "' is not a valid combination: a pattern has no values to " +
         (h.symmetry == Symmetry::kHermitian ? "conjugate" : "negate") +
         " (use 'general' or 'symmetric')");
  }
  if (h.symmetry == Symmetry::kHermitian && h.field != Field::kComplex) {
    fail("'" + field +
         " hermitian' is not a valid combination: hermitian needs the complex field "
         "(a real Hermitian matrix is 'symmetric')");
  }
}

Header Parser::head() {
  if (!next_line()) {
    throw MtxError(name_, 0,
                   "the file is empty: expected the banner '%%MatrixMarket matrix coordinate real "
                   "general' and a size line");
  }
  parse_banner();
  Header& h = header_;
  const bool coo = h.format == Format::kCoordinate;
  const char* size_layout = coo ? "the size line 'rows cols entries'" : "the size line 'rows cols'";
  if (!next_data_line()) {
    fail(std::string("the file ends here: expected ") + size_layout + " after the banner");
  }
  size_line_ = line_;
  h.size_line = line_;
  h.rows = parse_int("the row count");
  h.cols = parse_int("the column count");
  if (coo) h.entries = parse_int("the entry count");
  expect_line_end(size_layout);
  h.body_offset = offset_of(next_);
  if (h.rows < 0 || h.cols < 0 || h.entries < 0) {
    fail("negative number on the size line: expected " + std::string(size_layout) +
         " with counts >= 0");
  }
  if (h.symmetry != Symmetry::kGeneral && h.rows != h.cols) {
    fail(std::string("a ") + to_string(h.symmetry) +
         " matrix must be square, but the size line "
         "says " +
         str(h.rows) + " x " + str(h.cols));
  }
  if (!coo) {
    // Values stored: the whole matrix, the lower triangle, or the strict lower triangle.
    const int64_t n = h.rows;
    bool overflow = false;
    if (h.symmetry == Symmetry::kGeneral) {
      overflow = __builtin_mul_overflow(h.rows, h.cols, &h.entries);
    } else if (h.symmetry == Symmetry::kSkewSymmetric) {
      overflow = __builtin_mul_overflow(n, n > 0 ? n - 1 : 0, &h.entries);
      h.entries /= 2;
    } else {
      overflow = __builtin_mul_overflow(n, n + 1, &h.entries);
      h.entries /= 2;
    }
    if (overflow) fail("the matrix is too large: its entry count does not fit in 64 bits");
  }
  return h;
}

void Parser::start_storage(Coo& out, int64_t min_line) {
  const Header& h = header_;
  const bool mirrors = h.symmetry != Symmetry::kGeneral;
  const int64_t most = std::numeric_limits<int64_t>::max() / 2;
  limit_ = static_cast<size_t>(std::min(h.entries, most) * (mirrors ? 2 : 1));
  // With a sink, storage holds one piece at a time.
  if (sink_) limit_ = std::min(limit_, chunk_ + 1);
  const int64_t rest = remaining_hint();
  size_t first = std::min(limit_, kFirstReserve);
  if (rest >= 0) {
    // Every entry takes a line of at least min_line bytes plus its newline (the last may lack it).
    const int64_t lines = rest / (min_line + 1) + 1;
    first = std::min(limit_, static_cast<size_t>(std::min(lines, most)) * (mirrors ? 2 : 1));
  }
  out.row.reserve(first);
  out.col.reserve(first);
  if (h.field != Field::kPattern) out.re.reserve(first);
  if (h.field == Field::kComplex) out.im.reserve(first);
}

void Parser::make_room(Coo& out, size_t more) {
  if (out.row.size() + more <= out.row.capacity()) return;
  const size_t cap =
      std::min(std::max({out.row.capacity() * 2, kFirstReserve, out.row.size() + more}), limit_);
  out.row.reserve(cap);
  out.col.reserve(cap);
  if (header_.field != Field::kPattern) out.re.reserve(cap);
  if (header_.field == Field::kComplex) out.im.reserve(cap);
}

void Parser::push(Coo& out, int64_t i, int64_t j, double re, double im) const {
  out.row.push_back(i);
  out.col.push_back(j);
  if (header_.field != Field::kPattern) out.re.push_back(re);
  if (header_.field == Field::kComplex) out.im.push_back(im);
  if (i == j) return;
  // Mirror of symmetric storage: (j, i) gets a, -a or conj(a).
  switch (header_.symmetry) {
    case Symmetry::kGeneral:
      return;
    case Symmetry::kSymmetric:
      break;
    case Symmetry::kSkewSymmetric:
      re = -re;
      im = -im;
      break;
    case Symmetry::kHermitian:
      im = -im;
      break;
  }
  out.row.push_back(j);
  out.col.push_back(i);
  if (header_.field != Field::kPattern) out.re.push_back(re);
  if (header_.field == Field::kComplex) out.im.push_back(im);
}

void Parser::add(Coo& out, const Entry& e) {
  make_room(out, header_.symmetry == Symmetry::kGeneral ? 1 : 2);
  push(out, e.i, e.j, e.re, e.im);
  if (sink_ && out.nnz() >= chunk_) {
    (*sink_)(out);
    out.row.clear();
    out.col.clear();
    out.re.clear();
    out.im.clear();
  }
}

void Parser::check_diagonal(double re, double im) {
  if (header_.symmetry == Symmetry::kSkewSymmetric && (re != 0 || im != 0)) {
    fail(
        "a skew-symmetric matrix has a zero diagonal, but this diagonal entry is not zero "
        "(declare the matrix 'general' if it is not skew-symmetric)");
  }
  if (header_.symmetry == Symmetry::kHermitian && im != 0) {
    fail("a Hermitian matrix has a real diagonal, but this diagonal entry has imaginary part " +
         std::to_string(im) + " (declare the matrix 'general' if it is not Hermitian)");
  }
}

Parser::Entry Parser::coordinate_entry() {
  const Header& h = header_;
  const bool cplx = h.field == Field::kComplex;
  Entry e{0, 0, 1, 0};
  e.i = parse_index("the row index", h.rows);
  e.j = parse_index("the column index", h.cols);
  if (h.field != Field::kPattern) e.re = parse_value(cplx ? "the real part" : "the value");
  if (cplx) e.im = parse_real("the imaginary part");
  expect_line_end(entry_layout());
  if (h.symmetry != Symmetry::kGeneral && e.i == e.j) check_diagonal(e.re, e.im);
  return e;
}

void Parser::coordinate_body(Coo& out) {
  const Header& h = header_;
  start_storage(out, 3);  // an entry line is at least "i j"
  // A symmetric file stores one triangle. Entries on both sides would be doubled by mirroring,
  // so the side of the first off-diagonal entry is remembered and the other side rejected.
  int side = 0;
  int64_t side_line = 0;
  for (int64_t k = 0; k < h.entries; ++k) {
    if (!next_data_line()) fail(truncated_message(k, h));
    const Entry e = coordinate_entry();
    if (h.symmetry != Symmetry::kGeneral && e.i != e.j) {
      const int s = e.i > e.j ? -1 : 1;
      if (side == 0) {
        side = s;
        side_line = line_;
      } else if (s != side) {
        fail(side_message(e.i, e.j, side_line, h.symmetry));
      }
    }
    add(out, e);
  }
  if (next_data_line()) fail(surplus_message(h));
}

void Parser::lines(LineRange& r) {
  const Header& h = header_;
  Coo& out = r.entries;
  out.header = h;
  start_storage(out, 3);
  bool failed = false;
  for (;;) {
    bool more = false;
    try {
      more = next_line();
    } catch (const MtxError& e) {  // a line too long, or the file unreadable: counts end here
      if (!failed) {
        r.error_line = e.line() > 0 ? e.line() : line_ + 1;
        r.error_data = r.data;
        r.error = e.message();
      }
      r.stopped = true;
      break;
    }
    if (!more) break;
    skip_space();
    if (t_ == e_ || *t_ == '%') {
      r.gaps.push_back(r.data);
      continue;
    }
    const int64_t k = r.data++;
    if (failed) continue;  // counted only: the first error is the one reported
    try {
      const Entry e = coordinate_entry();
      if (h.symmetry != Symmetry::kGeneral && e.i != e.j) {
        LineRange::Side& s = e.i < e.j ? r.above : r.below;
        if (s.line < 0) s = {line_, k, e.i, e.j};
      }
      add(out, e);
    } catch (const MtxError& e) {
      failed = true;
      r.error_line = line_;
      r.error_data = k;
      r.error = e.message();
    }
  }
  r.lines = line_;
}

void Parser::array_body(Coo& out) {
  const Header& h = header_;
  const bool cplx = h.field == Field::kComplex;
  start_storage(out, 1);  // a value line is at least one digit
  // Column-major; symmetric/hermitian columns start at the diagonal, skew-symmetric below it.
  auto start = [&](int64_t c) -> int64_t {
    switch (h.symmetry) {
      case Symmetry::kGeneral:
        return 0;
      case Symmetry::kSkewSymmetric:
        return c + 1;
      default:
        return c;
    }
  };
  // While values remain, the next column always has room for one (the count came from the
  // shape), so one step moves to it. No scan over columns: an empty matrix may declare 10^18.
  int64_t j = 0, i = start(0);
  for (int64_t k = 0; k < h.entries; ++k) {
    if (!next_data_line()) {
      fail("the file ends after " + str(k) + " of the " + str(h.entries) +
           " values an array of this size and symmetry stores (size line " + str(size_line_) +
           "): the file is truncated or the size line is wrong");
    }
    const double re = parse_value(cplx ? "the real part" : "the value");
    const double im = cplx ? parse_real("the imaginary part") : 0.0;
    expect_line_end(entry_layout());
    if (i == j) check_diagonal(re, im);
    add(out, {i, j, re, im});
    if (++i >= h.rows) i = start(++j);
  }
  if (next_data_line()) {
    fail("more values than the " + str(h.entries) + " an array of this size and symmetry " +
         "stores (size line " + str(size_line_) + "): expected only comments or blank lines here");
  }
}

void Parser::body(Coo& out) {
  out.header = header_;
  if (header_.format == Format::kCoordinate) {
    coordinate_body(out);
  } else {
    array_body(out);
  }
}

}  // namespace

Header parse_header(std::string_view text, const std::string& name) {
  Parser p(text, name);
  return p.head();
}

Header parse_header(ByteSource& src, const std::string& name) {
  Parser p(src, name);
  return p.head();
}

Coo parse(std::string_view text, const std::string& name) {
  Parser p(text, name);
  Coo out;
  p.head();
  p.body(out);
  return out;
}

Coo parse(ByteSource& src, const std::string& name) {
  Parser p(src, name);
  Coo out;
  p.head();
  p.body(out);
  return out;
}

void parse_chunks(ByteSource& src, const std::string& name, size_t chunk,
                  const std::function<void(Coo&)>& sink) {
  Parser p(src, name);
  p.set_sink(chunk, &sink);
  Coo out;
  p.head();
  p.body(out);
  if (out.nnz() > 0) sink(out);
}

LineRange parse_lines(ByteSource& src, const std::string& name, const Header& h) {
  if (h.format != Format::kCoordinate) {
    throw std::invalid_argument("mtx::parse_lines: argument 'h': the file is not coordinate");
  }
  Parser p(src, name, h);
  LineRange r;
  p.lines(r);
  return r;
}

std::string truncated_message(int64_t found, const Header& h) {
  return "the file ends after " + str(found) + " of the " + str(h.entries) +
         " entries declared on the size line (line " + str(h.size_line) +
         "): the file is truncated or the size line is wrong";
}

std::string surplus_message(const Header& h) {
  return "more entries than the " + str(h.entries) + " declared on the size line (line " +
         str(h.size_line) + "): expected only comments or blank lines here";
}

std::string side_message(int64_t i, int64_t j, int64_t side_line, Symmetry s) {
  const bool above = i < j;
  return "entry (" + str(i + 1) + ", " + str(j + 1) + ") is " + (above ? "above" : "below") +
         " the diagonal but line " + str(side_line) + " has one " + (above ? "below" : "above") +
         ": a " + to_string(s) + " file stores one triangle only (declare it 'general' to store " +
         "both)";
}

}  // namespace dsla::mtx
