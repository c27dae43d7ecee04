#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Compile-checks the NVFP4 CUDA test (and so nvfp4_cuda.cuh: the W4A16 MMA kernel and the cuBLASLt block-scaled
# FP4 path) for Blackwell targets that the build does not compile (CI compiles sm_90a only); the ctest
# cuda.nvfp4_blackwell_compile runs it in every CUDA build (so in CI). Warnings are errors.
# Flags mirror the CMake CUDA build (the toolkit include directory as -isystem, as CMake passes it).
# Usage: tests/nvfp4/compile_blackwell.sh [arch...]   (default: sm_100a sm_120a; needs nvcc ≥ 12.8, gtest headers)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
nvcc="${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
cuda_inc="$(cd "$(dirname "$nvcc")/../include" && pwd)"
archs=("$@")
[ ${#archs[@]} -eq 0 ] && archs=(sm_100a sm_120a)
for a in "${archs[@]}"; do
  n="${a#sm_}"
  echo "== ${a}"
  "$nvcc" -std=c++20 -O2 -DSANAWM_WITH_CUDA=1 -DSANAWM_GOLDEN_DIR=\"\" -DSANAWM_SOURCE_DIR=\"${root}\" \
    -I"${root}/include" -I"${root}/tests" -isystem="${cuda_inc}" --extended-lambda -Werror=all-warnings \
    -Xcompiler=-Wall,-Wextra,-Wshadow,-Werror \
    --generate-code=arch=compute_${n},code=[sm_${n}] -x cu -c "${root}/tests/nvfp4/nvfp4_cuda_test.cu" -o /dev/null
done
echo "ok: ${archs[*]}"
