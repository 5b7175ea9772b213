// libFuzzer target for the Matrix Market parser, its streaming reader, the writer and the CLI's
// `info` report (see mtx_properties.h for what is checked).
// Build: cmake -DDSLA_BUILD_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ ...; run:
//   build-fuzz/tests/fuzz/fuzz_mtx -dict=tests/fuzz/mtx.dict -max_total_time=60 <work dir> \
//       tests/fuzz/corpus
#include <cstdio>
#include <cstdlib>

#include "mtx_properties.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string failed = dsla::mtx::testing::check_properties(text);
  if (!failed.empty()) {
    std::fprintf(stderr, "property violated: %s\n", failed.c_str());
    std::abort();
  }
  return 0;
}
