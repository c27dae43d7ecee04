#!/usr/bin/env bash
# scripts/run.sh — sets up, builds and runs sanawm's main job on a fresh machine (the README's first command):
# sanawm-generate on its embedded default (a tiny model with untrained weights, a built-in first frame and a
# camera preset) writing sanawm-video.y4m. Arguments are passed to sanawm-generate (e.g. --model DIR -i img.png).
# Idempotent. Environment: SANAWM_BUILD_DIR (default build/release), SANAWM_CUDA_ARCHS (default: the GPU present,
# else 90a).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/deps.sh
sanawm_install_deps
sanawm_find_nvcc

build="${SANAWM_BUILD_DIR:-build/release}"
launcher=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="$root"  # relative paths in the hash: clones and worktrees share cache hits
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
# With a GPU present, compile the CUDA code for it (the default, sm_90a, runs on Hopper only).
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && [[ -z "${SANAWM_CUDA_ARCHS:-}" ]]; then
  launcher+=(-DCMAKE_CUDA_ARCHITECTURES=native)
elif [[ -n "${SANAWM_CUDA_ARCHS:-}" ]]; then
  launcher+=(-DCMAKE_CUDA_ARCHITECTURES="$SANAWM_CUDA_ARCHS")
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSANAWM_BUILD_TESTS=OFF -DSANAWM_BUILD_BENCH=OFF \
  -DSANAWM_BUILD_EXAMPLES=ON "${launcher[@]}"
cmake --build "$build" -j "$(nproc)" --target sanawm-generate
if (($# == 0)); then set -- -o sanawm-video.y4m; fi
"$build/examples/generate/sanawm-generate" "$@"
