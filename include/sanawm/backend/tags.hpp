// SPDX-License-Identifier: Apache-2.0
// sanawm/backend/tags.hpp — backend tags. Each backend overloads parallel_for & co. on its tag, so no
// backend header includes another. Pass them as values: parallel_for(cpu_t{}, n, body).
#pragma once

#include <type_traits>  // std::is_same_v

namespace sanawm {

/// Run on the host thread pool (backend/cpu/parallel.hpp).
struct cpu_t {};
/// Run on the current CUDA device, on `stream` (a cudaStream_t; nullptr = the default stream), see
/// backend/cuda/launch.cuh. Kept as void* so this header needs no CUDA toolkit.
struct cuda_t {
  void* stream = nullptr;
};

template <class T>
concept backend = std::is_same_v<T, cpu_t> || std::is_same_v<T, cuda_t>;

}  // namespace sanawm
