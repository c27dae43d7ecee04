// SPDX-License-Identifier: Apache-2.0
// sanawm/backend/cuda/device.cuh — is there a usable CUDA device (if not, why not); cached properties.
#pragma once

#if !defined(__CUDACC__)
#error "sanawm/backend/cuda/device.cuh: include from .cu files only (nvcc)"
#endif

#include <cuda_runtime_api.h>  // cudaGetDeviceCount, cudaGetDeviceProperties, cudaDeviceGetAttribute

#include <cstddef>  // std::size_t
#include <memory>   // std::unique_ptr
#include <mutex>    // std::mutex, std::lock_guard
#include <string>   // std::string
#include <vector>   // std::vector

#include "sanawm/backend/cuda/check.cuh"   // SANAWM_CUDA_CHECK
#include "sanawm/backend/cuda/config.cuh"  // tier guard
#include "sanawm/core/error.hpp"           // make_error, str_cat

namespace sanawm {

namespace cuda {

/// The outcome of the one cudaGetDeviceCount call a process makes through sanawm.
struct device_probe {
  int count = 0;                    // usable devices; 0 whenever `error` is set
  cudaError_t error = cudaSuccess;  // why the count could not be read, if it could not
};

/// Probes once per process (thread-safe) and caches the answer: device presence cannot change under a running
/// CUDA runtime, and the probe initialises the runtime, which is too slow to repeat per test.
inline const device_probe& probe_devices() noexcept {
  static const device_probe probe = [] {
    device_probe p;
    int n = 0;
    p.error = cudaGetDeviceCount(&n);
    if (p.error != cudaSuccess) {
      // "no driver", "insufficient driver", "no device", "devices unavailable": all mean "nothing to run on".
      // The failed call also set the runtime's last error; clear it so that it is not mistaken later for a
      // failed kernel launch (a missing driver stays sticky whatever we do, and nothing runs then anyway).
      (void)cudaGetLastError();
      p.count = 0;
    } else {
      p.count = n;
    }
    return p;
  }();
  return probe;
}

}  // namespace cuda

/// Number of CUDA devices this process can use; 0 when the probe failed for any reason. Never throws.
inline int cuda_device_count() noexcept {
  return cuda::probe_devices().count;
}

/// True when at least one CUDA device is usable. Every error from cudaGetDeviceCount (no driver, a driver
/// older than the runtime, no device, CUDA_VISIBLE_DEVICES hiding all devices) counts as "no device", so
/// GPU-less machines skip GPU work instead of failing. Cached; never throws.
inline bool has_cuda_device() noexcept {
  return cuda_device_count() > 0;
}

/// Why has_cuda_device() is false, for skip messages and logs, e.g.
/// "no CUDA device: cudaGetDeviceCount failed: cudaErrorInsufficientDriver: CUDA driver version is
/// insufficient for CUDA runtime version". Empty when a device is present.
inline std::string no_cuda_device_reason() {
  const cuda::device_probe& p = cuda::probe_devices();
  if (p.error != cudaSuccess)
    return str_cat("no CUDA device: cudaGetDeviceCount failed: ", cudaGetErrorName(p.error), ": ",
                   cudaGetErrorString(p.error));
  if (p.count == 0) return "no CUDA device: cudaGetDeviceCount found 0 devices";
  return {};
}

/// The properties of one device that sanawm's launchers, benchmarks and logs use.
struct cuda_device_info {
  int ordinal = -1;
  std::string name;                               // e.g. "NVIDIA H100 80GB HBM3"
  int cc_major = 0, cc_minor = 0;                 // compute capability
  int sm_version = 0;                             // 10 * major + minor: 90 for H100/H200, 100 for B200
  int multiprocessor_count = 0;                   // SMs
  int max_threads_per_multiprocessor = 0;         //
  int registers_per_multiprocessor = 0;           // 32-bit registers
  std::size_t global_memory_bytes = 0;            // total device memory
  std::size_t shared_memory_per_block_optin = 0;  // the most a kernel may opt in to (cudaFuncSetAttribute)
  std::size_t shared_memory_per_multiprocessor = 0;
  int l2_cache_bytes = 0;
  int sm_clock_khz = 0;           // peak SM clock
  int memory_clock_khz = 0;       // peak memory clock
  int memory_bus_width_bits = 0;  //

  /// Theoretical DRAM bandwidth in bytes/s from the reported memory clock and bus width (two transfers per
  /// clock), for roofline numbers in benchmarks.
  double peak_memory_bandwidth() const noexcept {
    return 2.0 * memory_clock_khz * 1e3 * (memory_bus_width_bits / 8.0);
  }

  /// One line for logs: "NVIDIA H100 80GB HBM3 (device 0, sm_90, 132 SMs, 81008 MiB, 1980 MHz)".
  std::string summary() const {
    return str_cat(name, " (device ", ordinal, ", sm_", sm_version, ", ", multiprocessor_count, " SMs, ",
                   global_memory_bytes >> 20, " MiB, ", sm_clock_khz / 1000, " MHz)");
  }
};

/// The device the calling host thread currently uses (cudaGetDevice). Throws cuda_error on failure.
inline int current_cuda_device() {
  int device = 0;
  SANAWM_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

namespace cuda {

inline cuda_device_info query_device_info(int device) {
  cudaDeviceProp prop{};
  SANAWM_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  cuda_device_info info;
  info.ordinal = device;
  info.name = prop.name;
  info.cc_major = prop.major;
  info.cc_minor = prop.minor;
  info.sm_version = prop.major * 10 + prop.minor;
  info.multiprocessor_count = prop.multiProcessorCount;
  info.max_threads_per_multiprocessor = prop.maxThreadsPerMultiProcessor;
  info.registers_per_multiprocessor = prop.regsPerMultiprocessor;
  info.global_memory_bytes = prop.totalGlobalMem;
  info.shared_memory_per_block_optin = prop.sharedMemPerBlockOptin;
  info.shared_memory_per_multiprocessor = prop.sharedMemPerMultiprocessor;
  info.l2_cache_bytes = prop.l2CacheSize;
  info.memory_bus_width_bits = prop.memoryBusWidth;
  // CUDA 13 removed the clock fields from cudaDeviceProp; the attributes remain.
  SANAWM_CUDA_CHECK(cudaDeviceGetAttribute(&info.sm_clock_khz, cudaDevAttrClockRate, device));
  SANAWM_CUDA_CHECK(cudaDeviceGetAttribute(&info.memory_clock_khz, cudaDevAttrMemoryClockRate, device));
  return info;
}

}  // namespace cuda

/// Properties of `device` (default: the current device), queried once per device and cached for the life of
/// the process (cudaGetDeviceProperties takes milliseconds; launchers ask often). Thread-safe; the reference
/// stays valid. Throws sanawm::error when there is no device or the ordinal is out of range, cuda_error when
/// the query fails.
inline const cuda_device_info& cuda_device_properties(int device = -1) {
  if (!has_cuda_device()) throw make_error("cuda_device_properties", no_cuda_device_reason());
  if (device < 0) device = current_cuda_device();
  const int count = cuda_device_count();
  if (device >= count)
    throw make_error("cuda_device_properties", "device ", device, " out of range [0, ", count, ")");
  static std::mutex m;
  static std::vector<std::unique_ptr<cuda_device_info>> cache(static_cast<std::size_t>(count));
  std::lock_guard lk(m);
  auto& slot = cache[static_cast<std::size_t>(device)];
  if (!slot) slot = std::make_unique<cuda_device_info>(cuda::query_device_info(device));
  return *slot;
}

}  // namespace sanawm
