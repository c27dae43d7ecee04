#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# vae_vs_diffusers.sh — sanawm's LTX-2 video VAE (CPU, fp32: bench/vae/vae_decode_bench --weights/--input/--output)
# vs diffusers' AutoencoderKLLTX2Video (PyTorch CPU, fp32) with the same weights and inputs. vae_vs_diffusers.py
# first checks the diffusers model against the golden float64 decode/encode of vae_tiny_a, then decodes (and
# encodes one image) with both sides on: the golden latent, a larger random latent with the golden tiny weights,
# and a wider random-weight configuration it writes to a temporary safetensors file (never into the tree). It
# prints max abs / relative errors and the times (best of N interleaved rounds) with the ratio diffusers / sanawm.
# Installs PyTorch (CPU wheels from PyPI), numpy, diffusers and safetensors into the venv under build/peers/ shared
# with the other peer scripts (or uses $VENV), and builds vae_decode_bench in BUILD_DIR (default build/peers/cmake)
# if it is missing.
# Usage: bench/peers/vae_vs_diffusers.sh [BUILD_DIR] [extra vae_vs_diffusers.py arguments, e.g. --reps 5]
# Environment: SANAWM_NUM_THREADS (default 2; PyTorch gets the same count), VENV, GOLDEN (default
# $SANAWM_GOLDEN_DIR or /work/shared/golden), JOBS.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
peers="$root/build/peers"
venv="${VENV:-$peers/venv}"
build="${1:-$peers/cmake}"
shift || true
threads="${SANAWM_NUM_THREADS:-2}"
golden="${GOLDEN:-${SANAWM_GOLDEN_DIR:-/work/shared/golden}}"

source "$here/peer_env.sh"
peer_venv "$venv" torch numpy diffusers safetensors -- torch numpy diffusers safetensors
exe="$build/bench/vae/vae_decode_bench"
peer_build "$build" vae_decode_bench  # up to date with the sources (a no-op when it is)

OMP_NUM_THREADS="$threads" "$venv/bin/python" "$here/vae_vs_diffusers.py" --bench "$exe" --golden "$golden" \
  --threads "$threads" "$@"
