// dist::read_mtx with the knobs tests turn (src/dist/read_mtx.cpp): a small piece forces many
// streaming rounds, and `stream` reads a plain file the way a compressed one is read.
#pragma once

#include <dsla/dist.h>

#include <cstddef>
#include <string>

namespace dsla::dist::detail {

struct MtxReadOptions {
  size_t piece = size_t{1} << 18;  // entries rank 0 parses per streaming round
  bool stream = false;             // rank 0 streams even a plain coordinate file
};

DistMatrix read_mtx(const Comm& comm, const std::string& path, at::ScalarType dtype, MtxInfo* info,
                    const MtxReadOptions& opt);

}  // namespace dsla::dist::detail
