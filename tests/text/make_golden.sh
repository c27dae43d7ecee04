#!/usr/bin/env bash
# tests/text/make_golden.sh — regenerates tests/text/golden/ (maintainers only; needs network for pip).
# Builds a venv under build/text-golden-venv with transformers, torch (CPU), sentencepiece and tokenizers.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${SANAWM_TEXT_VENV:-$here/../../build/text-golden-venv}"
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q torch transformers sentencepiece tokenizers safetensors numpy protobuf
fi
"$venv/bin/python" "$here/make_golden.py" "$here/golden"
