#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# gdn_vs_pytorch.sh — sanawm's frame-wise GDN vs an eager PyTorch (CPU) implementation of the same computation at
# SANA-WM's production shapes (B = 1, H = 20, D = 112, S = 880, bidirectional). Installs PyTorch (CPU wheels from
# PyPI) and numpy into a venv under build/peers/, builds gdn_peer_driver, which writes the inputs as .npy and
# times sanawm on them, then runs gdn_vs_pytorch.py on the very same arrays: it checks the outputs agree and
# prints wall-clock and CPU-time ratios (the CPU-time ratio is the meaningful one on a shared machine).
# Usage: bench/peers/gdn_vs_pytorch.sh [T ...]   (default: 11 41 121; T = 121 needs ≈ 12 GB of free memory)
# Environment: SANAWM_NUM_THREADS (default: all cores; PyTorch gets the same count), REPS (default 3), JOBS.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
peers="$root/build/peers"
venv="$peers/venv"
reps="${REPS:-3}"
threads="${SANAWM_NUM_THREADS:-$(nproc)}"
frames=("$@")
[ ${#frames[@]} -eq 0 ] && frames=(11 41 121)

source "$here/peer_env.sh"
peer_venv "$venv" torch numpy -- torch numpy
peer_build "$peers/cmake" gdn_peer_driver

for T in "${frames[@]}"; do
  data="$peers/gdn_T$T"
  SANAWM_NUM_THREADS="$threads" "$peers/cmake/bench/gdn/gdn_peer_driver" "$data" "$T" "$reps"
  OMP_NUM_THREADS="$threads" "$venv/bin/python" "$here/gdn_vs_pytorch.py" "$data" --threads "$threads" --reps "$reps"
  rm -rf "$data"  # ≈ 0.4 GB of inputs per frame of T
done
