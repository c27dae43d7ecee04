#!/usr/bin/env bash
# scripts/gpu_pack.sh BUILD_DIR OUT_DIR — copies every test and benchmark binary of a CUDA build that links the
# CUDA runtime into OUT_DIR (flat), so a GPU machine without GoogleTest/Benchmark packages can run them with
# scripts/gpu_selftest.sh. Build first: cmake -S . -B build/gpu -DSANAWM_ENABLE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a
set -euo pipefail
build="${1:?usage: gpu_pack.sh BUILD_DIR OUT_DIR}"
out="${2:?usage: gpu_pack.sh BUILD_DIR OUT_DIR}"
mkdir -p "$out/tests" "$out/bench"
n=0
while IFS= read -r -d '' f; do
  # (not `ldd | grep -q`: under pipefail, grep's early exit makes ldd's SIGPIPE drop binaries at random)
  if [[ "$(ldd "$f" 2>/dev/null)" == *libcudart* ]]; then
    case "$f" in
      */bench/*) cp "$f" "$out/bench/" ;;
      *) cp "$f" "$out/tests/" ;;
    esac
    n=$((n + 1))
  fi
done < <(find "$build/tests" "$build/bench" -type f -executable -print0 2>/dev/null)
strip --strip-debug "$out"/tests/* "$out"/bench/* 2>/dev/null || true
# The golden tiny DiT and VAE for the engines' GPU tests (gpu_selftest.sh points SANAWM_GOLDEN_DIR here), 49 MB;
# GOLDEN=0 leaves them out (the device tool carries 64 MiB in all).
golden="$(cd "$(dirname "$0")/.." && pwd)/../shared/golden"
if [[ "${GOLDEN:-1}" != 0 && -d "$golden" ]]; then
  mkdir -p "$out/golden"
  cp "$golden"/dit_tiny_a*.safetensors "$golden"/vae_tiny_a*.safetensors "$out/golden/"
fi
# The binaries travel as one gzip tarball (22 MB → 7 MB) so binaries + golden data fit the device tool's 64 MiB;
# gpu_selftest.sh unpacks it. PACK_TAR=0 keeps the plain directories.
if [[ "${PACK_TAR:-1}" != 0 ]]; then
  tar czf "$out/bin.tar.gz" -C "$out" tests bench
  rm -rf "$out/tests" "$out/bench"
fi
echo "gpu_pack: $n CUDA binaries in $out ($(du -sh "$out" | cut -f1))"
