// dsla: Differentiable Sparse Linear Algebra. The one header a user includes.
#pragma once

#include <dsla/config.h>
#include <dsla/errors.h>
#include <dsla/generators.h>
#include <dsla/io.h>
#include <dsla/ops.h>
#include <dsla/pattern.h>
#include <dsla/sparse_matrix.h>
