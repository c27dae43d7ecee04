// SPDX-License-Identifier: Apache-2.0
// sanawm/backend/cuda/config.cuh — nvcc-only tier guard, target-architecture macros, kernel attributes.
#pragma once

#if !defined(__CUDACC__)
#error "sanawm/backend/cuda/config.cuh: include from .cu files only (nvcc)"
#endif

#include "sanawm/config.hpp"  // SANAWM_HD, SANAWM_DEVICE_PASS

// ---- target architecture ----------------------------------------------------------------------------------
// nvcc compiles a .cu once for the host and once per target architecture. The macros below describe the
// architecture of the *current device pass*; in the host pass they are all 0. So they may select code inside
// function bodies, but must never change declarations, class layouts or kernel signatures (the host pass and
// every device pass must agree on those).

/// __CUDA_ARCH__ of the current device pass (e.g. 900 for sm_90/sm_90a, 1000 for sm_100a), 0 in the host
/// pass.
#if defined(__CUDA_ARCH__)
#define SANAWM_CUDA_ARCH __CUDA_ARCH__
#else
#define SANAWM_CUDA_ARCH 0
#endif

// Generic (forward-compatible) features: 1 when the device pass targets at least that compute capability.
#define SANAWM_SM80 (SANAWM_CUDA_ARCH >= 800)    // Ampere: cp.async, bf16 mma.sync
#define SANAWM_SM89 (SANAWM_CUDA_ARCH >= 890)    // Ada: fp8 mma.sync
#define SANAWM_SM90 (SANAWM_CUDA_ARCH >= 900)    // Hopper: TMA, clusters, distributed shared memory
#define SANAWM_SM100 (SANAWM_CUDA_ARCH >= 1000)  // Blackwell (datacenter) generic features
#define SANAWM_SM120 (SANAWM_CUDA_ARCH >= 1200)  // Blackwell (consumer/workstation) generic features

// Architecture-specific features exist only when compiling for an `a` (or `f`, family) target, e.g.
// CMAKE_CUDA_ARCHITECTURES=90a. They do not carry forward to later architectures, hence separate macros.

/// sm_90a: wgmma, setmaxnreg.
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define SANAWM_SM90A 1
#else
#define SANAWM_SM90A 0
#endif

/// sm_100a/sm_103a/sm_110a and their `f` families: tcgen05 (UMMA, tensor memory), block-scaled NVFP4 MMA.
#if defined(__CUDA_ARCH_FEAT_SM100_ALL) || defined(__CUDA_ARCH_FEAT_SM103_ALL) ||       \
    defined(__CUDA_ARCH_FEAT_SM110_ALL) ||                                              \
    (defined(__CUDA_ARCH_FAMILY_SPECIFIC__) &&                                          \
     (__CUDA_ARCH_FAMILY_SPECIFIC__ == 1000 || __CUDA_ARCH_FAMILY_SPECIFIC__ == 1030 || \
      __CUDA_ARCH_FAMILY_SPECIFIC__ == 1100))
#define SANAWM_SM100_FAMILY 1
#else
#define SANAWM_SM100_FAMILY 0
#endif

/// sm_120a/sm_121a and the sm_120f family: block-scaled mma.sync (NVFP4/MXFP8) on consumer Blackwell.
#if defined(__CUDA_ARCH_FEAT_SM120_ALL) || defined(__CUDA_ARCH_FEAT_SM121_ALL) || \
    (defined(__CUDA_ARCH_FAMILY_SPECIFIC__) &&                                    \
     (__CUDA_ARCH_FAMILY_SPECIFIC__ == 1200 || __CUDA_ARCH_FAMILY_SPECIFIC__ == 1210))
#define SANAWM_SM120_FAMILY 1
#else
#define SANAWM_SM120_FAMILY 0
#endif

// ---- kernel attributes ------------------------------------------------------------------------------------
// Kernels defined in headers get hidden visibility (as CCCL's CCCL_DETAIL_KERNEL_ATTRIBUTES does): two shared
// objects that each instantiate the same kernel template then keep separate host stubs, each registered with
// its own fat binary, instead of one object's stub resolving to the other's unregistered kernel at run time.
#define SANAWM_VISIBILITY_HIDDEN __attribute__((__visibility__("hidden")))
/// Prefix for every `__global__` function template defined in a sanawm header. Put such definitions between
/// SANAWM_BEGIN_KERNELS and SANAWM_END_KERNELS.
#define SANAWM_KERNEL __global__ SANAWM_VISIBILITY_HIDDEN

// A kernel template instantiated with a type of internal linkage (a body in an anonymous namespace, an
// extended lambda) has internal linkage itself, and nvcc then warns that the visibility attribute does not
// apply
// (#1407) — true, and harmless: such a kernel cannot clash across shared objects anyway. The host compiler
// ignores the attribute silently. The suppression is scoped to the kernel definitions.
#define SANAWM_BEGIN_KERNELS _Pragma("nv_diagnostic push") _Pragma("nv_diag_suppress 1407")
#define SANAWM_END_KERNELS _Pragma("nv_diagnostic pop")
