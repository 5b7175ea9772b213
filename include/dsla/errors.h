// dsla's exceptions and argument checks.
//
// Bad input raises c10's typed errors (TORCH_CHECK_VALUE -> Python ValueError, TORCH_CHECK_TYPE
// -> TypeError, TORCH_CHECK_INDEX -> IndexError) with a message that names the argument and the
// fix. Numerical failure that the caller asked to be raised (raise_on_failure) is a SolveError;
// a direct factorization that meets a zero pivot raises SingularMatrixError with the pivot.
#pragma once

#include <c10/util/Exception.h>

#include <stdexcept>
#include <string>

namespace dsla {

class SolveError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class SingularMatrixError : public SolveError {
 public:
  SingularMatrixError(const std::string& what, int64_t pivot)
      : SolveError(what), pivot_(pivot) {}
  int64_t pivot() const { return pivot_; }

 private:
  int64_t pivot_;
};

}  // namespace dsla

// DSLA_CHECK_ARG(cond, "argument", "message ...") -> ValueError "dsla: argument 'x': message ..."
#define DSLA_CHECK_ARG(cond, arg, ...) \
  TORCH_CHECK_VALUE((cond), "dsla: argument '", arg, "': ", __VA_ARGS__)
#define DSLA_CHECK_TYPE(cond, arg, ...) \
  TORCH_CHECK_TYPE((cond), "dsla: argument '", arg, "': ", __VA_ARGS__)
#define DSLA_CHECK_INDEX(cond, arg, ...) \
  TORCH_CHECK_INDEX((cond), "dsla: argument '", arg, "': ", __VA_ARGS__)
