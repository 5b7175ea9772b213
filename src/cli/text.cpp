// CLI text escaping (see text.h).
#include "cli/text.h"

#include <cmath>
#include <cstdio>

#include "io/mtx_format.h"

namespace dsla::cli {

std::string shown(std::string_view s, bool keep_newlines) {
  return mtx::printable(s, keep_newlines);
}

std::string json_escape(std::string_view s) {
  std::string o;
  for (const char ch : shown(s, true)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      o += '\\';
      o += ch;
    } else if (c == '\n') {
      o += "\\n";
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else {
      o += ch;
    }
  }
  return o;
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace dsla::cli
