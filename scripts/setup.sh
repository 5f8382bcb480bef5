#!/usr/bin/env bash
# Set up .venv with role-classifier (editable), at the tested versions (constraints.txt).
#   bash scripts/setup.sh          # to run the tool: the lean inference install, no torch
#   bash scripts/setup.sh --dev    # plus the training stack (CPU torch) and the dev tools
# The base install runs classify, label-csv, evaluate and serve on ONNX Runtime with the int8
# ONNX file shipped in the package: nothing is built and torch is never installed.
# --dev installs the CPU build of torch first (torch==2.13.0+cpu on Linux), from this machine's
# disk or pip's configured indexes when it is there, else from PyTorch's CPU index
# ($TORCH_INDEX_URL, default https://download.pytorch.org/whl/cpu); a CUDA build is never pulled.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=base
case "${1:-}" in
  "") ;;
  --dev) mode=dev ;;
  *) echo "usage: bash scripts/setup.sh [--dev]" >&2; exit 2 ;;
esac
python=${PYTHON:-python3}
say() { echo "setup: $*"; }
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $("$python" --version 2>&1)"
  "$python" -m venv .venv
fi
# No --quiet: pip names each file it downloads, with its size, so a long download shows.
pip=(.venv/bin/python -m pip install --disable-pip-version-check -c constraints.txt)

if [ "$mode" = dev ]; then
  torch_version=${TORCH_VERSION:-2.13.0}
  torch_index=${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}
  if [ "$(uname -s)" = Linux ]; then
    torch_req="torch==${torch_version}+cpu"  # PyPI's plain Linux wheel is the CUDA build
  else
    torch_req="torch==${torch_version}"  # macOS: PyPI's wheel has no CUDA
  fi
  if .venv/bin/python -c "import sys, torch; sys.exit(bool(torch.version.cuda))" 2>/dev/null; then
    say "torch $(.venv/bin/python -c 'import torch; print(torch.__version__)') (CPU) is already installed"
  else
    # On this machine's disk (pip's find-links) or not? --no-index: no network for this look.
    if .venv/bin/python -m pip install --disable-pip-version-check --no-index --no-deps \
        "$torch_req" >/dev/null 2>&1; then
      say "installed $torch_req from this machine's disk; now the packages it needs"
      "${pip[@]}" "$torch_req"
    else
      say "$torch_req is not on this machine's disk: downloading it from $torch_index (~200 MB)"
      "${pip[@]}" --extra-index-url "$torch_index" "$torch_req"
    fi
  fi
  say "installing role-classifier with the training stack and the dev tools (.[dev])"
  "${pip[@]}" -e ".[dev]"
  .venv/bin/python -c "import torch; assert not torch.version.cuda, 'a CUDA build of torch was installed'; print('setup: torch', torch.__version__, '(CPU)')"
else
  say "installing role-classifier for inference (ONNX Runtime, no torch)"
  "${pip[@]}" -e .
fi
# Check the shipped int8 ONNX file against its SHA-256 (nothing is built or downloaded).
.venv/bin/python -c "from role_classifier.encoders.onnx_backend import shipped_onnx_path; print('setup: onnx model', shipped_onnx_path())"
say "done ($mode install): .venv/bin/role-classifier --help"
