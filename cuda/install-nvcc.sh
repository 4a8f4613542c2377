#!/usr/bin/env bash
# Installs the pinned CUDA 13.0 compiler from PyPI into a private virtual environment
# (default: .venv-cuda at the repository root) and prints the path of nvcc.
#
# Idempotent: when the venv already holds nvcc 13.0 it only prints the path. Needs
# python3 with venv and pip, and network access to PyPI; no root, no CUDA install.
#
# Pinned to 13.0 because the GPU machines run driver 580 (CUDA 13.0): newer toolkits
# emit PTX that driver cannot load. See DESIGN.md, "CUDA toolchain".
#
# Usage: cuda/install-nvcc.sh            install if needed, print the nvcc path
#        CUDA_VENV=/some/dir cuda/install-nvcc.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${CUDA_VENV:-$root/.venv-cuda}
packages=(
    nvidia-cuda-nvcc==13.0.88
    nvidia-nvvm==13.0.88
    nvidia-cuda-crt==13.0.88
    nvidia-cuda-runtime==13.0.96
)

nvcc_path() {
    "$venv/bin/python" - <<'PY'
import os, nvidia
for base in nvidia.__path__:
    path = os.path.join(base, "cu13", "bin", "nvcc")
    if os.path.exists(path):
        print(path)
        break
PY
}

if [ -x "$venv/bin/python" ]; then
    nvcc=$(nvcc_path 2>/dev/null || true)
    if [ -n "$nvcc" ] && "$nvcc" --version 2>/dev/null | grep -q "release 13.0"; then
        echo "$nvcc"
        exit 0
    fi
fi

python=${PYTHON:-python3}
command -v "$python" >/dev/null 2>&1 || { echo "install-nvcc: $python not found" >&2; exit 1; }
echo "install-nvcc: installing CUDA 13.0 nvcc into $venv" >&2
"$python" -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}" >&2
nvcc=$(nvcc_path)
[ -n "$nvcc" ] || { echo "install-nvcc: nvcc not found after install" >&2; exit 1; }
"$nvcc" --version | grep -q "release 13.0" || { echo "install-nvcc: $nvcc is not 13.0" >&2; exit 1; }
echo "$nvcc"
