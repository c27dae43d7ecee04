#!/usr/bin/env bash
# scripts/test.sh — sets up, builds and runs every sanawm test on a fresh machine (the README's second command,
# and what CI runs through .ci/run). Idempotent. Steps:
#   1. install missing Debian packages;  2. configure + build (CUDA compiled when nvcc exists, one arch);
#   3. print the compile-time budget;    4. ctest (CUDA cases skip with a reason without a GPU);
#   5. an ASan+UBSan build of the CPU tests.
# Environment: SANAWM_BUILD_DIR (default build/test), SANAWM_CUDA_ARCHS (default 90a), SANAWM_SKIP_SANITIZERS=1,
# CI=true turns warnings into errors.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/deps.sh
sanawm_install_deps
sanawm_find_nvcc

build="${SANAWM_BUILD_DIR:-build/test}"
jobs="$(nproc)"
werror=OFF
if [[ "${CI:-}" == "true" || "${SANAWM_WERROR:-}" == "ON" ]]; then werror=ON; fi
launcher=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="$root"  # relative paths in the hash: clones and worktrees share cache hits
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi

start=$(date +%s)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSANAWM_WERROR="$werror" \
  -DCMAKE_CUDA_ARCHITECTURES="${SANAWM_CUDA_ARCHS:-90a}" "${launcher[@]}"
cmake --build "$build" -j "$jobs"
python3 scripts/build_times.py "$build"
# ctest -j runs several multi-threaded tests per core: pool threads should block at once rather than poll
# (SANAWM_SPIN_US, docs/design.md); ThreadPool.SpinBudgetFromEnvironment still tests the polling path.
export SANAWM_SPIN_US="${SANAWM_SPIN_US:-0}"
ctest --test-dir "$build" -j "$jobs" --output-on-failure --timeout 900

if [[ "${SANAWM_SKIP_SANITIZERS:-0}" != "1" ]]; then
  asan="${build}-asan"
  echo "sanawm: ASan+UBSan build of the CPU tests in $asan"
  # -O1: what the sanitizers recommend, and it compiles the template-heavy tests much faster than -O2.
  cmake -S . -B "$asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g -DNDEBUG" \
    -DSANAWM_WERROR="$werror" \
    -DSANAWM_ENABLE_CUDA=OFF -DSANAWM_SANITIZE=address,undefined -DSANAWM_BUILD_BENCH=OFF \
    -DSANAWM_BUILD_EXAMPLES=OFF -DSANAWM_HEADER_TESTS=OFF "${launcher[@]}"
  cmake --build "$asan" -j "$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$asan" -j "$jobs" --output-on-failure --timeout 900 -LE packaging
fi
echo "sanawm: all tests passed in $(( $(date +%s) - start )) s"
