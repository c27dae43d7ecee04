#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# attention_vs_pytorch.sh — sanawm's CPU flash attention vs PyTorch's CPU scaled_dot_product_attention at SANA-WM's
# softmax-block shapes (B = 1, H = 20, D = 112, bidirectional, fp32). Reuses the venv of gdn_vs_pytorch.sh under
# build/peers/ (PyTorch CPU wheels + numpy from PyPI), builds attention_peer_driver, which writes q/k/v as .npy and
# times sanawm on them, then runs attention_vs_pytorch.py on the very same arrays: it checks agreement and prints
# wall-clock and CPU-time ratios (the CPU-time ratio is the meaningful one on a shared machine).
# Usage: bench/peers/attention_vs_pytorch.sh [N ...]   (default: 2640 9680)
# Environment: SANAWM_NUM_THREADS (default: all cores; PyTorch gets the same count), REPS (default 3), JOBS.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
peers="$root/build/peers"
venv="$peers/venv"
reps="${REPS:-3}"
threads="${SANAWM_NUM_THREADS:-$(nproc)}"
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(2640 9680)

source "$here/peer_env.sh"
peer_venv "$venv" torch numpy -- torch numpy
peer_build "$peers/cmake" attention_peer_driver

for N in "${sizes[@]}"; do
  data="$peers/attention_N$N"
  SANAWM_NUM_THREADS="$threads" "$peers/cmake/bench/attention/attention_peer_driver" "$data" "$N" "$reps"
  OMP_NUM_THREADS="$threads" "$venv/bin/python" "$here/attention_vs_pytorch.py" "$data" --threads "$threads" \
    --reps "$reps"
  rm -rf "$data"
done
