#!/usr/bin/env bash
# Weak and strong scaling of the MLP training step (examples/mpi_mlp.c) on 1, 2 and 4
# ranks, one MPI_Allreduce and layer-by-layer overlapped, against PyTorch DDP over Gloo
# (bench/mpi/ddp_torch.py) with the same network, step and batch per rank, in one run.
# Strong: a global batch of 64 split over the ranks. Weak: 64 rows per rank.
# Usage: bench/mpi/run.sh BUILD_DIR (holding mpi_mlp); TORCH_PYTHON names a python with
# torch (default: build/torch-venv/bin/python, then bench/peers/.venv/bin/python).
set -u
dir="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
steps="${STEPS:-200}"
mpirun_cmd=(mpirun --oversubscribe)
[ "$(id -u)" = 0 ] && mpirun_cmd+=(--allow-run-as-root)
py="${TORCH_PYTHON:-}"
for candidate in "$root/build/torch-venv/bin/python" "$root/bench/peers/.venv/bin/python"; do
    [ -z "$py" ] && [ -x "$candidate" ] && py="$candidate"
done
if [ -n "$py" ] && ! "$py" -c 'import torch' >/dev/null 2>&1; then py=""; fi
[ -z "$py" ] && echo "mpi-bench: no python with torch: the DDP rows are skipped"

echo "machine: $(nproc) cores, $(uname -m); load average $(cut -d' ' -f1-3 /proc/loadavg)"
for scaling in strong weak; do
    for np in 1 2 4; do
        if [ "$scaling" = strong ]; then batch=64; else batch=$((64 * np)); fi
        per_rank=$((batch / np))
        for overlap in "" --overlap; do
            "${mpirun_cmd[@]}" -np "$np" "$dir/mpi_mlp" --epochs 1000 --steps "$steps" --quiet \
                --batch "$batch" $overlap | sed "s/^/$scaling /"
        done
        if [ -n "$py" ]; then
            "$py" "$here/ddp_torch.py" --ranks "$np" --batch "$per_rank" --steps "$steps" |
                sed "s/^/$scaling /"
        fi
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
