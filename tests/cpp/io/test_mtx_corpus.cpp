// Replays the fuzzing corpus (tests/fuzz/corpus: seeds and every input the fuzzer ever crashed
// on) through the parser and writer, so CI checks them without building libFuzzer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../../fuzz/mtx_properties.h"

namespace fs = std::filesystem;

TEST(MtxCorpus, EveryInputThrowsMtxErrorOrRoundTrips) {
  const fs::path corpus = fs::path(DSLA_SOURCE_DIR) / "tests" / "fuzz" / "corpus";
  ASSERT_TRUE(fs::is_directory(corpus)) << corpus;
  int inputs = 0;
  for (const auto& f : fs::directory_iterator(corpus)) {
    std::ifstream in(f.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string failed;
    EXPECT_NO_THROW(failed = dsla::mtx::testing::check_properties(ss.str())) << f.path();
    EXPECT_EQ(failed, "") << f.path();
    ++inputs;
  }
  EXPECT_GE(inputs, 12);
}
