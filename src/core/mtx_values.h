// The torch side of a parsed Matrix Market file, shared by dsla::read_mtx (one process,
// mtx_io.cpp) and dist::read_mtx (src/dist/read_mtx.cpp), so that both give one dtype, one value
// rule and one message for each problem.
#pragma once

#include <dsla/io.h>

#include <ATen/Tensor.h>

#include <string>

#include "io/mtx_format.h"

namespace dsla::mtx_values {

MtxInfo to_info(const mtx::Header& h);
// Refuses (ValueError naming 'dtype') what read_mtx cannot give: float32, float64, complex64
// and complex128 only.
void check_dtype(at::ScalarType dtype);
// With single precision asked for: the message about the first of `coo`'s values that float32
// cannot hold (it would become inf), in storage order; empty when there is none (or for double).
std::string float32_overflow(const mtx::Coo& coo, const std::string& path, at::ScalarType dtype);
// The dtype a file of `field` gives for `dtype`: complex files stay complex (complex64 when
// single precision was asked for), the others take `dtype`.
at::ScalarType value_dtype(mtx::Field field, at::ScalarType dtype);
// The entries' values in value_dtype(field, dtype): ones for a pattern file, re + i im for a
// complex one, else re. re, im: float64 [nnz] (ignored where the field has none).
at::Tensor values(mtx::Field field, const at::Tensor& re, const at::Tensor& im, int64_t nnz,
                  at::ScalarType dtype);

}  // namespace dsla::mtx_values
