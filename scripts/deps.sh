#!/usr/bin/env bash
# scripts/deps.sh — installs what sanawm needs from Debian's packages, only if something is missing
# (idempotent; sourced by scripts/run.sh and scripts/test.sh). Uses sudo when not root.
sanawm_packages=(cmake ninja-build g++ python3 ccache pkg-config
                 libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev zlib1g-dev
                 libsentencepiece-dev libstb-dev libcli11-dev)

sanawm_install_deps() {
  local missing=()
  for p in "${sanawm_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    echo "sanawm: all packages present"
    return 0
  fi
  echo "sanawm: installing ${missing[*]}"
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# nvcc is optional: CUDA code is compiled (and its tests skip without a GPU) when the toolkit is installed.
sanawm_find_nvcc() {
  if ! command -v nvcc >/dev/null 2>&1 && [[ -x /usr/local/cuda/bin/nvcc ]]; then
    export PATH="/usr/local/cuda/bin:$PATH"
  fi
  if command -v nvcc >/dev/null 2>&1; then
    echo "sanawm: CUDA compiler $(command -v nvcc) ($(nvcc --version | tail -n 1))"
  else
    echo "sanawm: no CUDA compiler found; building the CPU backend only"
  fi
}
