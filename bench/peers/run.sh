#!/usr/bin/env bash
# Run all peer benchmarks on this machine: ADOL-C, then PyTorch and JAX
# (creating bench/peers/.venv first if needed). Extra arguments go to both
# Python benches, e.g. `bench/peers/run.sh --steps 100`.
# Set SKIP_PY=1 to run ADOL-C only.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
status=0

echo "# machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)," \
     "$(nproc) CPU(s) available, $(lscpu | sed -n 's/^CPU(s):[[:space:]]*//p' | head -1) online"
echo "# date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"

echo "## ADOL-C"
"$here/adolc.sh" || status=1

if [ -z "${SKIP_PY:-}" ]; then
    echo "## PyTorch / JAX"
    if "$here/setup_venv.sh"; then
        py="$here/.venv/bin/python"
        export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
        export XLA_FLAGS="${XLA_FLAGS:---xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1}"
        echo "# python $("$py" -c 'import sys; print(sys.version.split()[0])')," \
             "numpy $("$py" -c 'import numpy; print(numpy.__version__)')"
        "$py" "$here/mlp_torch.py" "$@" || status=1
        "$py" "$here/mlp_jax.py" "$@" || status=1
    else
        echo "venv setup failed: Python peers skipped"
        status=1
    fi
fi
exit $status
