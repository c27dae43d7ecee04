#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# dit_vs_pytorch.sh — sanawm's full SANA-WM DiT forward (sanawm-forward, fp32) vs an eager PyTorch (CPU) transcription
# of the same bidirectional forward, with the random-weight tiny model of the golden data (dit_tiny_a: depth 4,
# hidden 224, 2 heads × 112, blocks 0–2 frame-wise GDN, block 3 softmax, camera branch and Plücker injection in
# every block). dit_vs_pytorch.py first checks its transcription against the golden float64 output, then times
# both sides (forward only, best of N) on the golden 1×128×3×2×4 shape and on further shapes (default: a 3-frame
# chunk on an 8×8 grid, a 3-frame streaming chunk and 7 latent frames on the 22×40 grid of a 704×1280 video) and
# compares their outputs.
# Installs PyTorch (CPU wheels from PyPI) and numpy into the venv under build/peers/ shared with the other peer
# scripts (or uses $VENV), and builds sanawm-forward in BUILD_DIR (default build/peers/cmake) if it is missing.
# Usage: bench/peers/dit_vs_pytorch.sh [BUILD_DIR] [TxHxW[,TxHxW…]]   (default: build/peers/cmake 3x8x8,3x22x40,7x22x40)
# Environment: SANAWM_NUM_THREADS (default 2; PyTorch gets the same count), REPS (shapes over 1024 tokens,
# default 5), REPS_SMALL (the golden shape and other small ones, default 20), VENV, GOLDEN (default $SANAWM_GOLDEN_DIR or /work/shared/golden), JOBS.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
peers="$root/build/peers"
venv="${VENV:-$peers/venv}"
build="${1:-$peers/cmake}"
shape="${2:-3x8x8,3x22x40,7x22x40}"
threads="${SANAWM_NUM_THREADS:-2}"
golden="${GOLDEN:-${SANAWM_GOLDEN_DIR:-/work/shared/golden}}"

source "$here/peer_env.sh"
peer_venv "$venv" torch numpy -- torch numpy
exe="$build/examples/sanawm_forward/sanawm-forward"
peer_build "$build" sanawm-forward ON  # up to date with the sources (a no-op when it is)

OMP_NUM_THREADS="$threads" "$venv/bin/python" "$here/dit_vs_pytorch.py" --sanawm-forward "$exe" \
  --golden "$golden" --threads "$threads" --reps "${REPS:-5}" --reps-small "${REPS_SMALL:-20}" --shape "$shape"
