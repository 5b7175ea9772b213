// `dsla info`'s report, apart from loading: computed from COO arrays and formatted as text or
// JSON, with no torch. The CLI uses it for files (parsed, never built as a SparseMatrix) and for
// generated problems; the Matrix Market fuzzer runs it on every input it parses.
#pragma once

#include <cstdint>
#include <string>

#include "io/mtx_format.h"
#include "kernels/cpu/coo_summary.h"

namespace dsla::cli {

struct InfoReport {
  int64_t rows = 0, cols = 0;
  std::string dtype;     // torch's name of the value type: "Double", "Float", "ComplexDouble", ...
  int value_bytes = 8;   // size of one value
  bool index64 = false;  // int64 CSR indices (Pattern::index_dtype_for's rule)
  kernels::cpu::CooSummary summary;
};

// Values are symmetric when they differ from their mirror by at most this times the largest.
inline constexpr double kInfoSymmetryRtol = 1e-12;

// Pattern::index_dtype_for: int32 while rows, cols and the entry count stay below 2^31 - 1.
bool info_index64(int64_t rows, int64_t cols, int64_t entries);

// The report of a parsed file with the values read_mtx would give: float64 (complex128 for a
// complex file), or float32 (complex64) when `single`; then a value beyond the float32 range is
// refused, as read_mtx refuses it, with std::invalid_argument naming `name` and the entry.
InfoReport info_report(const mtx::Coo& coo, bool single, const std::string& name);

// The text `dsla info` prints (`json`: one line of JSON). `what` is the MATRIX argument as given:
// it is shown escaped (cli/text.h), so any bytes give valid UTF-8 and valid JSON.
std::string format_info(const InfoReport& r, const std::string& what, bool json);

}  // namespace dsla::cli
