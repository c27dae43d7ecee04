#!/usr/bin/env bash
# scripts/run.sh — sets up, builds and runs sanawm's main job on a fresh machine (the README's first command):
# sanawm-generate on its embedded default (a tiny model with untrained weights, a built-in first frame and a
# camera preset) writing sanawm-video.y4m. Arguments are passed to sanawm-generate (e.g. --model DIR -i img.png).
# Idempotent. Environment: SANAWM_BUILD_DIR (default build/release).
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
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSANAWM_BUILD_TESTS=OFF -DSANAWM_BUILD_BENCH=OFF \
  -DSANAWM_BUILD_EXAMPLES=ON "${launcher[@]}"
cmake --build "$build" -j "$(nproc)" --target sanawm-generate
if (($# == 0)); then set -- -o sanawm-video.y4m; fi
"$build/examples/generate/sanawm-generate" "$@"
