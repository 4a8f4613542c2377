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
steps="${STEPS:-150}"
mpirun_cmd=(mpirun --oversubscribe)
[ "$(id -u)" = 0 ] && mpirun_cmd+=(--allow-run-as-root)
py="${TORCH_PYTHON:-}"
for candidate in "$root/build/torch-venv/bin/python" "$root/bench/peers/.venv/bin/python"; do
    [ -z "$py" ] && [ -x "$candidate" ] && py="$candidate"
done
if [ -n "$py" ] && ! "$py" -c 'import torch' >/dev/null 2>&1; then py=""; fi
[ -z "$py" ] && echo "mpi-bench: no python with torch: the DDP rows are skipped"

echo "machine: $(nproc) cores, $(uname -m); load average $(cut -d' ' -f1-3 /proc/loadavg)"
rounds="${ROUNDS:-3}"
raw="$dir/bench-raw.txt"
: >"$raw"
# Rounds of every configuration, interleaved, so that a burst of load elsewhere on the
# machine lands on all of them alike; the summary gives each one's median over rounds.
for round in $(seq "$rounds"); do
    for scaling in strong weak; do
        for np in 1 2 4; do
            if [ "$scaling" = strong ]; then batch=64; else batch=$((64 * np)); fi
            per_rank=$((batch / np))
            for overlap in "" --overlap; do
                "${mpirun_cmd[@]}" -np "$np" "$dir/mpi_mlp" --epochs 1000 --steps "$steps" \
                    --quiet --batch "$batch" $overlap | sed "s/^/$scaling /" | tee -a "$raw"
            done
            if [ -n "$py" ]; then
                "$py" "$here/ddp_torch.py" --ranks "$np" --batch "$per_rank" --steps "$steps" \
                    2>/dev/null | sed "s/^/$scaling /" | tee -a "$raw"
            fi
        done
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== medians over $rounds rounds (ms per step; comm: time in MPI calls, or DDP's sync minus no_sync)"
awk '
    /mpi_mlp:/ { key = $1 " ranks=" $4 " batch=" $6 " " ($8 == "1" ? "ours-overlap" : "ours-allreduce");
                 step[key] = step[key] " " $13; comm[key] = comm[key] " " $17 }
    / ddp / { split($3, r, "="); split($4, b, "="); split($5, m, "="); split($6, n, "=");
              key = $1 " ranks=" r[2] " batch=" b[2] * r[2] " ddp-gloo";
              step[key] = step[key] " " m[2]; comm[key] = comm[key] " " (m[2] - n[2]) }
    function median(list,   a, k, i, j, t) {
        k = split(list, a, " ");
        for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return a[int((k + 1) / 2)]
    }
    END { for (key in step) printf "%-40s step %8.3f  comm %8.3f  (runs:%s)\n", key, median(step[key]), median(comm[key]), step[key] }
' "$raw" | sort
