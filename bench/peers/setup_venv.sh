#!/usr/bin/env bash
# Create bench/peers/.venv with the Python peers (PyTorch, JAX, NumPy).
# Idempotent: does nothing when the venv already imports all three.
# Versions can be overridden, e.g. TORCH_SPEC='torch==2.15.0'.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
py="${PYTHON:-python3}"

# Pinned to what was measured; the Linux x86_64 torch wheel on PyPI is the
# CUDA build and pulls the nvidia/cuda-toolkit wheels (several GB). It cannot
# be installed without them: `import torch` preloads libcudart/cublas.
TORCH_SPEC="${TORCH_SPEC:-torch==2.15.0}"
JAX_SPEC="${JAX_SPEC:-jax[cpu]==0.10.2}"
NUMPY_SPEC="${NUMPY_SPEC:-numpy}"

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import torch, jax, numpy' >/dev/null 2>&1; then
    echo "venv ready: $venv"
    exit 0
fi

[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "$NUMPY_SPEC" "$TORCH_SPEC" "$JAX_SPEC"
"$venv/bin/python" -c 'import torch, jax, numpy; print("venv ready:", "torch", torch.__version__, "jax", jax.__version__, "numpy", numpy.__version__)'
