#!/usr/bin/env bash
# The GPU check, one command: on a machine with an NVIDIA GPU and `pip install '.[gpu]'` done, checks
# that training (each cell; cuDNN where Keras uses it) and sampling run on the GPU unchanged, and
# writes their frames/s at paper sizes to docs/gpu.md. Bounded at 8 minutes.
#   benchmarks/gpu_check.sh [RECORDS_DIR]    (with a records folder, also runs `pianorbm train` and `sample`)
# PYTHON picks the interpreter (default: .venv/bin/python when present, else python3).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L || echo "nvidia-smi not found; asking TensorFlow"
records=()
if [ $# -gt 0 ]; then records=(--records "$1"); fi
exec timeout 480 "$PYTHON" benchmarks/gpu_check.py "${records[@]}"
