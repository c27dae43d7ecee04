// SPDX-License-Identifier: Apache-2.0
// sanawm/backend/cuda/cublas_check.cuh — sanawm::cublas_error and SANAWM_CUBLAS_CHECK for cuBLASLt calls.
// Separate from check.cuh because <cublasLt.h> adds ~0.6 s to every nvcc TU that includes it (measured with
// nvcc 13.0), and only the GEMM paths need it.
#pragma once

#if !defined(__CUDACC__)
#error "sanawm/backend/cuda/cublas_check.cuh: include from .cu files only (nvcc)"
#endif

#include <cublasLt.h>  // cublasStatus_t, cublasLtGetStatusName/String

#include <string>       // std::string
#include <string_view>  // std::string_view

#include "sanawm/backend/cuda/config.cuh"  // tier guard
#include "sanawm/core/error.hpp"           // sanawm::error, str_cat

namespace sanawm {

/// Thrown when a cuBLAS(Lt) call fails. `what()` reads
/// "[cublas] <statement> failed: <CUBLAS_STATUS_NAME>: <description> at <file>:<line>".
class cublas_error : public error {
 public:
  cublas_error(cublasStatus_t status, const std::string& message) : error(message), status_(status) {}
  cublasStatus_t status() const noexcept { return status_; }

 private:
  cublasStatus_t status_;
};

namespace cuda {

/// The message SANAWM_CUBLAS_CHECK throws for `status` returned by `statement` at file:line.
inline std::string cublas_check_message(cublasStatus_t status, std::string_view statement,
                                        std::string_view file, int line) {
  return str_cat("[cublas] ", statement, " failed: ", cublasLtGetStatusName(status), ": ",
                 cublasLtGetStatusString(status), " at ", file, ":", line);
}

[[noreturn]] inline void throw_cublas_error(cublasStatus_t status, std::string_view statement,
                                            std::string_view file, int line) {
  throw cublas_error(status, cublas_check_message(status, statement, file, line));
}

}  // namespace cuda
}  // namespace sanawm

/// Evaluates `expr` (a cublasStatus_t) once; on failure throws sanawm::cublas_error naming the statement, the
/// status and the call site. Host code only.
#define SANAWM_CUBLAS_CHECK(expr)                                                                 \
  do {                                                                                            \
    const cublasStatus_t sanawm_cublas_check_status_ = (expr);                                    \
    if (sanawm_cublas_check_status_ != CUBLAS_STATUS_SUCCESS) [[unlikely]]                        \
      ::sanawm::cuda::throw_cublas_error(sanawm_cublas_check_status_, #expr, __FILE__, __LINE__); \
  } while (0)
