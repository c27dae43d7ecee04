// SPDX-License-Identifier: Apache-2.0
// sanawm/config.hpp — execution-space markers, compiler and feature detection shared by g++ and nvcc.
#pragma once

// SANAWM_HD marks functions that run on the host and, when compiled by nvcc, on the device too.
// Kernel bodies and dtype conversions are written once with it (see docs/design.md, "one body, two backends").
#if defined(__CUDACC__)
#define SANAWM_HD __host__ __device__
#define SANAWM_DEVICE __device__
#define SANAWM_HOST __host__
#define SANAWM_HAS_CUDA_COMPILER 1
#else
#define SANAWM_HD
#define SANAWM_DEVICE
#define SANAWM_HOST
#define SANAWM_HAS_CUDA_COMPILER 0
#endif

// True only in the device pass of nvcc; host code and g++ see 0.
#if defined(__CUDA_ARCH__)
#define SANAWM_DEVICE_PASS 1
#else
#define SANAWM_DEVICE_PASS 0
#endif

#if defined(__CUDACC__)
#define SANAWM_FORCEINLINE __forceinline__
#elif defined(__GNUC__) || defined(__clang__)
#define SANAWM_FORCEINLINE inline __attribute__((always_inline))
#else
#define SANAWM_FORCEINLINE inline
#endif

#define SANAWM_RESTRICT __restrict__

// A function compiled once and called as is: never inlined and (GCC) never cloned or specialised for its callers'
// constant arguments. See cpu::detail::run_range for why.
#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define SANAWM_NOIPA __attribute__((noipa))
#elif defined(__GNUC__) || defined(__clang__)
#define SANAWM_NOIPA __attribute__((noinline))
#else
#define SANAWM_NOIPA
#endif

// Loop-unroll hint. nvcc's device pass and clang take `#pragma unroll`; GCC takes `#pragma GCC unroll`, which
// nvcc's front end rejects, and g++ warns on `#pragma unroll` — so nvcc's host pass gets no hint at all.
#define SANAWM_PRAGMA(x) _Pragma(#x)
#if defined(__CUDA_ARCH__) || (defined(__clang__) && !defined(__CUDACC__))
#define SANAWM_UNROLL SANAWM_PRAGMA(unroll)
#define SANAWM_UNROLL_N(n) SANAWM_PRAGMA(unroll n)
#elif defined(__GNUC__) && !defined(__CUDACC__)
#define SANAWM_UNROLL SANAWM_PRAGMA(GCC unroll 16)
#define SANAWM_UNROLL_N(n) SANAWM_PRAGMA(GCC unroll n)
#else
#define SANAWM_UNROLL
#define SANAWM_UNROLL_N(n)
#endif

// Whether the CUDA backend target (sanawm::cuda) is linked into this translation unit's build.
#if !defined(SANAWM_WITH_CUDA)
#define SANAWM_WITH_CUDA 0
#endif
