// SPDX-License-Identifier: Apache-2.0
// sanawm/backend/cuda/check.cuh — sanawm::cuda_error and the CUDA runtime checks (SANAWM_CUDA_CHECK & co).
#pragma once

#if !defined(__CUDACC__)
#error "sanawm/backend/cuda/check.cuh: include from .cu files only (nvcc)"
#endif

#include <cuda_runtime_api.h>  // cudaError_t, cudaGetErrorName/String, cudaGetLastError

#include <string>       // std::string
#include <string_view>  // std::string_view

#include "sanawm/backend/cuda/config.cuh"  // tier guard
#include "sanawm/core/error.hpp"           // sanawm::error, str_cat

namespace sanawm {

/// Thrown when a CUDA runtime call fails. `what()` reads
/// "[cuda] <statement> failed: <cudaErrorName>: <description> at <file>:<line>"; `code()` is the error
/// itself.
class cuda_error : public error {
 public:
  cuda_error(cudaError_t code, const std::string& message) : error(message), code_(code) {}
  cudaError_t code() const noexcept { return code_; }

 private:
  cudaError_t code_;
};

namespace cuda {

/// The message SANAWM_CUDA_CHECK throws for `code` returned by `statement` at file:line.
inline std::string check_message(cudaError_t code, std::string_view statement, std::string_view file,
                                 int line) {
  return str_cat("[cuda] ", statement, " failed: ", cudaGetErrorName(code), ": ", cudaGetErrorString(code),
                 " at ", file, ":", line);
}

/// Throws cuda_error for `code` (precondition: code != cudaSuccess). Out of line of the macro so that each
/// check site stays a compare and a cold call.
[[noreturn]] inline void throw_cuda_error(cudaError_t code, std::string_view statement, std::string_view file,
                                          int line) {
  // A failed call also sets the runtime's "last error". Reset it, so a later SANAWM_CUDA_CHECK_LAUNCH does
  // not report this (already thrown) error as a failed launch. Sticky errors (a crashed context, a missing
  // driver) survive the reset by design.
  (void)cudaGetLastError();
  throw cuda_error(code, check_message(code, statement, file, line));
}

/// For destructors, which must not throw: drops a failure (typically cudaErrorCudartUnloading at process
/// exit, or a sticky error already reported elsewhere) and resets the last error for the same reason as
/// above.
inline void ignore_error(cudaError_t code) noexcept {
  if (code != cudaSuccess) (void)cudaGetLastError();
}

/// What SANAWM_CUDA_CHECK_LAUNCH does, with the launch named by `what` (e.g. "parallel_for kernel launch").
/// The debug synchronisation is a parameter rather than a macro test in here, so this inline function has one
/// definition whatever a TU defines. The macro also reaches header templates (parallel_for) through
/// SANAWM_CUDA_CHECK_LAUNCH, so define SANAWM_CUDA_DEBUG_SYNC for the whole program or not at all (like
/// NDEBUG).
inline void check_launch(std::string_view what, std::string_view file, int line, bool debug_sync) {
  if (const cudaError_t e = cudaPeekAtLastError(); e != cudaSuccess) [[unlikely]]
    throw_cuda_error(e, what, file, line);
  if (debug_sync) {
    if (const cudaError_t e = cudaDeviceSynchronize(); e != cudaSuccess) [[unlikely]]
      throw_cuda_error(e, str_cat(what, " (SANAWM_CUDA_DEBUG_SYNC: kernel execution)"), file, line);
  }
}

}  // namespace cuda
}  // namespace sanawm

/// Evaluates `expr` (a cudaError_t) once; on failure throws sanawm::cuda_error naming the statement, the
/// error and the call site. Host code only.
#define SANAWM_CUDA_CHECK(expr)                                                            \
  do {                                                                                     \
    const cudaError_t sanawm_cuda_check_err_ = (expr);                                     \
    if (sanawm_cuda_check_err_ != cudaSuccess) [[unlikely]]                                \
      ::sanawm::cuda::throw_cuda_error(sanawm_cuda_check_err_, #expr, __FILE__, __LINE__); \
  } while (0)

/// True in translation units compiled with SANAWM_CUDA_DEBUG_SYNC defined (see SANAWM_CUDA_CHECK_LAUNCH).
#if defined(SANAWM_CUDA_DEBUG_SYNC)
#define SANAWM_CUDA_DEBUG_SYNC_ENABLED true
#else
#define SANAWM_CUDA_DEBUG_SYNC_ENABLED false
#endif

/// After a kernel launch (`kernel<<<...>>>(...)`): throws if the launch itself failed (bad configuration, no
/// kernel image for this device, ...). With SANAWM_CUDA_DEBUG_SYNC defined it also waits for the device, so a
/// fault inside the kernel is reported here rather than at some later, unrelated call (CUB's DEBUG_SYNC).
/// Do not define SANAWM_CUDA_DEBUG_SYNC while capturing CUDA graphs (synchronisation is illegal there).
#define SANAWM_CUDA_CHECK_LAUNCH() \
  ::sanawm::cuda::check_launch("kernel launch", __FILE__, __LINE__, SANAWM_CUDA_DEBUG_SYNC_ENABLED)
