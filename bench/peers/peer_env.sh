# SPDX-License-Identifier: Apache-2.0
# bench/peers/peer_env.sh — sourced by the *_vs_*.sh peer scripts: the shared venv under build/peers/ (PyPI wheels)
# and a CPU-only Release build of the sanawm program a script times.
# shellcheck shell=bash

# peer_venv VENV PYMODULE... -- PIPPACKAGE...: creates VENV when needed and installs the packages unless every
# module imports already (e.g. `peer_venv "$venv" torch numpy -- torch numpy`).
peer_venv() {
  local venv="$1"
  shift
  local modules=() packages=() seen_sep=0
  for a in "$@"; do
    if [ "$a" = "--" ]; then seen_sep=1
    elif [ $seen_sep -eq 0 ]; then modules+=("$a")
    else packages+=("$a")
    fi
  done
  local imports
  imports="$(IFS=,; echo "import ${modules[*]}")"
  if ! "$venv/bin/python" -c "$imports" 2>/dev/null; then
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q "${packages[@]}"
  fi
}

# peer_build BUILD_DIR TARGET [EXAMPLES=OFF]: configures BUILD_DIR (Release, no CUDA, no tests) if it has no cache
# yet and builds TARGET with $JOBS (default 2) jobs.
peer_build() {
  local build="$1" target="$2" examples="${3:-OFF}"
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSANAWM_ENABLE_CUDA=OFF \
      -DSANAWM_BUILD_TESTS=OFF -DSANAWM_BUILD_EXAMPLES="$examples" >/dev/null
  fi
  cmake --build "$build" -j"${JOBS:-2}" --target "$target" >/dev/null
}
