#!/usr/bin/env bash
# Set up .venv with the CPU build of torch and role-classifier (editable).
#   bash scripts/setup.sh          # to run the tool
#   bash scripts/setup.sh --dev    # plus pytest and ruff
# torch is installed first and pinned to the CPU build (torch==2.13.0, which pip finds on this
# machine's disk); everything after it accepts that version, so no CUDA build is ever pulled.
# Elsewhere, set TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu to get the CPU wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  "${pip[@]}" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "torch==${TORCH_VERSION:-2.13.0}"
fi
if [ "${1:-}" = "--dev" ]; then
  "${pip[@]}" -e ".[dev]"
else
  "${pip[@]}" -e .
fi
.venv/bin/python -c "import torch; assert not torch.version.cuda, 'a CUDA build of torch was installed'; print('torch', torch.__version__, '(CPU)')"
# Build the int8 ONNX file of the bundled backbone now (once, ~30 s, from the installed weights;
# nothing is downloaded), so the first `classify` is fast. It is cached under
# $ROLE_CLASSIFIER_CACHE, else ~/.cache/role-classifier.
.venv/bin/python -c "from role_classifier.encoders.onnx_backend import onnx_model_path; print('onnx model:', onnx_model_path())"
