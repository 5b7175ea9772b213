// dsla: Differentiable Sparse Linear Algebra. The one header a user includes.
#pragma once

#include <ATen/ATen.h>  // users of dsla.h get the tensor API with it
#include <dsla/config.h>
#include <dsla/det.h>
#include <dsla/dist.h>
#include <dsla/eigen.h>
#include <dsla/errors.h>
#include <dsla/generators.h>
#include <dsla/io.h>
#include <dsla/nonlinear.h>
#include <dsla/ops.h>
#include <dsla/pattern.h>
#include <dsla/solve.h>
#include <dsla/sparse_matrix.h>
#include <dsla/structure.h>
