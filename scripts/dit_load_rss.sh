#!/usr/bin/env bash
# scripts/dit_load_rss.sh — peak RSS of loading the full-size 2.6B DiT (issue 7's memory target: <= 1.1x the
# weights' in-memory size). Writes a synthetic upstream-layout checkpoint (F32 by default, like the released
# 10 GB file), loads it into bf16 and fp32 compute weights in fresh processes, and deletes it.
#   bash scripts/dit_load_rss.sh [BUILD_DIR] [FILE_DTYPE f32|bf16]
set -euo pipefail
build="${1:-build/release}"
fdt="${2:-f32}"
bin="$build/bench/generate/dit_load_bench"
[[ -x "$bin" ]] || cmake --build "$build" --target dit_load_bench
file="$(mktemp -d)/sana_wm_2_6b_synthetic.safetensors"
trap 'rm -rf "$(dirname "$file")"' EXIT
"$bin" --write "$file" --file-dtype "$fdt"
"$bin" --load "$file" --dtype bf16
"$bin" --load "$file" --dtype f32
