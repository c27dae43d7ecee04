#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# gemm_vs_openblas.sh — installs Debian's OpenBLAS (pthreads variant) if missing, builds gemm_vs_openblas.cpp
# against it and sanawm's headers, and prints one table: OpenBLAS sgemm vs sanawm fp32/bf16 GEMM at SANA-WM
# shapes, 1 thread and all threads, with this machine's measured per-core peak.
# Usage: bench/peers/gemm_vs_openblas.sh [repetitions (default 3)]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${TMPDIR:-/tmp}/sanawm-gemm-vs-openblas"
mkdir -p "$out"

if [ ! -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so ] ||
   [ ! -e /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq libopenblas-dev libopenblas0-pthread >/dev/null
fi

# Link the pthreads build explicitly (not whatever libblas.so the alternatives system points at).
blas_dir=/usr/lib/x86_64-linux-gnu/openblas-pthread
inc_dir=/usr/include/x86_64-linux-gnu/openblas-pthread
g++ -std=c++20 -O2 -march=native -DNDEBUG -I"$root/include" -I"$inc_dir" "$here/gemm_vs_openblas.cpp" \
  -o "$out/gemm_vs_openblas" -L"$blas_dir" -Wl,-rpath,"$blas_dir" -lopenblas -lpthread

# OpenBLAS picks its kernels from CPUID when it is loaded, and how a given version classifies a given CPU varies
# (0.3.21 calls the Zen 4 build machine "Cooperlake"). On AVX-512 CPUs force SKYLAKEX, its AVX-512 sgemm kernels, so
# the comparison is always against OpenBLAS's best fp32 path. Only this command's environment is changed: preset
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE / thread-count variables are dropped here and nowhere else.
coretype_env=()
if grep -q avx512f /proc/cpuinfo; then coretype_env=(OPENBLAS_CORETYPE=SKYLAKEX); fi
exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u OPENBLAS_NUM_THREADS -u OMP_NUM_THREADS -u SANAWM_NUM_THREADS \
  "${coretype_env[@]}" "$out/gemm_vs_openblas" "$@"
