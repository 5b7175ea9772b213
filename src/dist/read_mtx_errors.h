// The first error of a parallel Matrix Market read, as the one-process reader reports it
// (src/dist/read_mtx_errors.cpp).
#pragma once

#include <dsla/dist.h>

#include <string>

#include "io/mtx_split.h"

namespace dsla::dist::detail {

// Collective: every rank passes what it found in its lines (mtx::parse_file_range over a split
// of the entry section, in rank order). When the file has an error anywhere, every rank throws
// the same ValueError (argument 'path'), the one-process read_mtx's message for the first error
// in file order: a malformed line, an entry on the wrong side of the diagonal of symmetric
// storage, more entries than declared, or fewer.
void raise_first_line_error(const Comm& comm, const std::string& path, const mtx::Header& h,
                            const mtx::LineRange& mine);

}  // namespace dsla::dist::detail
