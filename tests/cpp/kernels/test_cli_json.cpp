// The CLI's JSON numbers: finite values as numbers, NaN and infinities as null (JSON has none).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "cli/text.h"

TEST(CliJson, FiniteNumbersAreNumbers) {
  EXPECT_EQ(dsla::cli::json_number(1e-08), "1e-08");
  EXPECT_EQ(dsla::cli::json_number(0.0), "0");
  EXPECT_EQ(dsla::cli::json_number(-2.5), "-2.5");
  EXPECT_EQ(dsla::cli::json_number(123456789.0), "1.23457e+08");
}

TEST(CliJson, NonFiniteNumbersAreNull) {
  EXPECT_EQ(dsla::cli::json_number(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(dsla::cli::json_number(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(dsla::cli::json_number(-std::numeric_limits<double>::infinity()), "null");
}
