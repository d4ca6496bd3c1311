#!/usr/bin/env bash
# Install the project and its test tools. Keeps an existing torch (e.g. your CUDA build); otherwise
# installs the CPU build torch==2.13.0 on machines without an NVIDIA driver (an unpinned torch would
# pull several GB of CUDA wheels). Override with TORCH_SPEC="torch==X" or TORCH_INDEX_URL=<index>.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
  if command -v nvidia-smi >/dev/null 2>&1; then spec=${TORCH_SPEC:-torch}; else spec=${TORCH_SPEC:-torch==2.13.0}; fi
  "$PY" -m pip install -q ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "$spec"
fi
"$PY" -m pip install -q -e ".[dev]"
"$PY" - <<'PY'
import torch
print(f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}")
PY
