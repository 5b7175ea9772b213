// Escaping for what the CLI prints: paths and messages may hold any bytes (a file name that is
// not UTF-8, a binary file's content), but what reaches a terminal or a JSON reader must be
// readable. Torch-free, so the fuzz target links it.
#pragma once

#include <string>
#include <string_view>

namespace dsla::cli {

// `s` for a terminal: bytes that are not printable ASCII or well-formed UTF-8 as \xNN
// (mtx::printable), newlines and tabs kept when `keep_newlines` (multi-line messages).
std::string shown(std::string_view s, bool keep_newlines = false);
// A JSON string body (without the quotes) for any bytes: shown(), then '"', '\' and control
// characters escaped, so the output is always valid UTF-8 and valid JSON.
std::string json_escape(std::string_view s);
// A JSON number: finite values with 6 significant digits, NaN and ±inf as null (JSON has no
// non-finite numbers, and "nan" would make the whole document unreadable).
std::string json_number(double v);

}  // namespace dsla::cli
